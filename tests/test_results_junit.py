import datetime as dt
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from harness.cache import key_of
from harness.errors import HOST
from harness.report.junit import write_junit
from harness.results import (
    ERROR,
    FAILED,
    PASSED,
    SKIPPED,
    Check,
    RunDir,
    Suite,
    load_suites,
    new_run_id,
)


def sample_suites() -> list[Suite]:
    a = Suite("base", "x86_64", "7.3.4")
    a.add(Check("build", PASSED, 12.5))
    a.add(Check("workload:dontneed-small", PASSED, 3.0,
                properties={"tables_populated": "2048", "coverage": "0.000"}))
    b = Suite("pt-reclaim", "arm64", "7.3.4")
    b.add(Check("image", ERROR, 2.0, "apt-get download: Temporary failure resolving",
                cause=HOST))
    b.add(Check("boot", ERROR, 120.0, "no SSH within 120s", "console tail"))
    b.add(Check("workload:dontneed-small", SKIPPED, message="guest did not boot"))
    b.add(Check("console", FAILED, 0.1, "1 splat(s)", "Kernel panic - not syncing"))
    return [a, b]


def test_junit_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(sample_suites(), path)
    xml = JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert [s.name for s in suites] == ["base/x86_64", "pt-reclaim/arm64"]
    assert suites[0].tests == 2 and suites[0].failures == 0
    cases = {c.name: c for c in suites[1]}
    # The host could not do its job: an error; the kernel did not boot: a
    # failure of the code under test, typed "error" (it did not finish).
    assert isinstance(cases["image"].result[0], Error)
    assert cases["image"].result[0].type == "host"
    assert isinstance(cases["boot"].result[0], Failure)
    assert cases["boot"].result[0].type == "error"
    assert cases["boot"].result[0].message == "no SSH within 120s"
    assert suites[1].errors == 1 and suites[1].failures == 2
    assert isinstance(cases["console"].result[0], Failure)
    assert "Kernel panic" in cases["console"].result[0].text
    assert isinstance(cases["workload:dontneed-small"].result[0], Skipped)
    props = {p.name: p.value for p in suites[0].properties()}
    assert props["arch"] == "x86_64"
    case = next(c for c in suites[0] if c.name == "workload:dontneed-small")
    xml_text = path.read_text()
    assert 'name="tables_populated" value="2048"' in xml_text
    assert case.time == 3.0


def test_junit_takes_control_characters(tmp_path: Path) -> None:
    """What khugepaged printed in run 20261201-213026-212a (a colour code
    in a failed case's message) once broke the whole JUnit file."""
    s = Suite("pt-reclaim", "x86_64", "7.3.4")
    s.add(Check("peer:mm/khugepaged", FAILED, 1.0,
                "Swapout 64 of 512 pages... \x1b[31mFail\x1b[0m", "a\x00b\tc",
                properties={"always_only": "\x1b[31mFail\x1b[0m"}))
    path = tmp_path / "junit.xml"
    write_junit([s], path)
    case = next(iter(next(iter(JUnitXml.fromfile(str(path))))))
    assert case.result[0].message == "Swapout 64 of 512 pages... [31mFail[0m"
    assert case.result[0].text == "ab\tc"


def test_suite_saved_and_loaded(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    for s in sample_suites():
        run.save_suite(s)
    loaded = load_suites(run.path)
    assert [s.name for s in loaded] == ["base/x86_64", "pt-reclaim/arm64"]
    assert loaded[1].checks[1].message == "no SSH within 120s"
    assert loaded[1].checks[0].cause == HOST
    assert loaded[0].ok and not loaded[1].ok


def test_run_ids_sortable_by_time() -> None:
    early = new_run_id(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    late = new_run_id(dt.datetime(2026, 1, 2, 3, 4, 6, tzinfo=dt.UTC))
    assert early.startswith("20260102-030405-") and early < late


def test_run_id_collision_draws_again(tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import secrets
    draws = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(draws))
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    monkeypatch.setattr("harness.results.new_run_id", lambda: new_run_id(now))
    first, second = RunDir(tmp_path), RunDir(tmp_path)
    assert first.run_id.endswith("-aaaa") and second.run_id.endswith("-bbbb")


def test_cache_keys_stable_and_order_sensitive() -> None:
    assert key_of(["a", "b"]) == key_of(["a", "b"])
    assert key_of(["a", "b"]) != key_of(["b", "a"])
    assert key_of(["ab"]) != key_of(["a", "b"])


def test_run_dir_refuses_reuse(tmp_path: Path) -> None:
    RunDir(tmp_path, "same")
    with pytest.raises(FileExistsError):
        RunDir(tmp_path, "same")
