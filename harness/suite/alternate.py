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

from ..errors import BadInput, GuestError
from ..guest.guest import Guest
from .modes import PATCHED, Mode, load_modes
from .workload_runner import KNOB_DIR, SYSFS_MODE, sysfs_command

# The neighbour benchmarks' figures and bounds are named after these two
# (max_times_never, never_<figure>_total); the scanner-cost benchmarks name
# theirs in data/overhead.toml.
MODES = ("never", "always")


def sh(guest: Guest, command: str) -> str:
    """Run a set-up command in the guest; its stdout, or GuestError."""
    r = guest.run(command, timeout=30)
    if r.exit_status != 0:
        raise GuestError(f"`{command}` failed: {r.stderr.strip()}")
    return r.stdout.strip()


def knob_path(name: str) -> str:
    return f"{KNOB_DIR}/pt_reclaim_{name}"


def benchmark_modes(names: list[str] | tuple[str, ...],
                    modes: dict[str, Mode] | None = None) -> tuple[Mode, ...]:
    """The modes of modes.toml that a benchmark alternates, by name: modes
    of the patched kernel set by sysfs alone (the benchmark runs its
    workload directly, not under ptsample's --prctl)."""
    known = modes if modes is not None else load_modes()
    out = []
    for name in names:
        mode = known.get(name)
        if mode is None:
            raise BadInput(f"unknown mode {name!r}; known: {', '.join(known)}")
        if mode.kernel != PATCHED or not mode.sysfs or mode.prctl:
            raise BadInput(f"mode {name!r}: a benchmark alternates patched-kernel modes "
                           "set by sysfs alone")
        out.append(mode)
    return tuple(out)


def set_mode(guest: Guest, mode: Mode) -> None:
    """Put the guest in `mode` as every mode user does (modes.toml's sysfs,
    workload_runner's command); its knobs are the benchmark's own."""
    assert mode.sysfs is not None      # benchmark_modes() let only such modes in
    sh(guest, sysfs_command(mode.sysfs))


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
            sh(guest, sysfs_command(saved_mode))
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
