"""summary.txt: the run in at most 75 plain-ASCII columns, to paste under
"Testing" in a cover letter."""

import textwrap
import unicodedata
from dataclasses import dataclass

from ..results import FAILED, PASSED
from ..suite.overhead import CHECK_PREFIX as OVERHEAD_PREFIX
from .run_data import RunData, WorkloadResult

MAX_COLUMNS = 75
OVERHEAD_WORKLOAD = "fault-loop"     # a benchmark: no place in the table of figures


@dataclass(frozen=True)
class Overhead:
    """One scanner-cost benchmark of one patched suite (overhead:*)."""
    label: str
    clock: str              # "icount" (instruction-count time) or "wall"
    pace: str               # the knobs' table in data/overhead.toml
    never_ns: float
    always_ns: float
    ratio: float            # median of the per-round always/never ratios
    ratio_min: float
    ratio_max: float
    rounds: int


def to_ascii(text: str) -> str:
    """Accents dropped, arrows and dashes spelt out, anything else '?'."""
    text = text.replace("\u2192", "->").replace("\u2013", "-").replace("\u2014", "-")
    text = unicodedata.normalize("NFKD", text).replace("\t", "    ")
    return "".join(c if c.isascii() else "" if unicodedata.combining(c) else "?"
                   for c in text)


def fit(text: str, width: int = MAX_COLUMNS) -> str:
    """Every line ASCII and at most `width` columns; long lines wrap with
    their indent kept, plus two, so what wraps still reads as one item."""
    out = []
    for line in to_ascii(text).splitlines():
        if len(line) <= width:
            out.append(line.rstrip())
            continue
        indent = " " * (len(line) - len(line.lstrip()))
        out.extend(textwrap.wrap(line.strip(), width, initial_indent=indent,
                                 subsequent_indent=indent + "  ", break_long_words=True,
                                 break_on_hyphens=False))
    return "\n".join(out) + "\n"


def _kb_mib(kb: float | None) -> str:
    return "?" if kb is None else f"{kb / 1024:.1f}M"


def figure_cells(w: WorkloadResult) -> list[str]:
    """workload, mode, arch, tables, coverage, PageTables for one row."""
    head = [w.workload, w.mode, w.suite.arch]
    if w.check.status != PASSED and not w.has_figures:
        return [*head, w.check.status, "", ""]
    if not w.has_figures:
        return [*head, "passed", "", ""]
    populated, left = w.figure("tables_populated"), w.figure("tables_left")
    coverage = w.figure("coverage") or 0.0
    tables = f"{populated:.0f} -> {left:.0f}"
    pagetables = (f"{_kb_mib(w.figure('populated_pagetables_kb'))} -> "
                  f"{_kb_mib(w.figure('final_pagetables_kb'))}")
    mark = "  " if w.check.status == PASSED else " *"
    return [*head, tables, percent(coverage) + mark, pagetables]


def percent(share: float) -> str:
    """Whole percent at the ends, else one decimal, so 99.6% never reads 100%."""
    return f"{share * 100:.0f}%" if share in (0.0, 1.0) else f"{share * 100:.1f}%"


def table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                 for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
    return lines


def figures_table(run: RunData, skip: tuple[str, ...] = ()) -> list[str]:
    """`skip`: workloads another block of the summary reports (scale)."""
    modes, arches = run.modes(), run.arches()
    rows: list[list[str]] = []
    for name in run.workload_names():
        if name == OVERHEAD_WORKLOAD or name in skip:
            continue
        for arch in arches:
            for mode in modes:
                rows.extend(figure_cells(w) for w in run.find(name, mode, arch))
    if not rows:
        return []
    return table(["workload", "mode", "arch", "tables", "freed", "PageTables"], rows,
                 {3, 4})


def overheads(run: RunData) -> list[Overhead]:
    out = []
    for suite in run.suites:
        for c in suite.checks:
            if (not c.name.startswith(OVERHEAD_PREFIX) or c.status not in (PASSED, FAILED)
                    or "ratio_median" not in c.properties):
                continue
            p = c.properties
            # Runs before the icount benchmark had one, on the wall clock,
            # at the aggressive pace, and said neither.
            out.append(Overhead(suite.name, p.get("clock", "wall"), p.get("pace", "aggressive"),
                                float(p["never_ns_per_fault_median"]),
                                float(p["always_ns_per_fault_median"]),
                                float(p["ratio_median"]), float(p["ratio_min"]),
                                float(p["ratio_max"]), int(p["rounds"])))
    return out


def qemu_versions(run: RunData) -> list[str]:
    """One line per QEMU version, naming the arches that used it."""
    by_version: dict[str, list[str]] = {}
    for arch, version in dict(run.meta.get("qemu", {})).items():
        short = str(version).removeprefix("QEMU emulator version ")
        by_version.setdefault(short, []).append(arch)
    return [f"{', '.join(arches)}: {version}" for version, arches in by_version.items()]


def boot_times(run: RunData) -> list[str]:
    out = []
    for s in run.suites:
        boot, build = run.check(s, "boot"), run.check(s, "build")
        build_s = "cached" if build and build.properties.get("rebuilt") == "False" else (
            f"{build.seconds:.0f} s" if build else "?")
        if boot and "boot_to_ssh_s" in boot.properties:
            p = boot.properties
            out.append(f"{s.name}: SSH after {float(p['boot_to_ssh_s']):.1f} s "
                       f"({p.get('accel', '?')}), build {build_s}")
    return out
