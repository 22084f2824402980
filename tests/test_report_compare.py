"""compare(): the sample run (real, tests/golden/run-sample) against variants
of itself."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.errors import BadInput
from harness.report.compare import THRESHOLDS, compare, load_thresholds

SAMPLE = Path(__file__).parent / "golden" / "run-sample"
FAULT_LOOP = Path(__file__).parent / "golden" / "run-fault-loop"
# A workload whose coverage compare judges: 25550 of 25600 tables freed.
JUDGED = "workload:rfc-50g-small[madvise]"
Edit = Callable[[dict[str, Any]], None]


def variant(tmp_path: Path, suite: str, check: str, edit: Edit, name: str = "b") -> Path:
    run = tmp_path / name
    shutil.copytree(SAMPLE, run)
    f = run / suite / "result.json"
    raw = json.loads(f.read_text())
    edit(next(c for c in raw["checks"] if c["name"] == check))
    f.write_text(json.dumps(raw, indent=2))
    return run


def props(**values: str) -> Edit:
    return lambda c: c["properties"].update(values)


def test_identical_runs_do_not_regress() -> None:
    r = compare(SAMPLE, SAMPLE)
    assert not r.regressed and r.regressions == [] and r.notes == []
    assert all(c.change == "=" for c in r.changes)
    assert "no regression" in r.render()


def test_lower_coverage_regresses(tmp_path: Path) -> None:
    b = variant(tmp_path, "pt-reclaim-x86_64", JUDGED,
                props(coverage="0.950", tables_freed="24320", tables_left="1280"))
    r = compare(SAMPLE, b)
    assert r.regressed
    [bad] = r.regressions
    assert (bad.suite, bad.check, bad.metric) == ("pt-reclaim/x86_64", JUDGED, "coverage")
    text = r.render()
    assert "REGRESSED" in text and "coverage 0.998 -> 0.95" in text
    # The other way round coverage went up: not a regression.
    assert not compare(b, SAMPLE).regressed


def test_coverage_within_threshold_does_not_regress(tmp_path: Path) -> None:
    b = variant(tmp_path, "pt-reclaim-x86_64", JUDGED, props(coverage="0.988"))
    assert not compare(SAMPLE, b).regressed


@pytest.mark.parametrize("suite,check,edit,metric", [
    ("pt-reclaim-x86_64", JUDGED, props(run_ms="7900.000"), "run_ms"),    # 3034.9 ms
    ("pt-reclaim-arm64", "boot", props(boot_to_ssh_s="9.90"), "boot_to_ssh_s"),   # 3.14 s
    ("pt-reclaim-x86_64", "console", props(splats="2"), "splats"),
    ("pt-reclaim-x86_64", "overhead:scanner", props(ratio_median="1.900"), "ratio_median"),
    ("pt-reclaim-x86_64", "workload:rfc-50g-small[never]",
     lambda c: c.update(status="failed", message="exit status 139"), "status"),
])
def test_each_threshold(tmp_path: Path, suite: str, check: str, edit: Edit,
                        metric: str) -> None:
    r = compare(SAMPLE, variant(tmp_path, suite, check, edit))
    assert [c.metric for c in r.regressions] == [metric]


def test_small_rises_do_not_regress(tmp_path: Path) -> None:
    b = variant(tmp_path, "pt-reclaim-x86_64", JUDGED, props(run_ms="6000.000"))
    assert not compare(SAMPLE, b).regressed       # 2x: measured night-to-night noise


def test_the_scanner_cost_on_each_clock(tmp_path: Path) -> None:
    """One figure, two limits: the icount benchmark's ratio may rise by
    0.002, the wall-clock one's by 75% (thresholds.toml)."""
    # The sample's icount benchmark at the default pace: 1.0060.
    assert not compare(SAMPLE, variant(tmp_path, "pt-reclaim-x86_64", "overhead:scanner",
                                       props(ratio_median="1.0075"), name="b")).regressed
    r = compare(SAMPLE, variant(tmp_path, "pt-reclaim-x86_64", "overhead:scanner",
                                props(ratio_median="1.0085"), name="c"))
    assert [c.metric for c in r.regressions] == ["ratio_median"]
    # Its wall-clock one: 1.1323 -> 1.90 (+68%) is the night-to-night
    # noise of TCG, 1.1323 -> 2.10 (+85%) is not.
    assert not compare(SAMPLE, variant(tmp_path, "pt-reclaim-x86_64", "overhead:wallclock",
                                       props(ratio_median="1.900"), name="d")).regressed
    r = compare(SAMPLE, variant(tmp_path, "pt-reclaim-x86_64", "overhead:wallclock",
                                props(ratio_median="2.100"), name="e"))
    assert [(c.check, c.metric) for c in r.regressions] == [
        ("overhead:wallclock", "wallclock_ratio_median")]


def test_coverage_of_a_not_judged_workload_is_only_shown(tmp_path: Path) -> None:
    """malloc-churn's coverage is glibc's doing: a drop is shown, not judged."""
    def rename(c: dict[str, Any]) -> None:
        c["name"] = "workload:malloc-churn[always]"

    def rename_and_drop(c: dict[str, Any]) -> None:
        rename(c)
        c["properties"]["coverage"] = "0.500"
    a = variant(tmp_path, "pt-reclaim-x86_64", JUDGED, rename, name="a")
    b = variant(tmp_path, "pt-reclaim-x86_64", JUDGED, rename_and_drop, name="b")
    r = compare(a, b)
    assert not r.regressed
    [shown] = [c for c in r.changes
               if c.check == "workload:malloc-churn[always]" and c.metric == "coverage"]
    assert (shown.a, shown.b) == ("0.998", "0.5")


def test_ns_per_fault_from_the_workload_records(tmp_path: Path) -> None:
    """fault-loop run as a workload prints its cost only in its records."""
    b = tmp_path / "b"
    shutil.copytree(FAULT_LOOP, b)
    f = b / "pt-reclaim-x86_64" / "samples-fault-loop-always.json"
    raw = json.loads(f.read_text())
    assert raw["records"][-1]["ns_per_fault"] == 53534
    raw["records"][-1]["ns_per_fault"] = 60000       # +12%
    f.write_text(json.dumps(raw))
    assert not compare(FAULT_LOOP, FAULT_LOOP).regressed
    r = compare(FAULT_LOOP, b)
    assert [(c.check, c.metric) for c in r.regressions] == [
        ("workload:fault-loop[always]", "ns_per_fault")]


def test_renamed_series_is_matched_by_arch(tmp_path: Path) -> None:
    b = tmp_path / "b"
    shutil.copytree(SAMPLE, b)
    for arch in ("x86_64", "arm64"):
        old = b / f"pt-reclaim-{arch}"
        raw = json.loads((old / "result.json").read_text())
        raw["kernel"] = "pt-reclaim-v2"
        (old / "result.json").write_text(json.dumps(raw))
        old.rename(b / f"pt-reclaim-v2-{arch}")
    r = compare(SAMPLE, b)
    assert not r.regressed and not r.notes
    assert "pt-reclaim/x86_64 -> pt-reclaim-v2/x86_64" in {c.suite for c in r.changes}


def test_thresholds_are_data() -> None:
    th = load_thresholds()
    by_name = {m.name: m for m in th.metrics}
    assert by_name["coverage"].max_change == 0.02 and not by_name["coverage"].relative
    assert by_name["run_ms"].max_change == 1.5 and by_name["run_ms"].relative
    assert "workload:malloc-churn" in by_name["coverage"].not_judged
    assert by_name["boot_to_ssh_s"].max_change == 0.50
    assert by_name["tables_left"].max_change is None
    assert th.passed_to_failed
    assert THRESHOLDS.read_text().startswith("#")


def test_looser_thresholds_file(tmp_path: Path) -> None:
    b = variant(tmp_path, "pt-reclaim-x86_64", JUDGED, props(coverage="0.950"))
    loose = tmp_path / "loose.toml"
    loose.write_text('[metric.coverage]\nchecks = "workload:"\nworse = "lower"\n'
                     "max_change = 0.10\n")
    assert not compare(SAMPLE, b, loose).regressed
    bad = tmp_path / "bad.toml"
    bad.write_text('[metric.coverage]\nworse = "sideways"\n')
    with pytest.raises(BadInput):
        compare(SAMPLE, b, bad)
