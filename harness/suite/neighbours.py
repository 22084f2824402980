"""The neighbour benchmarks (data/neighbours.toml): what the scanner costs
the other threads of the process it scans, and the spurious failures it
causes them. Each is one workload run in mode `never` and mode `always`,
alternated round by round in one boot (alternate.py), judged against
bounds in data; its figures go into the check's properties.
"""

import json
import shlex
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import schema
from ..errors import GuestError
from ..guest.guest import Guest
from ..results import ERROR, FAILED, PASSED, SKIPPED, Check
from .alternate import MODES, Spread, benchmark_modes, paired_ratios, scanner_knobs, set_mode
from .bench_records import NO_COUNTER, BadRecords, BenchRun, bench_run
from .catalog import Workload
from .figures import parse_records
from .modes import DATA, Mode

CHECK_PREFIX = "neighbour:"
NEVER, ALWAYS = MODES


@dataclass(frozen=True)
class Bound:
    figure: str
    why: str = ""
    max_times_never: float | None = None   # with plus: always <= k x never + plus
    plus: float = 0.0
    min_ratio: float | None = None          # median of always/never >= this
    max_each: float | None = None           # every run of either mode <= this


@dataclass(frozen=True)
class NeighbourPlan:
    """One benchmark: its workload (command and time limit from the
    catalog) and how it is run and judged (data/neighbours.toml)."""
    workload: Workload
    rounds: int
    min_cpus: int
    knobs: dict[str, str]
    ratios: tuple[str, ...]
    counts: tuple[str, ...]
    bounds: tuple[Bound, ...]
    require_freed: bool = False
    modes: tuple[Mode, ...] = ()        # MODES as modes.toml defines them

    @property
    def check(self) -> str:
        return CHECK_PREFIX + self.workload.name

    def command(self) -> str:
        return " ".join(shlex.quote(a) for a in self.workload.guest_argv())


def _plan(spec: schema.NeighbourBenchmark, w: Workload) -> NeighbourPlan:
    return NeighbourPlan(
        w, spec.rounds, spec.min_cpus, dict(spec.knobs), tuple(spec.ratios),
        tuple(spec.counts),
        tuple(Bound(b.figure, b.why, b.max_times_never, b.plus, b.min_ratio, b.max_each)
              for b in spec.bound), spec.require_freed, benchmark_modes(MODES))


def load_neighbours(workloads: tuple[Workload, ...] | list[Workload],
                    path: Path = DATA / "neighbours.toml") -> tuple[NeighbourPlan, ...]:
    """The benchmarks of those of `workloads` that data names, in their order."""
    by_name = {b.workload: b for b in schema.load(path, schema.NeighboursFile).benchmark}
    return tuple(_plan(by_name[w.name], w) for w in workloads if w.name in by_name)


def benchmark_names(path: Path = DATA / "neighbours.toml") -> set[str]:
    """The workloads that run as neighbour benchmarks, not per mode."""
    return {b.workload for b in schema.load(path, schema.NeighboursFile).benchmark}


@dataclass
class Rounds:
    """Every finished run of one benchmark, by mode, in round order."""
    runs: dict[str, list[BenchRun]] = field(default_factory=lambda: {m: [] for m in MODES})

    def values(self, mode: str, figure: str) -> tuple[float, ...]:
        return tuple(r.figures[figure] for r in self.runs[mode] if figure in r.figures)

    def cpus(self) -> frozenset[int]:
        return frozenset().union(*(r.cpus for m in MODES for r in self.runs[m]))


def _fmt(v: float) -> str:
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"


def properties(plan: NeighbourPlan, rounds: Rounds, knobs: dict[str, str]) -> dict[str, str]:
    """Figures for JUnit: per ratio figure the medians per mode, the ratio
    always/never as median, min and max over the rounds and every round's
    value; per count figure its sum per mode."""
    props = {"rounds": str(len(rounds.runs[ALWAYS])),
             "cpus_seen": ",".join(str(c) for c in sorted(rounds.cpus())),
             "knobs": " ".join(f"{k}={v}" for k, v in knobs.items()),
             "ratio_figures": " ".join(plan.ratios), "count_figures": " ".join(plan.counts)}
    for mode in MODES:
        scanned = [r.scanned for r in rounds.runs[mode]]
        props[f"{mode}_scanned"] = " ".join(str(s) for s in scanned)
        props[f"{mode}_freed"] = " ".join(str(r.freed) for r in rounds.runs[mode])
    for f in plan.ratios:
        never, always = rounds.values(NEVER, f), rounds.values(ALWAYS, f)
        for mode, vals in ((NEVER, never), (ALWAYS, always)):
            if vals:
                props[f"{mode}_{f}_median"] = _fmt(statistics.median(vals))
                props[f"{mode}_{f}"] = " ".join(_fmt(v) for v in vals)
        ratios = paired_ratios(never, always) if len(never) == len(always) else []
        if ratios:
            s = Spread.of(ratios)
            props.update({f"{f}_ratio_median": f"{s.median:.3f}",
                          f"{f}_ratio_min": f"{s.low:.3f}", f"{f}_ratio_max": f"{s.high:.3f}"})
    for f in plan.counts:
        for mode in MODES:
            props[f"{mode}_{f}_total"] = f"{sum(rounds.values(mode, f)):.0f}"
    return props


def _validity(plan: NeighbourPlan, rounds: Rounds) -> list[str]:
    """Why the runs measured nothing, if they did not."""
    out = []
    for mode in MODES:
        for i, r in enumerate(rounds.runs[mode], 1):
            if len(r.cpus) < plan.min_cpus:
                out.append(f"round {i} ({mode}): threads ran on CPUs "
                           f"{sorted(r.cpus)} of {r.online_cpus} online, fewer than "
                           f"{plan.min_cpus}: no concurrency to measure")
    for i, r in enumerate(rounds.runs[ALWAYS], 1):
        if r.scanned == NO_COUNTER:
            out.append(f"round {i} (always): no pt_reclaim_scanned counter to show the "
                       "scanner ran")
        elif r.scanned <= 0:
            out.append(f"round {i} (always): the scanner examined no table")
        elif plan.require_freed and r.freed <= 0:
            out.append(f"round {i} (always): the scanner freed no table, so raced nothing")
    return out


def _miss(b: Bound, rounds: Rounds) -> str:
    """How the rounds miss the bound, or ""."""
    never, always = rounds.values(NEVER, b.figure), rounds.values(ALWAYS, b.figure)
    if b.max_each is not None:
        over = [(m, i + 1, v) for m in MODES for i, v in enumerate(rounds.values(m, b.figure))
                if v > b.max_each]
        return "; ".join(f"{b.figure} = {v:.0f} in round {i} ({m}), over {b.max_each:g}"
                         for m, i, v in over)
    if not never or not always:
        return f"no {b.figure} figure"
    if b.max_times_never is not None:
        n, a = statistics.median(never), statistics.median(always)
        limit = b.max_times_never * n + b.plus
        return (f"{b.figure} {_fmt(a)} in always > {b.max_times_never:g} x {_fmt(n)} "
                f"in never + {b.plus:g} = {_fmt(limit)}") if a > limit else ""
    assert b.min_ratio is not None
    ratio = Spread.of(paired_ratios(never, always)).median
    return (f"{b.figure} always/never = {ratio:.3f} (median), under {b.min_ratio:g}"
            if ratio < b.min_ratio else "")


def judge(plan: NeighbourPlan, rounds: Rounds, knobs: dict[str, str]) -> Check:
    """Pure: the check for finished rounds."""
    props = properties(plan, rounds, knobs)
    invalid = _validity(plan, rounds)
    if invalid:
        return Check(plan.check, ERROR, message=invalid[0], detail="\n".join(invalid),
                     properties=props)
    misses = [m for m in (_miss(b, rounds) for b in plan.bounds) if m]
    summary = "; ".join(
        f"{f} {props[f + '_ratio_median']}x" for f in plan.ratios
        if f + "_ratio_median" in props)
    counts = ", ".join(f"{f} {props[f'{NEVER}_{f}_total']}/{props[f'{ALWAYS}_{f}_total']}"
                       for f in plan.counts)
    text = "; ".join(t for t in (f"always/never: {summary}" if summary else "",
                                 f"never/always: {counts}" if counts else "") if t)
    if misses:
        why = [b.why for b in plan.bounds if _miss(b, rounds) and b.why]
        return Check(plan.check, FAILED, message="; ".join(misses),
                     detail="\n".join([text, *why]), properties=props)
    return Check(plan.check, PASSED, message=text, properties=props)


def run_neighbour(guest: Guest, plan: NeighbourPlan, cli_knobs: dict[str, str],
                  out_dir: Path) -> Check:
    """Run the rounds (the guest's mode and knobs are put back afterwards)
    and judge them; every run's output is kept in neighbour-<workload>.json.
    `cli_knobs` (the run's --knob) replace the plan's knobs when given."""
    knobs = dict(cli_knobs) or plan.knobs
    rounds = Rounds()
    raw: list[dict[str, Any]] = []
    try:
        with scanner_knobs(guest, knobs):
            for round_ in range(plan.rounds):
                for m in plan.modes:
                    set_mode(guest, m)
                    mode = m.name
                    r = guest.run(plan.command(), timeout=plan.workload.timeout)
                    raw.append({"round": round_ + 1, "mode": mode,
                                "exit_status": r.exit_status, "timed_out": r.timed_out,
                                "seconds": round(r.seconds, 2), "stdout": r.stdout[-8000:],
                                "stderr": r.stderr[-2000:]})
                    where = f"{plan.workload.name} in mode {mode}, round {round_ + 1}"
                    if r.exit_status != 0 or r.timed_out:
                        why = "timed out" if r.timed_out else f"exit status {r.exit_status}"
                        return Check(plan.check, FAILED, message=f"{where}: {why}",
                                     detail=(r.stdout + r.stderr)[-4000:])
                    try:
                        run = bench_run(parse_records(r.stdout))
                    except BadRecords as e:
                        return Check(plan.check, ERROR, message=f"{where}: {e}",
                                     detail=r.stdout[-4000:])
                    if run.skipped:
                        return Check(plan.check, SKIPPED, message=run.skipped)
                    rounds.runs[mode].append(run)
    except GuestError as e:
        return Check(plan.check, ERROR, message=str(e))
    finally:
        (out_dir / f"neighbour-{plan.workload.name}.json").write_text(json.dumps(
            {"check": plan.check, "command": plan.command(), "knobs": knobs, "runs": raw},
            indent=1))
    return judge(plan, rounds, knobs)
