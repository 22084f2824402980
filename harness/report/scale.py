"""Scale at the kernel's default knobs, as a reviewer reads it: per
workload, arch and mode, VmPTE at its peak -> at the end and the time the
scanner took, for the seed RFC's 50 GB test (rfc-50g), its allocator
variant (rfc-50g-small) and the 16 TiB sparse area (sparse-huge); with the
figures the RFC published beside them, labelled as the RFC's.

The published figures come from the catalog (data/workloads.toml), ours
from each case's properties, so the block can be rebuilt from a run
directory like every other report.
"""

import textwrap
from dataclasses import dataclass

from ..results import PASSED
from ..suite.catalog import load_catalog
from .run_data import RunData, WorkloadResult
from .summary_text import MAX_COLUMNS, table

SCALE_WORKLOADS = ("rfc-50g", "rfc-50g-small", "sparse-huge")


@dataclass(frozen=True)
class ScaleRow:
    workload: str
    mode: str
    arch: str
    peak_vmpte_kb: int | None   # the populated record: the peak while the loop ran
    final_vmpte_kb: int | None
    peak_pagetables_kb: int | None    # the guest's, same records
    final_pagetables_kb: int | None
    reclaim: str                # "0.4 s", "> 60 s" (target not reached), "-" (no wait)
    passed: bool
    message: str


def reclaim_text(w: WorkloadResult) -> str:
    ms = w.figure("reclaim_ms")
    if ms is None:
        return "-"
    if w.check.properties.get("reclaim_timed_out") == "True":
        return f"> {ms / 1000:.0f} s"
    return f"{ms / 1000:.1f} s"


def _kb(value: float | None) -> int | None:
    return None if value is None else int(value)


def scale_rows(run: RunData, workloads: tuple[str, ...] = SCALE_WORKLOADS) -> list[ScaleRow]:
    rows = []
    for name in workloads:
        for arch in run.arches():
            for mode in run.modes():
                for w in run.find(name, mode, arch):
                    if not w.has_figures:
                        continue
                    rows.append(ScaleRow(name, mode, arch, _kb(w.figure("populated_vmpte_kb")),
                                         _kb(w.figure("final_vmpte_kb")),
                                         _kb(w.figure("populated_pagetables_kb")),
                                         _kb(w.figure("final_pagetables_kb")), reclaim_text(w),
                                         w.check.status == PASSED, w.check.message))
    return rows


def published_line(workload: str = "rfc-50g") -> str:
    """The RFC's own figures, as its cover letters gave them."""
    entry = load_catalog().get(workload)
    pub = dict(entry.published) if entry else {}
    if not {"label", "vmpte_before_kb", "vmpte_async_kb", "vmpte_sync_kb"} <= set(pub):
        return ""
    return (f"{pub['label']}: VmPTE {pub['vmpte_before_kb']} kB -> "
            f"{pub['vmpte_async_kb']} kB async, -> {pub['vmpte_sync_kb']} kB with the "
            f"merged sync reclaim")


def boot_knobs(run: RunData) -> list[str]:
    """Per patched suite, the knob values its kernel had at boot: the
    defaults the *-defaults modes measured."""
    out = []
    for s in run.suites:
        boot = run.check(s, "boot")
        knobs = {k.removeprefix("knob_"): v for k, v in (boot.properties if boot else {}).items()
                 if k.startswith("knob_")}
        if knobs:
            out.append(f"{s.name}: " + ", ".join(f"{k}={v}" for k, v in sorted(knobs.items())))
    return out


def _vmpte(kb: int | None) -> str:
    return "?" if kb is None else str(kb)


def summary_lines(run: RunData) -> list[str]:
    """summary.txt's block, heading included; [] when no scale workload ran."""
    rows = scale_rows(run)
    if not rows:
        return []
    cells = [[r.workload, r.mode, r.arch,
              f"{_vmpte(r.peak_vmpte_kb)} -> {_vmpte(r.final_vmpte_kb)}",
              r.reclaim + ("" if r.passed else " *")] for r in rows]
    published = published_line()
    knobs = boot_knobs(run)
    return ["", "Scale: VmPTE at its peak -> at the end, and the time from the end of",
            "the emptying to the target (rfc-*: VmPTE at most 1 MiB; sparse-huge:",
            "every table freed; > N s: not reached in the N s waited; -: no",
            "wait; the guest's PageTables beside it in report.html). *-defaults",
            "modes: the knobs the kernel booted with" + (":" if knobs else "."),
            *(f"  {k}" for k in knobs), "",
            *table(["workload", "mode", "arch", "VmPTE kB", "reclaim"], cells, {3}),
            *(["(* the check failed, see below)"] if not all(r.passed for r in rows) else []),
            *(textwrap.wrap(f"Published, for comparison: {published}", MAX_COLUMNS,
                            subsequent_indent="  ") if published else [])]
