"""The peer suite's parser and verdict on real mm selftest output
(tests/golden/peer/README.md says which run each file came from)."""

import re
from pathlib import Path

from harness.results import ERROR, FAILED, PASSED, SKIPPED
from harness.suite.ktap import parse
from harness.suite.peer_verdict import FAIL, OK, SKIP, ModeRun, judge_program, outcomes, whole

GOLDEN = Path(__file__).resolve().parent / "golden" / "peer"


def capture(name: str, mode: str) -> ModeRun:
    """A saved run: the command and `# exit N, S s` on its first two lines,
    as run_program writes them, then the program's output."""
    head, status, output = (GOLDEN / name).read_text().split("\n", 2)
    m = re.fullmatch(r"# exit (-?\d+)( \(timed out\))?, ([\d.]+)s", status)
    assert head.startswith("# /tmp/peer-mm/") and m, name
    return ModeRun(mode, int(m[1]), output, float(m[3]), timed_out=bool(m[2]), timeout=300)


def test_ktap_extensions_on_real_output() -> None:
    mk = parse((GOLDEN / "mkdirty-never.log").read_text())
    assert mk.planned == 6 and mk.complete
    assert mk.bail_out == "2 out of 6 tests failed"
    assert mk.totals == {"pass": 2, "fail": 2, "xfail": 0, "xpass": 0, "skip": 2, "error": 0}
    pf = parse((GOLDEN / "pfnmap-always.log").read_text())
    assert (pf.planned, pf.cases, pf.complete) == (0, [], True)
    assert pf.plan_directive == "SKIP Cannot open '/dev/mem': No such file or directory"


def test_outcomes_count_cases_and_sum_up_a_bail_out_once() -> None:
    mk = outcomes(capture("mkdirty-never.log", "never"))
    assert (mk.count(OK), mk.count(FAIL), mk.count(SKIP)) == (2, 2, 2)
    # The two failures are the same line; the [INFO] before each says which.
    assert [(c.key, c.message) for c in mk.cases if c.status == FAIL] == [
        ("write() failed", "[INFO] PTRACE write access"),
        ("write() failed #2", "[INFO] PTRACE write access to THP")]
    remap = outcomes(capture("mremap_test-1g-always.log", "always"))
    failed = remap.failed()
    assert len(failed) == 4 and all(k.startswith("2GB mremap") for k in failed)
    assert "Cannot allocate memory" in failed[next(iter(failed))].message
    # XFAIL cases (expected mremap failures) count as ok.
    assert remap.count(OK) == 22 and remap.count(SKIP) == 0


def test_whole_program_skip() -> None:
    o = outcomes(capture("pfnmap-always.log", "always"))
    assert [(c.key, c.status) for c in o.cases] == [("(program)", SKIP)]
    c = judge_program("pfnmap", capture("pfnmap-always.log", "never"),
                      capture("pfnmap-always.log", "always"))
    assert c.status == SKIPPED and "/dev/mem" in c.message


def test_fails_only_under_always_is_the_series() -> None:
    """Real runs paired: never from a 3 GiB guest where the 2GB cases
    pass, always from a 1 GiB guest where they fail."""
    c = judge_program("mremap_test", capture("mremap_test-3g-never.log", "never"),
                      capture("mremap_test-1g-always.log", "always"))
    assert c.status == FAILED
    assert c.message.startswith("failed only under always: 2GB mremap - Source PUD-aligned")
    p = c.properties
    assert (p["never_ok"], p["never_fail"], p["always_ok"], p["always_fail"]) == \
        ("26", "0", "22", "4")
    assert p["always_only_cases"] == "4" and p["environment_cases"] == "0"
    assert p["never_exit"] == "0" and p["always_exit"] == "1"


def test_fails_in_both_modes_is_the_environment() -> None:
    c = judge_program("mkdirty", capture("mkdirty-never.log", "never"),
                      capture("mkdirty-always.log", "always"))
    assert c.status == PASSED
    assert c.message.startswith("failed in both modes (environment): write() failed: "
                                "[INFO] PTRACE write access")
    assert c.properties["environment_cases"] == "2"
    assert c.properties["always_only_cases"] == "0"


def test_fails_only_under_never_is_flaky_not_the_series() -> None:
    c = judge_program("mremap_test", capture("mremap_test-1g-always.log", "never"),
                      capture("mremap_test-3g-never.log", "always"))
    assert c.status == PASSED and "only under never (flaky)" in c.message
    assert c.properties["never_only_cases"] == "4"


def test_a_run_that_could_not_happen_is_an_error() -> None:
    c = judge_program("mkdirty", capture("mkdirty-never.log", "never"),
                      ModeRun("always", -1, "", 0.0, error="the guest died"))
    assert c.status == ERROR and "always: the guest died" in c.message


def test_whole_adds_up_and_names_the_always_only_programs() -> None:
    series = judge_program("mremap_test", capture("mremap_test-3g-never.log", "never"),
                           capture("mremap_test-1g-always.log", "always"))
    env = judge_program("mkdirty", capture("mkdirty-never.log", "never"),
                        capture("mkdirty-always.log", "always"))
    skip = judge_program("gup_test", capture("gup_test-never.log", "never"),
                         capture("gup_test-never.log", "always"))
    assert skip.status == SKIPPED
    w = whole([series, env, skip], {"peer_size": "full"})
    assert w.status == FAILED and w.message.startswith("failed only under always: mremap_test;")
    p = w.properties
    assert (p["never_ok"], p["never_fail"], p["never_skip"]) == ("28", "2", "3")
    assert (p["always_ok"], p["always_fail"], p["always_skip"]) == ("24", "6", "3")
    assert (p["always_only_cases"], p["environment_cases"]) == ("4", "2")
    assert p["programs"] == "3" and p["peer_size"] == "full"
    assert whole([env, skip], {}).status == PASSED


def test_khugepaged_failed_only_under_always_for_real() -> None:
    """The x86_64 full run 20261201-213026-212a: collapse_max_ptes_swap
    (khugepaged context) could not swap out 64 pages under always."""
    c = judge_program("khugepaged", capture("khugepaged-never.log", "never"),
                      capture("khugepaged-always.log", "always"))
    assert c.status == FAILED
    assert c.message.startswith("failed only under always: collapse_max_ptes_swap: ")
    assert "Swapout 64 of 512 pages... Fail" in c.message and "\x1b" not in c.message
    p = c.properties
    assert (p["never_ok"], p["never_fail"], p["always_ok"], p["always_fail"]) == \
        ("26", "0", "25", "1")
    # The same name twice (khugepaged and madvise contexts): told apart.
    keys = [k.key for k in outcomes(capture("khugepaged-always.log", "always")).cases]
    assert "collapse_max_ptes_swap" in keys and "collapse_max_ptes_swap #2" in keys


def test_skip_after_a_plan_skips_the_rest() -> None:
    """ksm_functional_tests without CONFIG_KSM: ksft_exit_skip after 1..10."""
    o = outcomes(capture("ksm_functional_tests-never.log", "never"))
    assert [(c.key, c.status) for c in o.cases] == [("test 1", SKIP), ("(rest)", SKIP)]
    assert o.cases[1].message == "skipped after 1 of 10 results"
    assert o.failed() == {}


def test_a_rerun_failing_under_never_makes_it_flaky_not_the_series() -> None:
    """khugepaged five times in one boot: a child's `Bail out! Unexpected
    huge page` (collapse_max_ptes_shared) under always in run 2, under
    never in run 5."""
    first = (capture("repro-khugepaged-2-never.log", "never"),
             capture("repro-khugepaged-2-always.log", "always"))
    alone = judge_program("khugepaged", *first)
    assert alone.status == FAILED and "(bail out): Unexpected huge page" in alone.message
    rerun = (capture("repro-khugepaged-5-never.log", "never"),
             capture("repro-khugepaged-5-always.log", "always"))
    c = judge_program("khugepaged", *first, reruns=[rerun])
    assert c.status == PASSED
    assert c.message.startswith("failed in both modes (environment): (bail out)")
    assert (c.properties["runs"], c.properties["always_failed_runs"],
            c.properties["never_failed_runs"]) == ("2", "1", "1")
    # Figures stay the first pair's.
    assert c.properties["always_fail"] == alone.properties["always_fail"]
    again = judge_program("khugepaged", *first, reruns=[first])
    assert again.status == FAILED
    assert "(runs failing: always 2 of 2, never 0)" in again.message


def test_bail_out_before_any_plan_says_why() -> None:
    """thuge-gen without SysV IPC: TAP header, then Bail out! and no plan."""
    o = outcomes(capture("thuge-gen-never.log", "never"))
    assert [(c.key, c.status, c.message) for c in o.cases] == [
        ("(bail out)", FAIL, "read_file(): No such file or directory (2)")]
