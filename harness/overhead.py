"""The scanner's cost: one fault-heavy workload (data/overhead.toml) in mode
`never` and mode `always` alternated round by round in one boot, reported
as the time ratio always/never with its spread.

Alternating, rather than all `never` runs then all `always` runs, keeps a
drift of the TCG guest's speed (host load, another VM on the host) out of
the ratio: each round's pair ran under the same conditions.
"""

import json
import shlex
import statistics
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .catalog import GUEST_BIN
from .errors import BadInput, GuestError
from .guest import Guest
from .modes import DATA
from .parsers import parse_records
from .results import ERROR, FAILED, PASSED, Check
from .workload_runner import KNOB_DIR, SYSFS_MODE

MODES = ("never", "always")
CHECK_NAME = "overhead:scanner"


@dataclass(frozen=True)
class OverheadPlan:
    workload: str
    args: tuple[str, ...]
    rounds: int
    timeout: float
    knobs: dict[str, str]
    max_median_ratio: float

    def command(self) -> str:
        return " ".join(shlex.quote(a) for a in (f"{GUEST_BIN}/{self.workload}", *self.args))


def load_overhead(path: Path = DATA / "overhead.toml") -> OverheadPlan:
    try:
        spec = tomllib.loads(path.read_text())
        plan = OverheadPlan(str(spec["workload"]), tuple(str(a) for a in spec["args"]),
                            int(spec["rounds"]), float(spec["timeout"]),
                            {str(k): str(v) for k, v in spec.get("knobs", {}).items()},
                            float(spec["verdict"]["max_median_ratio"]))
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as e:
        raise BadInput(f"{path}: {e}") from None
    if plan.rounds < 1:
        raise BadInput(f"{path}: rounds must be at least 1")
    return plan


@dataclass(frozen=True)
class OverheadFigures:
    never_ns: tuple[float, ...]
    always_ns: tuple[float, ...]

    @property
    def ratios(self) -> list[float]:
        return [a / n for n, a in zip(self.never_ns, self.always_ns, strict=True) if n > 0]

    def properties(self) -> dict[str, str]:
        r = self.ratios
        return {
            "rounds": str(len(r)),
            "ratio_median": f"{statistics.median(r):.3f}",
            "ratio_min": f"{min(r):.3f}",
            "ratio_max": f"{max(r):.3f}",
            "never_ns_per_fault_median": f"{statistics.median(self.never_ns):.0f}",
            "always_ns_per_fault_median": f"{statistics.median(self.always_ns):.0f}",
            "never_ns_per_fault": " ".join(f"{v:.0f}" for v in self.never_ns),
            "always_ns_per_fault": " ".join(f"{v:.0f}" for v in self.always_ns),
        }


def judge(fig: OverheadFigures, plan: OverheadPlan) -> Check:
    """Pure: the check for a finished benchmark."""
    if not fig.ratios:
        return Check(CHECK_NAME, ERROR, message="no round measured a time")
    props = fig.properties()
    median = statistics.median(fig.ratios)
    summary = (f"always/never = {median:.3f} (median of {len(fig.ratios)}, "
               f"{props['ratio_min']}..{props['ratio_max']})")
    if median > plan.max_median_ratio:
        return Check(CHECK_NAME, FAILED, message=f"{summary} > {plan.max_median_ratio}",
                     properties=props)
    return Check(CHECK_NAME, PASSED, message=summary, properties=props)


def _sh(guest: Guest, command: str) -> str:
    r = guest.run(command, timeout=30)
    if r.exit_status != 0:
        raise GuestError(f"`{command}` failed: {r.stderr.strip()}")
    return r.stdout.strip()


def run_overhead(guest: Guest, plan: OverheadPlan, out_dir: Path) -> Check:
    """Run the rounds; the guest's mode and knobs are put back afterwards."""
    knob_paths = {k: f"{KNOB_DIR}/pt_reclaim_{k}" for k in plan.knobs}
    raw: list[dict] = []  # type: ignore[type-arg]
    ns: dict[str, list[float]] = {m: [] for m in MODES}
    try:
        saved_mode = _sh(guest, f"cat {SYSFS_MODE}").split("[", 1)[1].split("]", 1)[0]
        saved = {k: _sh(guest, f"cat {p}") for k, p in knob_paths.items()}
        for k, value in plan.knobs.items():
            _sh(guest, f"echo {shlex.quote(value)} > {knob_paths[k]}")
        for round_ in range(plan.rounds):
            for mode in MODES:
                _sh(guest, f"echo {mode} > {SYSFS_MODE}")
                r = guest.run(plan.command(), timeout=plan.timeout)
                records = parse_records(r.stdout)
                raw.append({"round": round_ + 1, "mode": mode, "exit_status": r.exit_status,
                            "timed_out": r.timed_out, "records": records,
                            "stderr": r.stderr[-2000:]})
                result = [x for x in records if x.get("phase") == "result"]
                if r.exit_status != 0 or r.timed_out or not result:
                    why = "timed out" if r.timed_out else f"exit status {r.exit_status}"
                    return Check(CHECK_NAME, FAILED,
                                 message=f"{plan.workload} in mode {mode}, round "
                                         f"{round_ + 1}: {why}",
                                 detail=(r.stdout + r.stderr)[-4000:])
                ns[mode].append(float(result[-1]["ns_per_fault"]))
        _sh(guest, f"echo {shlex.quote(saved_mode)} > {SYSFS_MODE}")
        for k, value in saved.items():
            _sh(guest, f"echo {shlex.quote(value)} > {knob_paths[k]}")
    except GuestError as e:
        return Check(CHECK_NAME, ERROR, message=str(e))
    finally:
        (out_dir / "overhead.json").write_text(json.dumps(
            {"command": plan.command(), "knobs": plan.knobs, "runs": raw}, indent=1))
    return judge(OverheadFigures(tuple(ns["never"]), tuple(ns["always"])), plan)
