from pathlib import Path

from harness.suite.ktap import FAIL, PASS, SKIP, parse


def test_golden_selftest_output(golden: Path) -> None:
    """The series' selftest as a real arm64 guest printed it: passes, two
    skips and one failure (tests/golden/README.md says which run)."""
    r = parse((golden / "pt_reclaim.ktap").read_text())
    assert r.planned == 31 and r.complete
    assert [(c.number, c.name, c.status) for c in r.cases[:2]] == [
        (1, "global.sparse_small_dontneed", PASS),
        (2, "global.live_page_kept", PASS),
    ]
    assert [(c.number, c.name, c.status) for c in r.cases if c.status != PASS] == [
        (9, "global.swap_entry_kept", SKIP),
        (13, "global.pfnmap_einval", SKIP),
        (31, "scanner.cursor_wrap", FAIL),
    ]
    assert "Starting 31 tests from 3 test cases." in r.cases[0].diagnostics
    assert any("VmPTE kB: start 40, populated 2088" in d for d in r.cases[0].diagnostics)
    assert "Expected 0 (0) <= waited_low (-1)" in " ".join(r.cases[30].diagnostics)
    assert r.cases[8].directive == "SKIP no swap"
    assert r.trailing[-1] == "Totals: pass:28 fail:1 xfail:0 xpass:0 skip:2 error:0"
    assert r.totals == {"pass": 28, "fail": 1, "xfail": 0, "xpass": 0, "skip": 2, "error": 0}


def test_crash_mid_run_is_incomplete() -> None:
    r = parse("TAP version 13\n1..3\nok 1 a\n# RUN b\n")
    assert not r.complete and len(r.cases) == 1


def test_no_output() -> None:
    r = parse("")
    assert r.planned is None and not r.cases and not r.complete
