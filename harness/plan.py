"""Fan-out on the CI people already run: `plan` prints the job matrix
(arch x kernel x config, and the nightly's per-patch walk per arch) for a
GitHub Actions `strategy.matrix` or a GitLab `parallel:matrix`; `run --job
ID` runs one cell; `merge` joins the cells' run directories into one run
with one JUnit file and one report."""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .arches import DEFAULT_ARCHES
from .errors import BadInput
from .job import CONFIGS, DEFAULT_SERIES
from .results import ERROR, FAILED, SKIPPED, RunDir, load_suite

CONFIG_SETS = {"default": (), "debug": (CONFIGS / "debug.config",)}
# The kernel of a per-patch cell: the series walked patch by patch (with
# the default config only, as the nightly's walk).
PATCHES = "patches"
KERNELS = ("base", "patched", PATCHES)


@dataclass(frozen=True)
class Job:
    arch: str
    kernel: str      # "base", "patched" or PATCHES
    config: str      # a CONFIG_SETS key

    @property
    def id(self) -> str:
        return f"{self.arch}-{self.kernel}-{self.config}"


def jobs(arches: tuple[str, ...] = DEFAULT_ARCHES, with_debug: bool = True) -> list[Job]:
    series = (DEFAULT_SERIES / "series").exists()
    kernels = ["base"] + (["patched"] if series else [])
    configs = ["default"] + (["debug"] if with_debug and
                             (CONFIGS / "debug.config").exists() else [])
    return [Job(a, k, c) for a in arches for k in kernels for c in configs] + \
        [Job(a, PATCHES, "default") for a in arches if series]


def parse_job(job_id: str) -> Job:
    parts = job_id.split("-")
    if len(parts) != 3 or parts[1] not in KERNELS or parts[2] not in CONFIG_SETS:
        raise BadInput(f"--job {job_id!r}: expected ARCH-{{{','.join(KERNELS)}}}-"
                       f"{{{','.join(CONFIG_SETS)}}}, as `pt-harness plan` prints")
    if parts[1] == PATCHES and parts[2] != "default":
        raise BadInput(f"--job {job_id!r}: the per-patch walk builds the default config "
                       f"only; ARCH-{PATCHES}-default")
    return Job(*parts)


def plan_json(js: list[Job], fmt: str) -> str:
    if fmt == "github":
        doc: Any = {"include": [{"job": j.id, "arch": j.arch, "kernel": j.kernel,
                                 "config": j.config} for j in js]}
    elif fmt == "gitlab":
        doc = [{"PT_HARNESS_JOB": [j.id for j in js]}]
    else:
        raise BadInput(f"--format {fmt!r}: github or gitlab")
    return json.dumps(doc, indent=2)


def merge(runs: list[Path], parent: Path | None) -> Path:
    """A new run directory holding every suite of `runs`. A (kernel, arch)
    suite present in two runs is an error (two cells ran the same thing);
    the per-patch suites of cells that walked different arches are joined
    into one, as the nightly would have written it."""
    if not runs:
        raise BadInput("merge: no run directories given")
    metas = []
    for r in runs:
        if not (r / "run.json").is_file():
            raise BadInput(f"merge: {r} is not a run directory (no run.json)")
        metas.append(json.loads((r / "run.json").read_text()))
    out = RunDir(parent)
    seen: dict[str, Path] = {}
    for r in runs:
        for suite_dir in sorted(p.parent for p in r.glob("*/result.json")):
            if suite_dir.name in seen:
                if load_suite(suite_dir / "result.json").per_patch:
                    join_suite(out, out.path / suite_dir.name, suite_dir)
                    continue
                raise BadInput(f"merge: suite {suite_dir.name} is in both {seen[suite_dir.name]} "
                               f"and {r}")
            seen[suite_dir.name] = r
            shutil.copytree(suite_dir, out.path / suite_dir.name)
        for log in r.glob("apply-*.log"):
            shutil.copyfile(log, out.path / log.name)
    meta: dict[str, Any] = {
        "run_id": out.run_id, "merged_from": [m.get("run_id") for m in metas],
        "started": min(str(m.get("started", "")) for m in metas),
        "host": ",".join(sorted({str(m.get("host", "")) for m in metas})),
        "arches": sorted({a for m in metas for a in m.get("arches", [])}),
        "workloads": sorted({w for m in metas for w in m.get("workloads", [])}),
        "kernels": sorted({k for m in metas for k in m.get("kernels", [])}),
        "qemu": {k: v for m in metas for k, v in m.get("qemu", {}).items()},
        "kernel_version": metas[0].get("kernel_version", ""),
        # Each cell built some of the kernels: together, every checkout.
        "sources": {k: v for m in metas for k, v in m.get("sources", {}).items()},
        "seconds": round(sum(float(m.get("seconds", 0)) for m in metas), 1),
    }
    out.save_meta(meta)
    return out.path


# A check in two cells is kept once, the worse of the two: a failure is
# never hidden by the cell where it passed.
_BADNESS = {SKIPPED: 1, FAILED: 2, ERROR: 3}


def join_suite(out: RunDir, into: Path, other: Path) -> None:
    """Add the checks and logs of suite directory `other` to `into`."""
    joined, extra = load_suite(into / "result.json"), load_suite(other / "result.json")
    by_name = {c.name: i for i, c in enumerate(joined.checks)}
    for c in extra.checks:
        if c.name not in by_name:
            by_name[c.name] = len(joined.checks)
            joined.checks.append(c)
        elif _BADNESS.get(c.status, 0) > _BADNESS.get(joined.checks[by_name[c.name]].status, 0):
            joined.checks[by_name[c.name]] = c
    for f in other.iterdir():
        if f.is_file() and f.name != "result.json" and not (into / f.name).exists():
            shutil.copyfile(f, into / f.name)
    out.save_suite(joined)
