"""Figures of one workload run, computed from its phase records (the
`PTREC {json}` lines the workload prints; workloads/ptlib.h).

A PTE table is one 4 KiB page on both arches the harness runs (4K pages),
so tables = kB / 4. VmPTE counts this process's tables; PageTables counts
the whole guest's, after RCU has freed them.
"""

import json
from dataclasses import asdict, dataclass
from typing import Any

TABLE_KB = 4
RECORD_PREFIX = "PTREC "


def parse_records(stdout: str) -> list[dict[str, Any]]:
    """The workload's phase records, in order; other output is ignored, a
    record that is not valid JSON is kept as a 'malformed' record."""
    records: list[dict[str, Any]] = []
    for line in stdout.splitlines():
        if not line.startswith(RECORD_PREFIX):
            continue
        try:
            rec = json.loads(line[len(RECORD_PREFIX):])
        except json.JSONDecodeError:
            rec = {"phase": "malformed", "line": line}
        if not isinstance(rec, dict) or "phase" not in rec:
            rec = {"phase": "malformed", "line": line}
        records.append(rec)
    return records



@dataclass(frozen=True)
class Figures:
    baseline_pagetables_kb: int
    populated_pagetables_kb: int
    emptied_pagetables_kb: int
    final_pagetables_kb: int
    baseline_vmpte_kb: int
    populated_vmpte_kb: int
    emptied_vmpte_kb: int
    final_vmpte_kb: int
    tables_populated: int       # tables the workload made
    tables_emptied: int         # of those, how many it emptied
    tables_left: int            # of those made, still there at the end
    tables_freed: int
    coverage: float             # tables_freed / tables_emptied, 0..1
    run_ms: float
    reclaim_ms: float | None    # from emptied to the final record, if reclaim ran
    # The wait for the scanner ended at its limit, the target not reached.
    reclaim_timed_out: bool | None = None

    def properties(self) -> dict[str, str]:
        return {k: (f"{v:.3f}" if isinstance(v, float) else str(v))
                for k, v in asdict(self).items() if v is not None}


def by_phase(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["phase"]: r for r in records if "phase" in r}


def compute(records: list[dict[str, Any]]) -> Figures:
    """Figures from baseline/populated/emptied[/reclaimed] records.

    The final state is the last of: reclaimed, emptied. Raises KeyError
    naming the phase that is missing."""
    phases = by_phase(records)
    for needed in ("baseline", "populated", "emptied"):
        if needed not in phases:
            raise KeyError(f"workload printed no '{needed}' record")
    base, pop, emp = phases["baseline"], phases["populated"], phases["emptied"]
    final = phases.get("reclaimed", emp)
    # A workload whose tables come and go while it populates (the RFC's
    # touch-then-free loop) never shows them all in VmPTE: it says how many
    # it made.
    made = int(pop.get("tables_made", max(0, (pop["vmpte_kb"] - base["vmpte_kb"]) // TABLE_KB)))
    left = max(0, (final["vmpte_kb"] - base["vmpte_kb"]) // TABLE_KB)
    freed = max(0, made - left)
    # Workloads that empty only some of their tables say how many; the
    # rest stay live by design and are not a reclaim miss.
    emptied = int(emp.get("tables_emptied", emp.get("empty_tables", made)))
    reclaim_ms: float | None = None
    timed_out: bool | None = None
    if "reclaimed" in phases:
        fin = phases["reclaimed"]
        reclaim_ms = float(fin.get("since_emptied_ms", fin["t_ms"] - emp["t_ms"]))
        timed_out = bool(fin["timed_out"]) if "timed_out" in fin else None
    return Figures(
        baseline_pagetables_kb=base["pagetables_kb"],
        populated_pagetables_kb=pop["pagetables_kb"],
        emptied_pagetables_kb=emp["pagetables_kb"],
        final_pagetables_kb=final["pagetables_kb"],
        baseline_vmpte_kb=base["vmpte_kb"],
        populated_vmpte_kb=pop["vmpte_kb"],
        emptied_vmpte_kb=emp["vmpte_kb"],
        final_vmpte_kb=final["vmpte_kb"],
        tables_populated=made,
        tables_emptied=emptied,
        tables_left=left,
        tables_freed=freed,
        coverage=min(1.0, freed / emptied) if emptied else 0.0,
        run_ms=float(max(r.get("t_ms", 0.0) for r in records)),
        reclaim_ms=reclaim_ms,
        reclaim_timed_out=timed_out,
    )
