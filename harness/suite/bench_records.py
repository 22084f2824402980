"""The figures of one run of a neighbour benchmark (workloads/ptbench.h),
from its PTREC records: latency percentiles, rates, result counts, the
CPUs its threads ran on and how far the scanner's counters moved.

Pure functions over parsed records (figures.parse_records), tested on
captures of real guest runs in tests/golden/.
"""

from dataclasses import dataclass, field
from typing import Any

LATENCY_FIELDS = ("p50_us", "p99_us", "max_us")
# A rate record's thread times (ptbench.h's pt_rate_record): absent from
# captures made before it printed them.
THREAD_TIME_FIELDS = ("utime_ms", "stime_ms", "nvcsw", "nivcsw")
# Fields of ptlib.h's every record, not figures of the benchmark.
RECORD_FIELDS = {"phase", "t_ms", "vmpte_kb", "pagetables_kb"}
NO_COUNTER = -1


class BadRecords(ValueError):
    """The records do not hold what a benchmark run must print."""


@dataclass(frozen=True)
class BenchRun:
    """One run: figures by name ("mmap_max_us", "munmap_ops_per_s",
    "munmap_stime_ms", "spurious_eagain"), the CPUs any of its threads ran on, and the
    pt_reclaim counters' moves while it measured (NO_COUNTER: none)."""
    figures: dict[str, float] = field(default_factory=dict)
    cpus: frozenset[int] = frozenset()
    scanned: int = NO_COUNTER
    freed: int = NO_COUNTER
    online_cpus: int = 0
    skipped: str = ""           # why, when the workload could not run here


def parse_cpus(text: str) -> frozenset[int]:
    """"0,1" (ptbench.h's pt_cpu_list) as a set; "" is none."""
    try:
        return frozenset(int(c) for c in text.split(",") if c.strip())
    except ValueError:
        raise BadRecords(f"bad CPU list {text!r}") from None


def _number(rec: dict[str, Any], key: str) -> float:
    value = rec.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRecords(f"{rec.get('phase')} record without a number {key!r}: {rec}")
    return float(value)


def _op(rec: dict[str, Any]) -> str:
    op = rec.get("op")
    if not isinstance(op, str) or not op.isidentifier():
        raise BadRecords(f"{rec.get('phase')} record without an operation name: {rec}")
    return op


def bench_run(records: list[dict[str, Any]]) -> BenchRun:
    """The figures of one run. Raises BadRecords when a record is
    malformed, a figure comes twice or no `scanner` record was printed."""
    if skipped := [r for r in records if r.get("phase") == "skipped"]:
        return BenchRun(skipped=str(skipped[0].get("why", "skipped")))
    figures: dict[str, float] = {}
    cpus: set[int] = set()
    scanner: dict[str, Any] | None = None

    def put(name: str, value: float) -> None:
        if name in figures:
            raise BadRecords(f"figure {name} printed twice")
        figures[name] = value

    for rec in records:
        phase = rec.get("phase")
        if phase == "malformed":
            raise BadRecords(f"malformed record: {rec.get('line', '')[:200]}")
        if "cpus" in rec:
            cpus |= parse_cpus(str(rec["cpus"]))
        if phase == "latency":
            for f in LATENCY_FIELDS:
                put(f"{_op(rec)}_{f}", _number(rec, f))
            put(f"{_op(rec)}_samples", _number(rec, "n"))
            if "cut_off_ms" in rec:     # captures before the cut-off have none
                put(f"{_op(rec)}_cut_off_ms", _number(rec, "cut_off_ms"))
        elif phase == "rate":
            put(f"{_op(rec)}_ops_per_s", _number(rec, "ops_per_s"))
            for f in THREAD_TIME_FIELDS:
                if f in rec:
                    put(f"{_op(rec)}_{f}", _number(rec, f))
        elif phase == "spinner" and "stime_ms" in rec:
            put("spinner_stime_ms", _number(rec, "stime_ms"))
        elif phase == "result":
            for k, v in rec.items():
                if k not in RECORD_FIELDS and isinstance(v, int | float) \
                        and not isinstance(v, bool):
                    put(k, float(v))
        elif phase == "scanner":
            scanner = rec
    if scanner is None:
        raise BadRecords("no scanner record (the run did not finish)")
    return BenchRun(figures, frozenset(cpus), int(_number(scanner, "scanned")),
                    int(_number(scanner, "freed")), int(_number(scanner, "online_cpus")))
