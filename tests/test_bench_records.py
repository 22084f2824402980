"""The neighbour benchmarks' records, parsed from captures of real guest
runs (tests/golden/neighbours/README says which)."""

from pathlib import Path

import pytest

from harness.suite.bench_records import BadRecords, bench_run, parse_cpus
from harness.suite.figures import parse_records


def captured(golden: Path, name: str) -> list[dict]:  # type: ignore[type-arg]
    return parse_records((golden / "neighbours" / f"{name}.txt").read_text())


def test_latency_records(golden: Path) -> None:
    never = bench_run(captured(golden, "neighbour-latency-never"))
    assert never.figures["mmap_p50_us"] == 16.3
    assert never.figures["mmap_max_us"] == 44233.2
    assert never.figures["fault_p99_us"] == 130.9
    assert never.figures["mmap_samples"] == 31079
    # Each thread ran on one CPU, the two on different ones.
    assert never.cpus == {0, 1} and never.online_cpus == 2
    assert never.scanned == 0
    always = bench_run(captured(golden, "neighbour-latency-always"))
    assert always.figures["mmap_max_us"] == 951463.9
    assert always.scanned == 3944865 and always.freed == 0


def test_cut_off_field_of_later_workloads(golden: Path) -> None:
    always = bench_run(captured(golden, "neighbour-latency-v2-always"))
    assert always.figures["mmap_max_us"] == 139592.9
    assert always.figures["mmap_cut_off_ms"] == 0.0
    assert always.scanned == 62368
    # The v1 captures came before the field: no figure, not an error.
    assert "mmap_cut_off_ms" not in bench_run(captured(golden, "neighbour-latency-never")).figures


def test_result_counts(golden: Path) -> None:
    always = bench_run(captured(golden, "uffd-copy-always"))
    assert always.figures["spurious_eagain"] == 5
    assert always.figures["spurious_eexist"] == 0 and always.figures["copies"] == 512
    # ptlib.h's own fields are not figures of the benchmark.
    assert "vmpte_kb" not in always.figures and "t_ms" not in always.figures
    assert always.freed == 517
    assert bench_run(captured(golden, "uffd-copy-never")).figures["spurious_eagain"] == 0


def test_unfinished_or_broken_runs_are_refused(golden: Path) -> None:
    records = captured(golden, "neighbour-latency-never")
    with pytest.raises(BadRecords, match="no scanner record"):
        bench_run(records[:-1])
    with pytest.raises(BadRecords, match="printed twice"):
        bench_run([records[1], *records])
    with pytest.raises(BadRecords, match="malformed"):
        bench_run(parse_records('PTREC {"phase":"latency","op":\n'))
    with pytest.raises(BadRecords, match="without a number"):
        bench_run([{"phase": "rate", "op": "munmap", "ops_per_s": "fast"}])


def test_thread_times_of_rate_and_spinner_records() -> None:
    scanner = {"phase": "scanner", "scanned": 1, "freed": 0, "online_cpus": 2}
    run = bench_run([{"phase": "rate", "op": "munmap", "ops_per_s": 10.0, "utime_ms": 2.0,
                      "stime_ms": 1900.0, "nvcsw": 3, "nivcsw": 40},
                     {"phase": "spinner", "cpus": "1", "stime_ms": 400.0}, scanner])
    assert run.figures == {"munmap_ops_per_s": 10.0, "munmap_utime_ms": 2.0,
                           "munmap_stime_ms": 1900.0, "munmap_nvcsw": 3.0,
                           "munmap_nivcsw": 40.0, "spinner_stime_ms": 400.0}
    # Records from before the thread times: the rate alone.
    old = bench_run([{"phase": "rate", "op": "munmap", "ops_per_s": 10.0},
                     {"phase": "spinner", "cpus": "1"}, scanner])
    assert old.figures == {"munmap_ops_per_s": 10.0}


def test_skipped_and_cpu_lists() -> None:
    assert bench_run([{"phase": "skipped", "why": "userfaultfd: ENOSYS"}]).skipped
    assert parse_cpus("0,1") == {0, 1} and parse_cpus("") == frozenset()
    with pytest.raises(BadRecords):
        parse_cpus("0,x")
