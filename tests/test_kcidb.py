"""kcidb.json against the schema kcidb-io ships (its newest version), on
the saved runs and on a merged fan-out of them; and the figures the harness
records for it (check start times, the build's compiler, the sources)."""

import datetime as dt
import json
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kcidb_io
import pytest
from gitrepo import git
from test_series_apply import make_patch

from harness.cache import file_digest
from harness.cli import main
from harness.commands.plan import merge
from harness.commands.run import DEFAULT_SERIES, source_record
from harness.errors import BadInput
from harness.kernel.kconfig import compiler_text
from harness.kernel.series import load_series
from harness.kernel.source import BASE_BRANCH, KernelTree
from harness.report.kcidb import (
    KcidbSettings,
    figure,
    kcidb_path,
    patchset_hash,
    source_of,
    to_kcidb,
)
from harness.report.render import render_all
from harness.report.run_data import RunData, load_run
from harness.results import PASSED, SKIPPED, Check, RunDir, Suite, load_suites
from harness.suite.runner import _CheckTimer, save

GOLDEN = Path(__file__).parent / "golden"
# Every saved run directory: each must give a valid document.
RUNS = sorted(p.parent for p in GOLDEN.glob("*/run.json"))
REAL = GOLDEN / "run-x86_64-patched"      # a real run, trimmed (its README says which)
SAMPLE = GOLDEN / "run-sample"            # two real runs merged (its SOURCE.txt)
FAULTS = GOLDEN / "run-faults"            # the fault catalog's timeout and panic, real
SCHEMA = kcidb_io.schema.LATEST
LISTS = ("checkouts", "builds", "tests")


def validate(doc: dict[str, Any]) -> None:
    """Valid as the version it declares and as the newest kcidb-io knows."""
    SCHEMA.validate(doc)
    SCHEMA.validate_exactly(SCHEMA.upgrade(doc))


def ids(doc: dict[str, Any], kind: str) -> list[str]:
    return [str(o["id"]) for o in doc.get(kind, [])]


def assert_linked(doc: dict[str, Any]) -> None:
    """No ID twice, and every build and test names a parent in the document."""
    for kind in LISTS:
        assert len(set(ids(doc, kind))) == len(ids(doc, kind)), kind
    assert {b["checkout_id"] for b in doc["builds"]} <= set(ids(doc, "checkouts"))
    assert {t["build_id"] for t in doc["tests"]} <= set(ids(doc, "builds"))


@pytest.mark.parametrize("run_dir", RUNS, ids=[p.name for p in RUNS])
def test_saved_run_is_valid_kcidb(run_dir: Path) -> None:
    run = load_run(run_dir)
    doc = to_kcidb(run)
    validate(doc)
    assert_linked(doc)
    assert len(doc["builds"]) == len(run.suites)
    checks = [c for s in run.suites for c in s.checks if c.name != "build"]
    assert len(doc["tests"]) == len(checks)


def by_path(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(t["build_id"].rsplit(":", 1)[1], t["path"]): t for t in doc["tests"]}


def test_sample_checks_map_to_tests_with_their_figures() -> None:
    doc = to_kcidb(load_run(SAMPLE))
    run_id = "20261202-003358-95ed"
    assert ids(doc, "checkouts") == [f"pt_harness:{run_id}:pt-reclaim"]
    build = next(b for b in doc["builds"] if b["id"].endswith(":pt-reclaim-arm64"))
    assert (build["architecture"], build["status"], build["duration"]) == (
        "arm64", "PASS", 1169.008)
    assert build["checkout_id"] == f"pt_harness:{run_id}:pt-reclaim"
    tests = by_path(doc)
    workload = tests[("pt-reclaim-arm64", "pt_reclaim.workload.rfc_50g_small.madvise")]
    assert workload["status"] == "PASS" and workload["misc"]["coverage"] == 0.998
    assert (workload["misc"]["populated_vmpte_kb"], workload["misc"]["final_vmpte_kb"]) == (
        102636, 236)
    failed = tests[("pt-reclaim-x86_64", "pt_reclaim.neighbour.tlb_churn")]
    assert failed["status"] == "FAIL"
    assert failed["comment"] == "dontneed_ops_per_s always/never = 0.715 (median), under 0.8"
    assert failed["misc"]["dontneed_ops_per_s_ratio_median"] == 0.715
    assert failed["misc"]["never_dontneed_ops_per_s"] == [2459, 112.8, 125.8, 387.4, 2669]
    overhead = tests[("pt-reclaim-x86_64", "pt_reclaim.overhead.scanner")]
    assert overhead["status"] == "FAIL" and overhead["misc"]["ratio_median"] == 1.006
    assert overhead["misc"]["never_ns_per_fault"] == [8650.4, 8648.6, 8648.6]
    assert "(tcg)" in overhead["environment"]["comment"]


def test_errors_and_a_splat_map_to_their_statuses() -> None:
    tests = by_path(to_kcidb(load_run(FAULTS)))
    assert {path: t["status"] for (_, path), t in tests.items()} == {
        "pt_reclaim.image": "PASS", "pt_reclaim.boot": "PASS",
        "pt_reclaim.workload.hang.never": "ERROR",
        "pt_reclaim.workload.healthy.never": "PASS",
        "pt_reclaim.workload.panic.never": "ERROR",
        "pt_reclaim.kselftest.pt_reclaim": "ERROR", "pt_reclaim.console": "FAIL"}
    splat = tests[("pt-reclaim-x86_64", "pt_reclaim.console")]
    assert splat["comment"] == "1 splat(s) in console, first: panic at line 260 of console.log"
    assert "Kernel panic - not syncing: sysrq triggered crash" in splat["log_excerpt"]
    assert "(tcg)" in splat["environment"]["comment"]


def split(run_dir: Path, tmp: Path) -> list[Path]:
    """A run cut into one run directory per suite, as CI cells leave them."""
    cells = []
    for suite in sorted(p.parent.name for p in run_dir.glob("*/result.json")):
        cell = tmp / f"cell-{suite}"
        cell.mkdir()
        shutil.copyfile(run_dir / "run.json", cell / "run.json")
        shutil.copytree(run_dir / suite, cell / suite)
        cells.append(cell)
    return cells


@pytest.mark.parametrize("run_dir", [SAMPLE, REAL], ids=[SAMPLE.name, REAL.name])
def test_merged_fanout_is_one_valid_document(run_dir: Path, tmp_path: Path) -> None:
    cells = split(run_dir, tmp_path)
    merged = merge(cells, tmp_path / "merged")
    assert "kcidb.json" in [p.name for p in render_all(merged)]
    doc = json.loads((merged / "kcidb.json").read_text())
    validate(doc)
    assert_linked(doc)
    whole = to_kcidb(load_run(run_dir))
    assert len(doc["builds"]) == len(cells) == len(whole["builds"])
    assert len(doc["tests"]) == len(whole["tests"])
    assert len(doc["checkouts"]) == len(whole["checkouts"])
    # One run now: every ID carries the merged run's id, none a cell's.
    assert all(i.startswith(f"pt_harness:{merged.name}:") for k in LISTS for i in ids(doc, k))


def test_origin_and_artifact_urls_from_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run-sample"
    shutil.copytree(SAMPLE, run)
    # In-process (a second interpreter costs seconds); main() takes over
    # SIGINT and SIGTERM, which pytest gets back after.
    handlers = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    try:
        status = main(["kcidb", str(run), "--origin", "lab_one",
                       "--artifacts-url", "https://lab.example/pt/",
                       "--git-url", "https://git.example/linux.git", "--tree-name", "mm"])
    finally:
        for n, h in handlers.items():
            signal.signal(n, h)
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out.strip() == str(run / "kcidb.json")
    doc = json.loads((run / "kcidb.json").read_text())
    validate(doc)
    assert all(i.startswith("lab_one:") for k in LISTS for i in ids(doc, k))
    assert {o["origin"] for k in LISTS for o in doc[k]} == {"lab_one"}
    build = next(b for b in doc["builds"] if b["id"].endswith(":pt-reclaim-x86_64"))
    assert build["log_url"] == \
        "https://lab.example/pt/20261202-003358-95ed/pt-reclaim-x86_64/build.log"
    assert "config_url" not in build          # the trimmed sample keeps no kernel.config
    test = next(t for t in doc["tests"] if t["path"] == "pt_reclaim.workload.sparse_huge.never"
                and t["build_id"].endswith(":pt-reclaim-arm64"))
    assert test["output_files"] == [{
        "name": "samples-sparse-huge-never.json",
        "url": "https://lab.example/pt/20261202-003358-95ed/pt-reclaim-arm64/"
               "samples-sparse-huge-never.json"}]
    assert {c["tree_name"] for c in doc["checkouts"]} == {"mm"}


def test_bad_settings_are_bad_input() -> None:
    run = load_run(SAMPLE)
    with pytest.raises(BadInput, match="lower-case letters"):
        to_kcidb(run, KcidbSettings(origin="My-Lab"))
    with pytest.raises(BadInput, match="https://"):
        KcidbSettings(git_url="git://example/linux.git").check()
    with pytest.raises(BadInput, match="absolute URL"):
        KcidbSettings(artifacts_url="results/").check()


def test_bad_origin_in_the_environment_keeps_the_other_reports(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run-sample"
    shutil.copytree(SAMPLE, run)
    monkeypatch.setenv("PT_HARNESS_KCIDB_ORIGIN", "no spaces")
    with pytest.raises(BadInput, match="no spaces"):
        render_all(run)
    assert all((run / n).exists() for n in ("junit.xml", "report.html", "summary.txt"))


def test_the_schema_check_is_not_vacuous() -> None:
    """What the validity tests rely on: formats and patterns are enforced."""
    doc = to_kcidb(load_run(SAMPLE))
    validate(doc)
    for kind, key, bad in (("tests", "start_time", "yesterday"), ("builds", "id", "no-origin"),
                           ("tests", "path", "pt_reclaim..x"), ("builds", "status", "passed")):
        broken = json.loads(json.dumps(doc))
        broken[kind][0][key] = bad
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


@pytest.mark.parametrize("name, path", [
    ("workload:dontneed-small[always]", "pt_reclaim.workload.dontneed_small.always"),
    ("workload:fork-cow[madvise-prctl]#2", "pt_reclaim.workload.fork_cow.madvise_prctl.2"),
    ("kselftest:pt_reclaim", "pt_reclaim.kselftest.pt_reclaim"),
    ("overhead:scanner", "pt_reclaim.overhead.scanner"),
    ("checkpatch:0001-mm-add-pt.patch", "pt_reclaim.checkpatch.0001_mm_add_pt.patch"),
    ("build:03-mm-scan/arm64", "pt_reclaim.build.03_mm_scan.arm64"),
    ("boot", "pt_reclaim.boot"),
])
def test_check_names_become_test_paths(name: str, path: str) -> None:
    assert kcidb_path(name) == path
    jsonschema.validate(path, SCHEMA.json["$defs"]["path"])


def test_figures_become_numbers_but_digests_stay_strings() -> None:
    assert figure("1.000") == 1.0 and figure("2048") == 2048
    assert figure("742 751 739") == [742, 751, 739]
    assert figure("True") is True and figure("tcg") == "tcg" and figure("") == ""
    assert figure("1" * 400 + ".5") == "1" * 400 + ".5"      # no inf in JSON
    doc = to_kcidb(RunData(Path("/nonexistent"), {"run_id": "r"}, [Suite(
        "base", "x86_64", checks=[Check("build", PASSED, properties={"build_key": "1234"})])]))
    assert doc["builds"][0]["misc"]["build_key"] == "1234"


def test_suites_find_their_source() -> None:
    names = ["base", "pt-reclaim", "pt-reclaim-v2"]
    assert source_of("pt-reclaim+debug", names) == "pt-reclaim"
    assert source_of("pt-reclaim-patches", names) == "pt-reclaim"
    assert source_of("pt-reclaim-v2+debug", names) == "pt-reclaim-v2"
    assert source_of("base", names) == "base"
    assert source_of("other+debug", names) == "other"


def test_patchset_hash_is_kcidbs_shell_recipe(tmp_path: Path) -> None:
    """The schema's own definition, run on the series this repository ships."""
    series = load_series(DEFAULT_SERIES)
    for p in series.patches:
        shutil.copyfile(p, tmp_path / p.name)
    r = subprocess.run("sha256sum *.patch | cut -c-64 | sha256sum | cut -c-64", shell=True,
                       cwd=tmp_path, capture_output=True, text=True, check=True)
    assert patchset_hash([file_digest(p) for p in series.patches]) == r.stdout.strip()
    assert patchset_hash([]) == ""


def test_checkout_names_base_commit_and_patchset(tree: KernelTree, tmp_path: Path) -> None:
    pdir = tmp_path / "demo"
    make_patch(tree, pdir, "int b;", "int b2;", "rename-b")
    make_patch(tree, pdir, "int c;", "int c2;", "rename-c")
    series = load_series(pdir)
    record = source_record(tree, series)
    base = git(tree.path, "rev-parse", BASE_BRANCH).strip()
    assert record["base_commit"] == base
    assert [p["name"] for p in record["patches"]] == [p.name for p in series.patches]
    run = RunData(tmp_path, {"run_id": "r1", "sources": {"demo": record}, "kernels": ["demo"]},
                  [Suite("demo+debug", "arm64", checks=[Check("apply", "error", message="no")])])
    doc = to_kcidb(run)
    validate(doc)
    (checkout,) = doc["checkouts"]
    assert checkout["git_commit_hash"] == base
    assert checkout["patchset_hash"] == patchset_hash([file_digest(p) for p in series.patches])
    assert checkout["valid"] is False            # the series did not apply
    assert "(2 patches)" in checkout["comment"]


def test_check_start_times_are_recorded(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    suite = Suite("base", "x86_64")
    before = dt.datetime.now(dt.UTC)
    _CheckTimer(suite, run, "boot").record(PASSED)
    save(suite, run, Check("workload:w[base]", PASSED, seconds=30.0))
    suite.add(Check("console", SKIPPED))
    run.save_suite(suite)
    boot, workload, skipped = load_suites(run.path)[0].checks
    assert before <= dt.datetime.fromisoformat(boot.started) <= dt.datetime.now(dt.UTC)
    # A check saved as it ends began its duration before.
    began = dt.datetime.fromisoformat(workload.started)
    assert before - dt.timedelta(seconds=31) < began < before - dt.timedelta(seconds=29)
    assert skipped.started == ""
    doc = to_kcidb(RunData(run.path, {"run_id": run.run_id}, load_suites(run.path)))
    validate(doc)
    assert [t.get("start_time") for t in doc["tests"]] == [boot.started, workload.started, None]


def test_results_saved_before_start_times_still_load() -> None:
    old = GOLDEN / "run-before-start-times"     # a real run of the day before they were
    raw = json.loads((old / "pt-reclaim-x86_64" / "result.json").read_text())
    assert all("started" not in c for c in raw["checks"])
    (suite,) = load_suites(old)
    assert len(suite.checks) == 33 and all(c.started == "" for c in suite.checks)


def test_compiler_is_what_the_kernel_recorded(tmp_path: Path) -> None:
    suite = REAL / "pt-reclaim-x86_64"
    assert compiler_text(suite / "kernel.config") == "gcc (Debian 12.2.0-14+deb12u1) 12.2.0"
    assert compiler_text(tmp_path / "missing") == ""


def test_real_run_gives_what_kcidb_wants() -> None:
    """The run that recorded start times, compiler and sources (see its
    README): each lands where KCIDB has a field for it."""
    meta = json.loads((REAL / "run.json").read_text())
    recorded = meta["sources"]["pt-reclaim"]
    doc = to_kcidb(load_run(REAL), KcidbSettings(artifacts_url="https://lab.example/r"))
    validate(doc)
    (checkout,) = doc["checkouts"]
    assert checkout["git_commit_hash"] == recorded["base_commit"]
    assert checkout["patchset_hash"] == patchset_hash([p["sha256"] for p in recorded["patches"]])
    assert checkout["start_time"] == meta["started"]
    (build,) = doc["builds"]
    assert build["compiler"] == compiler_text(REAL / "pt-reclaim-x86_64" / "kernel.config")
    assert build["config_name"] == "tinyconfig+base+x86_64+pt-reclaim"
    assert build["config_url"].endswith("/20261201-214213-3f9b/pt-reclaim-x86_64/kernel.config")
    assert build["duration"] > 60 and build["status"] == "PASS"
    assert build["log_excerpt"].endswith("linux-source-7.3_7.3.4-1~bpo13+1/linux'")
    assert all("start_time" in t for t in doc["tests"])
    starts = [dt.datetime.fromisoformat(t["start_time"]) for t in doc["tests"]
              if t["path"].startswith("pt_reclaim.workload.")]
    assert starts == sorted(starts) and len(starts) == 8       # in the order they ran
    skipped = next(t for t in doc["tests"] if t["status"] == "SKIP")
    assert skipped["path"] == "pt_reclaim.kselftest.global.swap_entry_kept"
