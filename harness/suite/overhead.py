"""The scanner's cost: one fault-heavy workload (data/overhead.toml) in mode
`never` and mode `always` alternated round by round in one boot, reported
as the time ratio always/never with its spread.

Each benchmark names a pace (a table of scanner knobs) and a clock. On the
`icount` clock it runs in a guest of its own booted with `-icount` (see
VMSpec.icount), where the workload's clock_gettime() reads instructions
executed, not time passed: the host's load cannot move the figure. On the
`wall` clock it runs in the suite's ordinary SMP boot, timed by the guest's
clock as TCG's speed of the moment makes it.

Alternating, rather than all `never` runs then all `always` runs, keeps a
drift of the guest's speed (host load, another VM on the host) out of the
ratio: each round's pair ran under the same conditions.
"""

import json
import shlex
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import schema
from ..errors import BadInput, GuestError
from ..guest.guest import Guest
from ..guest.vm import ICOUNT
from ..results import ERROR, FAILED, PASSED, Check
from .alternate import benchmark_modes, paired_ratios, scanner_knobs, set_mode, sh
from .catalog import GUEST_BIN
from .figures import parse_records
from .modes import DATA, Mode

ICOUNT_CLOCK, WALL_CLOCK = "icount", "wall"
CLOCKS = {
    ICOUNT_CLOCK: f"instruction-count time (-icount {ICOUNT}: 1 ns per guest instruction)",
    WALL_CLOCK: "wall-clock time (TCG, the suite's SMP guest)",
}
CHECK_PREFIX = schema.OVERHEAD_PREFIX
CLOCKSOURCE = "/sys/devices/system/clocksource/clocksource0/current_clocksource"


@dataclass(frozen=True)
class OverheadPlan:
    """One benchmark: a check, on one clock, at one pace."""
    check: str
    clock: str                  # ICOUNT_CLOCK or WALL_CLOCK
    pace: str
    workload: str
    args: tuple[str, ...]
    rounds: int
    timeout: float              # host seconds per single run
    knobs: dict[str, str]       # sysctl name without pt_reclaim_ -> value
    max_median_ratio: float
    # The modes of modes.toml alternated: the control (never), then the
    # mode whose cost is measured (always).
    modes: tuple[Mode, ...] = ()

    def command(self) -> str:
        return " ".join(shlex.quote(a) for a in (f"{GUEST_BIN}/{self.workload}", *self.args))


def load_overhead(path: Path = DATA / "overhead.toml") -> tuple[OverheadPlan, ...]:
    spec = schema.load(path, schema.OverheadFile)
    try:
        modes = benchmark_modes(spec.modes)
    except BadInput as e:
        raise BadInput(f"{schema.shown(path)}: modes: {e}") from None
    return tuple(OverheadPlan(b.check, b.clock, b.pace, spec.workload, tuple(b.args), b.rounds,
                              b.timeout, dict(spec.pace[b.pace]), b.max_median_ratio, modes)
                 for b in spec.benchmark)


@dataclass(frozen=True)
class OverheadFigures:
    never_ns: tuple[float, ...]
    always_ns: tuple[float, ...]

    @property
    def ratios(self) -> list[float]:
        return paired_ratios(self.never_ns, self.always_ns)

    def properties(self) -> dict[str, str]:
        r = self.ratios
        # Four decimals: under icount a round's ratio repeats to 0.1%.
        return {
            "rounds": str(len(r)),
            "ratio_median": f"{statistics.median(r):.4f}",
            "ratio_min": f"{min(r):.4f}",
            "ratio_max": f"{max(r):.4f}",
            "ratios": " ".join(f"{x:.4f}" for x in r),
            "never_ns_per_fault_median": f"{statistics.median(self.never_ns):.1f}",
            "always_ns_per_fault_median": f"{statistics.median(self.always_ns):.1f}",
            "never_ns_per_fault": " ".join(f"{v:.1f}" for v in self.never_ns),
            "always_ns_per_fault": " ".join(f"{v:.1f}" for v in self.always_ns),
        }


def ns_per_fault(stdout: str) -> float | None:
    """The time per fault from fault-loop's final record, exact to 0.1 ns
    (ms / faults: the record's own ns_per_fault is rounded to 1 ns)."""
    result = [r for r in parse_records(stdout) if r.get("phase") == "result"]
    if not result:
        return None
    r = result[-1]
    try:
        faults, ms = int(r["faults"]), float(r["ms"])
        return ms * 1e6 / faults if faults > 0 else float(r["ns_per_fault"])
    except (KeyError, TypeError, ValueError):
        return None


def describe(plan: OverheadPlan) -> dict[str, str]:
    """What the figures are: the clock they were read from, the pace."""
    return {"clock": plan.clock, "time": CLOCKS[plan.clock], "pace": plan.pace,
            "knobs": " ".join(f"{k}={v}" for k, v in plan.knobs.items())}


def judge(fig: OverheadFigures, plan: OverheadPlan) -> Check:
    """Pure: the check for a finished benchmark."""
    if not fig.ratios:
        return Check(plan.check, ERROR, message="no round measured a time")
    props = {**describe(plan), **fig.properties()}
    median = statistics.median(fig.ratios)
    clock = "instruction-count" if plan.clock == ICOUNT_CLOCK else "wall-clock"
    summary = (f"always/never = {median:.4f} ({clock}, {plan.pace} pace, median of "
               f"{len(fig.ratios)}, {props['ratio_min']}..{props['ratio_max']})")
    if median > plan.max_median_ratio:
        return Check(plan.check, FAILED, message=f"{summary} > {plan.max_median_ratio}",
                     properties=props)
    return Check(plan.check, PASSED, message=f"{summary} <= {plan.max_median_ratio}",
                 properties=props)


def run_overhead(guest: Guest, plan: OverheadPlan, out_dir: Path) -> Check:
    """Run the rounds; the guest's mode and knobs are put back afterwards
    (alternate.scanner_knobs), also when a run fails. Every run is kept in
    overhead-<check>.json, with the host seconds it took beside the guest's
    own time (under icount the two differ)."""
    saved: dict[str, str] = {}
    raw: list[dict[str, Any]] = []
    control, measured = plan.modes
    ns: dict[str, list[float]] = {m.name: [] for m in plan.modes}
    clocksource = "?"
    try:
        clocksource = sh(guest, f"cat {CLOCKSOURCE}")
        with scanner_knobs(guest, plan.knobs) as saved:
            for round_ in range(plan.rounds):
                for m in plan.modes:
                    set_mode(guest, m)
                    mode = m.name
                    start = time.monotonic()
                    r = guest.run(plan.command(), timeout=plan.timeout)
                    ns_fault = ns_per_fault(r.stdout)
                    raw.append({"round": round_ + 1, "mode": mode,
                                "exit_status": r.exit_status, "timed_out": r.timed_out,
                                "host_s": round(time.monotonic() - start, 2),
                                "ns_per_fault": ns_fault, "stdout": r.stdout[-8000:],
                                "stderr": r.stderr[-2000:]})
                    if r.exit_status != 0 or r.timed_out or ns_fault is None:
                        why = "timed out" if r.timed_out else f"exit status {r.exit_status}"
                        return Check(plan.check, FAILED, properties=describe(plan),
                                     message=f"{plan.workload} in mode {mode}, round "
                                             f"{round_ + 1}: {why}",
                                     detail=(r.stdout + r.stderr)[-4000:])
                    ns[mode].append(ns_fault)
    except GuestError as e:
        return Check(plan.check, ERROR, message=str(e), properties=describe(plan))
    finally:
        name = plan.check.removeprefix(CHECK_PREFIX).replace(":", "-")
        (out_dir / f"overhead-{name}.json").write_text(json.dumps(
            {"check": plan.check, "command": plan.command(), "clock": plan.clock,
             "pace": plan.pace, "knobs": plan.knobs, "knobs_before": saved,
             "clocksource": clocksource, "runs": raw}, indent=1))
    c = judge(OverheadFigures(tuple(ns[control.name]), tuple(ns[measured.name])), plan)
    c.properties["clocksource"] = clocksource
    c.properties["host_s"] = f"{sum(x['host_s'] for x in raw):.0f}"
    return c
