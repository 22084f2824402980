"""The neighbour benchmarks: their data, the verdict over alternated
rounds (pure logic, on figures made up to sit either side of a bound) and
the summary block."""

from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.results import ERROR, FAILED, PASSED
from harness.suite.bench_records import NO_COUNTER, BenchRun
from harness.suite.catalog import load_catalog
from harness.suite.neighbours import (
    NeighbourPlan,
    Rounds,
    benchmark_names,
    judge,
    load_neighbours,
)


def plans() -> dict[str, NeighbourPlan]:
    return {p.workload.name: p for p in load_neighbours(list(load_catalog().values()))}


def run(cpus: tuple[int, ...] = (0, 1), scanned: int = 8192, freed: int = 0,
        **figures: float) -> BenchRun:
    return BenchRun(dict(figures), frozenset(cpus), scanned, freed, 2)


def rounds(never: list[BenchRun], always: list[BenchRun]) -> Rounds:
    r = Rounds()
    r.runs["never"], r.runs["always"] = never, always
    return r


def latency(max_us: float, p50: float = 10.0, **kw: float) -> BenchRun:
    return run(mmap_p50_us=p50, mmap_p99_us=40.0, mmap_max_us=max_us, fault_p50_us=3.0,
               fault_p99_us=9.0, fault_max_us=500.0, **kw)  # type: ignore[arg-type]


def test_every_benchmark_is_a_catalog_workload_with_a_bound() -> None:
    catalog = load_catalog()
    assert benchmark_names() <= set(catalog)
    for name, p in plans().items():
        assert p.bounds, name
        assert p.min_cpus >= 2, name         # the point is concurrency
        assert "scan_delay_ms" in p.knobs


def test_mmap_latency_bound_is_twice_never_plus_a_millisecond() -> None:
    p = plans()["neighbour-latency"]
    never = [latency(400.0), latency(450.0), latency(430.0)]
    # median never 430 us: the bound is 2 x 430 + 1000 = 1860 us.
    ok = judge(p, rounds(never, [latency(1500.0), latency(1860.0), latency(900.0)]), {})
    assert ok.status == PASSED, ok.message
    red = judge(p, rounds(never, [latency(17600.0), latency(1861.0), latency(15000.0)]), {})
    assert red.status == FAILED
    assert red.message == "mmap_max_us 15000 in always > 2 x 430 in never + 1000 = 1860"
    assert red.properties["mmap_max_us_ratio_median"] == "34.884"
    assert red.properties["never_mmap_max_us"] == "400 450 430"


def test_rate_bound_is_on_the_median_ratio() -> None:
    p = plans()["tlb-churn"]

    def rates(m: float, d: float) -> BenchRun:
        return run(munmap_ops_per_s=m, dontneed_ops_per_s=d)

    never = [rates(1000, 1000)] * 3
    ok = judge(p, rounds(never, [rates(800, 900), rates(950, 400), rates(850, 990)]), {})
    assert ok.status == PASSED, ok.message       # dontneed: median of .9 .4 .99 = .9
    red = judge(p, rounds(never, [rates(790, 900), rates(700, 900), rates(950, 900)]), {})
    assert red.status == FAILED and "munmap_ops_per_s" in red.message
    assert "dontneed" not in red.message


def test_counts_must_be_zero_in_every_run() -> None:
    p = plans()["uffd-copy"]

    def copies(eagain: int, freed: int = 300) -> BenchRun:
        return run(freed=freed, copies=1000, spurious_eagain=eagain, spurious_eexist=0,
                   eexist_present=0)

    assert judge(p, rounds([copies(0)] * 2, [copies(0)] * 2), {}).status == PASSED
    red = judge(p, rounds([copies(0)] * 2, [copies(0), copies(3)]), {})
    assert red.status == FAILED and "spurious_eagain = 3 in round 2 (always)" in red.message
    assert red.properties["always_spurious_eagain_total"] == "3"


def test_a_run_that_raced_nothing_is_an_error_not_a_pass() -> None:
    lat = plans()["neighbour-latency"]
    one_cpu = judge(lat, rounds([latency(400.0)], [latency(400.0, cpus=(0,))]), {})
    assert one_cpu.status == ERROR and "fewer than 2" in one_cpu.message
    idle = judge(lat, rounds([latency(400.0)], [latency(400.0, scanned=0)]), {})
    assert idle.status == ERROR and "examined no table" in idle.message
    blind = judge(lat, rounds([latency(400.0)], [latency(400.0, scanned=NO_COUNTER)]), {})
    assert blind.status == ERROR
    uffd = plans()["uffd-copy"]
    nothing_freed = run(freed=0, copies=1000, spurious_eagain=0, spurious_eexist=0,
                        eexist_present=0)
    c = judge(uffd, rounds([nothing_freed], [nothing_freed]), {})
    assert c.status == ERROR and "freed no table" in c.message


def test_a_bound_on_a_figure_not_reported_is_bad_data(tmp_path: Path) -> None:
    bad = tmp_path / "neighbours.toml"
    bad.write_text('[[benchmark]]\nworkload = "tlb-churn"\nrounds = 1\nmin_cpus = 2\n'
                   'ratios = ["munmap_ops_per_s"]\n[[benchmark.bound]]\n'
                   'figure = "dontneed_ops_per_s"\nmin_ratio = 0.8\n')
    with pytest.raises(BadInput, match="neither ratios nor counts"):
        load_neighbours(list(load_catalog().values()), bad)
    bad.write_text('[[benchmark]]\nworkload = "tlb-churn"\nrounds = 1\nmin_cpus = 2\n'
                   'ratios = ["munmap_ops_per_s"]\n[[benchmark.bound]]\n'
                   'figure = "munmap_ops_per_s"\nmin_ratio = 0.8\nmax_each = 1\n')
    with pytest.raises(BadInput, match="give one of"):
        load_neighbours(list(load_catalog().values()), bad)
