"""The nightly's per-patch walk names the patch and the arch that broke,
in junit.xml, summary.txt and report.html, and again when `pt-harness
report` rebuilds them from the run directory.

All but the kernel is real: the mbox is git format-patch's, applied with
git am; the tree (tests/gitrepo.py) is configured, built and W=1'd by the
harness's own kconfig, kbuild and w1 code running make with each arch's
compiler, so patch 3's arm64 break is aarch64 gcc's error. The matrix at
the tip (QEMU boots) is left out: it is not the walk's business."""

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import commit_edits, git, mbox_breaking_arm64
from junitparser import Failure, JUnitXml

from harness.arches import ARM64, X86_64
from harness.commands import nightly
from harness.commands import run as run_command
from harness.commands.run import RunOptions, begin
from harness.errors import EXIT_CHECKS_FAILED
from harness.kernel.series import load_series
from harness.kernel.source import BASE_BRANCH, KernelTree
from harness.report.summary_text import MAX_COLUMNS
from harness.results import load_suites

REPO = Path(__file__).resolve().parent.parent
LABELS = ["01-mm-rename-a", "02-mm-rename-b", "03-mm-add-an-arm64-only-counter",
          "04-mm-initialise-the-arm64-counter"]
BROKEN = "build:03-mm-add-an-arm64-only-counter/arm64"
REPORTS = ("junit.xml", "summary.txt", "report.html")


@pytest.fixture
def night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The run directory of `nightly --series v1.mbox` on both arches."""
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path / "cache"))
    tree, mbox = mbox_breaking_arm64(tmp_path)
    monkeypatch.setattr(nightly, "run_matrix", lambda *args: None)
    monkeypatch.setattr(run_command, "screenshot", lambda run_dir: None)    # Chromium: seconds
    opts = RunOptions(arches=(X86_64, ARM64), workloads=(), kernel_src=tree.path,
                      series=mbox, results=tmp_path / "results")
    assert nightly.nightly(opts, with_debug=False) == EXIT_CHECKS_FAILED
    (run,) = [p for p in (tmp_path / "results").iterdir() if p.is_dir()]
    return run


def assert_reports_name_the_break(run: Path) -> None:
    suites = {s.name: s for s in JUnitXml.fromfile(str(run / "junit.xml"))}
    cases = {c.name: c for c in suites["v1-patches/all"]}
    arches = ("x86_64", "arm64")
    assert set(cases) == {"apply", *(f"checkpatch:{p}" for p in LABELS),
                          *(f"build:{p}/{a}" for p in LABELS for a in arches),
                          *(f"w1:{p}/{a}" for p in LABELS for a in arches)} - {
                              "w1:03-mm-add-an-arm64-only-counter/arm64"}  # did not build
    assert [name for name, c in cases.items() if c.result] == [BROKEN]
    (failure,) = cases[BROKEN].result
    assert isinstance(failure, Failure)
    assert failure.message == "patch 3 breaks the arm64 build"
    assert "error: \u2018arm64_undeclared\u2019 undeclared" in (failure.text or "")

    text = (run / "summary.txt").read_text()
    assert text.isascii() and all(len(ln) <= MAX_COLUMNS for ln in text.splitlines())
    assert text.startswith(f"pt-harness run {run.name}: FAIL (")
    assert re.search(r"^patch +checkpatch +x86_64 +arm64$", text, re.M)
    assert re.search(r"^01-mm-rename-a +ok +ok/ok +ok/ok$", text, re.M)
    assert re.search(r"^03-mm-add-an-arm64-only-counter +ok +ok/ok +FAIL/-$", text, re.M)
    assert re.search(r"^04-mm-initialise-the-arm64-counter +ok +ok/ok +ok/ok$", text, re.M)
    failed = text[text.index("\nFailed:\n"):]
    assert f"v1-patches/all {BROKEN} (failed)" in failed

    html = (run / "report.html").read_text()
    anchor = "check-build-03-mm-add-an-arm64-only-counter-arm64"
    assert (f'<td class="fail" title="patch 3 breaks the arm64 build"><a href="#{anchor}">'
            f'FAIL</a></td>') in html
    excerpt = html[html.index(f'<div class="failure" id="{anchor}">'):]
    excerpt = excerpt[:excerpt.index("</div>")]
    assert "03-mm-add-an-arm64-only-counter on arm64: build" in excerpt
    assert "arm64_undeclared" in excerpt
    assert '<a href="v1-patches-all/build-arm64.log">' in excerpt
    assert html.count('<td class="fail"') == 1 and f'href="#{anchor}">log excerpt' in html
    log = (run / "v1-patches-all" / "build-arm64.log").read_text()
    assert f"### {BROKEN} at " in log and "arm64_undeclared" in log


def test_nightly_names_the_patch_and_arch_that_broke(night: Path) -> None:
    assert_reports_name_the_break(night)
    # History counts the walk's failure; the suites a run is compared by
    # are the matrix's alone (none ran here).
    db = sqlite3.connect(night.parent / "history.sqlite")
    assert db.execute("SELECT good, bad, suites FROM runs").fetchall() == [(0, 1, "")]


def test_report_rebuilds_the_same_reports_from_the_run_directory(night: Path) -> None:
    before = {name: (night / name).read_bytes() for name in REPORTS}
    for name in REPORTS:
        (night / name).unlink()
    r = subprocess.run([sys.executable, "-m", "harness.cli", "report", str(night)], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert {name: (night / name).read_bytes() for name in REPORTS} == before
    assert_reports_name_the_break(night)


def test_base_moved_is_said_plainly(tree: KernelTree, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A series made against an older base: the nightly names the patch and
    the file that no longer apply, and still writes its report."""
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path / "cache"))
    pdir = tmp_path / "series"
    commit_edits(tree, "old-base", [("int b;", "int old;", "the base as it was"),
                                    ("int old;", "int old2;", "mm: change old")])
    git(tree.path, "format-patch", "-q", "-1", "-o", str(pdir))
    git(tree.path, "checkout", "-q", BASE_BRANCH)
    (pdir / "series").write_text("".join(p.name + "\n" for p in sorted(pdir.glob("*.patch"))))
    series = load_series(pdir)
    opts = RunOptions(arches=(X86_64,), workloads=(), results=tmp_path / "results")
    state = begin(opts, [series])
    assert not nightly.per_patch(state, opts, tree, series)
    (suite,) = load_suites(state.rundir.path)
    (apply_check,) = suite.checks
    assert apply_check.message.startswith("the series no longer applies to test: ")
    assert "patch 1/1 0001-mm-change-old.patch does not apply" in apply_check.message
    assert "mm/memory.c" in apply_check.detail
    assert "apply" in (state.rundir.path / "junit.xml").read_text()
