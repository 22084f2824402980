"""The neighbour benchmarks (checks neighbour:*) as a reviewer reads them:
per suite and benchmark, each figure's median in mode never -> always and
the ratio always/never (median, min..max over the alternated rounds), or
for counts the totals per mode; for summary.txt and report.html.

Everything comes from the checks' properties (neighbours.properties), so
the block is rebuilt from a run directory like every other report.
"""

from dataclasses import dataclass

from ..suite.neighbours import CHECK_PREFIX
from .run_data import RunData
from .summary_text import table


@dataclass(frozen=True)
class FigureRow:
    figure: str
    never: str              # median over the rounds, or the total for a count
    always: str
    ratio: str              # "1.02x (0.98..1.10)"; "" for a count


@dataclass(frozen=True)
class NeighbourBlock:
    suite: str
    workload: str
    status: str
    message: str
    cpus: str               # CPUs the threads ran on, over every round
    rounds: str
    knobs: str
    rows: tuple[FigureRow, ...]


def blocks(run: RunData) -> list[NeighbourBlock]:
    out = []
    for suite in run.suites:
        for c in suite.checks:
            p = c.properties
            if not c.name.startswith(CHECK_PREFIX) or "ratio_figures" not in p:
                continue
            rows = []
            for f in p["ratio_figures"].split():
                ratio = (f"{p[f + '_ratio_median']}x ({p[f + '_ratio_min']}.."
                         f"{p[f + '_ratio_max']})" if f + "_ratio_median" in p else "?")
                rows.append(FigureRow(f, p.get(f"never_{f}_median", "?"),
                                      p.get(f"always_{f}_median", "?"), ratio))
            for f in p.get("count_figures", "").split():
                rows.append(FigureRow(f, p.get(f"never_{f}_total", "?"),
                                      p.get(f"always_{f}_total", "?"), ""))
            out.append(NeighbourBlock(suite.name, c.name.removeprefix(CHECK_PREFIX),
                                      c.status, c.message, p.get("cpus_seen", "?"),
                                      p.get("rounds", "?"), p.get("knobs", ""), tuple(rows)))
    return out


def summary_lines(run: RunData) -> list[str]:
    """The block for summary.txt (summary_text.fit() wraps what is long)."""
    found = blocks(run)
    if not found:
        return []
    lines = ["", "The scanner's neighbours (data/neighbours.toml): threads of the",
             "scanned process, mode never -> always, medians of N alternated",
             "rounds, ratio always/never median (min..max); counts: totals."]
    for b in found:
        lines.append(f"  {b.suite} {b.workload}, N={b.rounds}, CPUs {b.cpus}: {b.status}")
        rows = [[r.figure, f"{r.never} -> {r.always}", r.ratio] for r in b.rows]
        lines += ["    " + ln for ln in table(["figure", "never -> always", "ratio"], rows,
                                                  set())]
        if b.status != "passed" and b.message:
            lines.append(f"    {b.message}")
    return lines
