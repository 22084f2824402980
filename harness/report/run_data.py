"""A run directory read back for reporting: run.json, every suite's
result.json and its samples-<workload>-<mode>.json, nothing else.

Every report (HTML, text, comparison) is built from this, so any of them
can be regenerated or restyled long after the run.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..results import ERROR, FAILED, PASSED, SKIPPED, Check, Suite, all_ok, load_suites
from ..suite.modes import load_modes

WORKLOAD_CHECK = re.compile(r"^workload:(?P<workload>[^\[]+)\[(?P<mode>[^\]]+)\]$")
STATUSES = (PASSED, FAILED, ERROR, SKIPPED)


@dataclass(frozen=True)
class Sample:
    t_ms: float
    pagetables_kb: int


@dataclass(frozen=True)
class WorkloadResult:
    """One workload check, with the sampler's trace when it was saved."""
    suite: Suite
    check: Check
    workload: str
    mode: str
    samples: tuple[Sample, ...] = ()
    records: tuple[dict[str, Any], ...] = ()

    @property
    def has_figures(self) -> bool:
        return "tables_populated" in self.check.properties

    def figure(self, name: str) -> float | None:
        """A figure from the check's properties, else from the workload's
        own records (fault-loop prints ns_per_fault only there)."""
        if name in self.check.properties:
            return _float(self.check.properties[name])
        for r in reversed(self.records):
            if name in r:
                return _float(r[name])
        return None


@dataclass
class RunData:
    path: Path
    meta: dict[str, Any]
    suites: list[Suite]
    workloads: list[WorkloadResult] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return str(self.meta.get("run_id") or self.path.name)

    @property
    def ok(self) -> bool:
        return all_ok(self.suites)

    @property
    def verdict(self) -> str:
        return "PASS" if self.ok else "FAIL"

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for s in self.suites:
            for c in s.checks:
                out[c.status] = out.get(c.status, 0) + 1
        return out

    def problems(self) -> list[tuple[Suite, Check]]:
        """Failed and errored checks, in run order."""
        return [(s, c) for s in self.suites for c in s.checks if c.status in (FAILED, ERROR)]

    @property
    def matrix_suites(self) -> list[Suite]:
        """The (kernel, arch) suites: built, booted, measured."""
        return [s for s in self.suites if not s.per_patch]

    @property
    def patch_suites(self) -> list[Suite]:
        """The nightly's per-patch suites (checkpatch, builds, W=1)."""
        return [s for s in self.suites if s.per_patch]

    def arches(self) -> list[str]:
        return _unique([*self.meta.get("arches", []), *(s.arch for s in self.matrix_suites)])

    def kernels(self) -> list[str]:
        return _unique([*self.meta.get("kernels", []),
                        *(s.kernel for s in self.matrix_suites)])

    def modes(self) -> list[str]:
        """Modes run, in modes.toml order, unknown ones last."""
        seen = _unique([w.mode for w in self.workloads])
        order = {m: i for i, m in enumerate(load_modes())}
        return sorted(seen, key=lambda m: (order.get(m, len(order)), m))

    def workload_names(self) -> list[str]:
        listed = [str(w) for w in self.meta.get("workloads", [])]
        return _unique([*listed, *(w.workload for w in self.workloads)])

    def find(self, workload: str, mode: str, arch: str) -> list[WorkloadResult]:
        return [w for w in self.workloads
                if w.workload == workload and w.mode == mode and w.suite.arch == arch]

    def check(self, suite: Suite, name: str) -> Check | None:
        return next((c for c in suite.checks if c.name == name), None)


def load_run(path: Path) -> RunData:
    meta_file = path / "run.json"
    meta: dict[str, Any] = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    suites = load_suites(path)
    run = RunData(path, meta, suites)
    for suite in suites:
        for check in suite.checks:
            m = WORKLOAD_CHECK.match(check.name)
            if not m:
                continue
            raw = _samples_file(path / suite.dirname, m["workload"], m["mode"])
            samples = tuple(Sample(float(s["t_ms"]), int(s["pagetables_kb"]))
                            for s in raw.get("samples", [])
                            if "t_ms" in s and "pagetables_kb" in s)
            records = tuple(r for r in raw.get("records", []) if isinstance(r, dict))
            run.workloads.append(WorkloadResult(suite, check, m["workload"], m["mode"],
                                                samples, records))
    return run


def _samples_file(suite_dir: Path, workload: str, mode: str) -> dict[str, Any]:
    f = suite_dir / f"samples-{workload}-{mode}.json"
    try:
        raw = json.loads(f.read_text())
    except (OSError, ValueError):
        # No samples (skipped, errored) or a file cut short by a crash: the
        # check's own figures still report it.
        return {}
    return raw if isinstance(raw, dict) else {}


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
