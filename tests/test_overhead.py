"""The scanner-cost benchmark's figures and verdict (pure logic)."""

from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.overhead import OverheadFigures, judge, load_overhead
from harness.results import ERROR, FAILED, PASSED


def test_ratio_is_per_round_median_with_spread() -> None:
    fig = OverheadFigures((1000.0, 1100.0, 900.0), (1100.0, 1100.0, 1800.0))
    p = fig.properties()
    # rounds: 1.10, 1.00, 2.00 -> median 1.10; the slow third round shows
    # in the spread, not in the median.
    assert (p["ratio_median"], p["ratio_min"], p["ratio_max"]) == ("1.100", "1.000", "2.000")
    assert p["never_ns_per_fault"] == "1000 1100 900" and p["rounds"] == "3"


def test_verdict_uses_the_data_bound() -> None:
    plan = load_overhead()
    ok = judge(OverheadFigures((1000.0,), (1000.0 * plan.max_median_ratio,)), plan)
    too_slow = judge(OverheadFigures((1000.0,), (1000.0 * plan.max_median_ratio + 5,)), plan)
    assert ok.status == PASSED and too_slow.status == FAILED
    assert judge(OverheadFigures((), ()), plan).status == ERROR


def test_overhead_data_that_does_not_parse(tmp_path: Path) -> None:
    bad = tmp_path / "overhead.toml"
    bad.write_text('workload = "fault-loop"\n')
    with pytest.raises(BadInput, match="overhead.toml"):
        load_overhead(bad)
