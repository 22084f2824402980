"""Mode `never` against mode `always`, round by round in one boot: what
the scanner-cost benchmarks (overhead.py) and the neighbour benchmarks
(neighbours.py) share.

Alternating, rather than all `never` runs then all `always` runs, keeps a
drift of the guest's speed (host load, another VM on the host) out of the
comparison: each round's pair ran under the same conditions. The pairs
are then summarised as the median of the per-round ratios always/never
with their spread, so one slow round shows in the spread, not the median.
"""

import shlex
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import GuestError
from .guest import Guest
from .workload_runner import KNOB_DIR, SYSFS_MODE

MODES = ("never", "always")


def sh(guest: Guest, command: str) -> str:
    """Run a set-up command in the guest; its stdout, or GuestError."""
    r = guest.run(command, timeout=30)
    if r.exit_status != 0:
        raise GuestError(f"`{command}` failed: {r.stderr.strip()}")
    return r.stdout.strip()


def knob_path(name: str) -> str:
    return f"{KNOB_DIR}/pt_reclaim_{name}"


def set_mode(guest: Guest, mode: str) -> None:
    sh(guest, f"echo {shlex.quote(mode)} > {SYSFS_MODE}")


@contextmanager
def scanner_knobs(guest: Guest, knobs: dict[str, str]) -> Iterator[dict[str, str]]:
    """Write the scanner's knobs (names without pt_reclaim_) for the body
    and yield the values they had; afterwards the mode and the knobs are
    put back, so the rest of the suite runs as it was set up. A knob the
    kernel does not have is a GuestError naming it, before anything ran."""
    saved_mode = sh(guest, f"cat {SYSFS_MODE}").split("[", 1)[1].split("]", 1)[0]
    saved = {k: sh(guest, f"cat {knob_path(k)}") for k in knobs}
    for k, value in knobs.items():
        sh(guest, f"echo {shlex.quote(value)} > {knob_path(k)}")
    ok = False
    try:
        yield saved
        ok = True
    finally:
        try:
            set_mode(guest, saved_mode)
            for k, value in saved.items():
                sh(guest, f"echo {shlex.quote(value)} > {knob_path(k)}")
        except GuestError:
            if ok:           # else the body's own error is the one to tell
                raise


def paired_ratios(never: tuple[float, ...], always: tuple[float, ...]) -> list[float]:
    """always/never per round; a round whose `never` figure is 0 has none."""
    return [a / n for n, a in zip(never, always, strict=True) if n > 0]


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> "Spread":
        return cls(statistics.median(values), min(values), max(values))
