from pathlib import Path

from harness.ktap import FAIL, PASS, SKIP, parse


def test_golden_selftest_output(golden: Path) -> None:
    r = parse((golden / "pt_reclaim.ktap").read_text())
    assert r.planned == 4 and r.complete
    assert [(c.number, c.name, c.status) for c in r.cases] == [
        (1, "global.small_dontneed_reclaimed", PASS),
        (2, "global.live_page_kept", PASS),
        (3, "global.hugetlb_einval", SKIP),
        (4, "global.uffd_wp_marker_kept", FAIL),
    ]
    assert any("VmPTE before 44 kB" in d for d in r.cases[0].diagnostics)
    assert "Expected vmpte_after" in " ".join(r.cases[3].diagnostics)
    assert r.cases[2].directive == "SKIP no hugetlb pages"
    assert r.trailing[-1].startswith("Totals:")


def test_crash_mid_run_is_incomplete() -> None:
    r = parse("TAP version 13\n1..3\nok 1 a\n# RUN b\n")
    assert not r.complete and len(r.cases) == 1


def test_no_output() -> None:
    r = parse("")
    assert r.planned is None and not r.cases and not r.complete
