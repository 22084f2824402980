"""Every report format rebuilt from saved real runs: tests/golden/run-sample
(both arches, real failures) and tests/golden/run-faults (a timed-out
workload and a guest panic); tests/golden/README.md says which runs."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from junit2htmlreport import parser
from junitparser import JUnitXml

from harness.report.render import render_all, screenshot
from harness.report.run_data import load_run
from harness.report.summary_text import MAX_COLUMNS, fit

GOLDEN = Path(__file__).parent / "golden"
SAMPLE = GOLDEN / "run-sample"
FAULTS = GOLDEN / "run-faults"
SUMMARY_GOLDEN = GOLDEN / "run-sample.summary.txt"


def sample_copy(tmp_path: Path, source: Path = SAMPLE) -> Path:
    run = tmp_path / source.name
    shutil.copytree(source, run)
    return run


def make_all_pass(run: Path) -> None:
    for f in run.glob("*/result.json"):
        raw = json.loads(f.read_text())
        for c in raw["checks"]:
            c["status"], c["message"], c["detail"] = "passed", "", ""
        f.write_text(json.dumps(raw))


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    run = sample_copy(tmp_path)
    paths = render_all(run)
    assert [p.name for p in paths] == ["junit.xml", "report.html", "summary.txt",
                                     "kcidb.json"]
    assert all(p.exists() for p in paths)
    return run


def test_sample_loads() -> None:
    run = load_run(SAMPLE)
    assert len(run.suites) == 2 and run.verdict == "FAIL"
    traced = [w for w in run.workloads if w.samples]
    # race-refill in 4 modes, rfc-50g-small in 4, sparse-huge in 3; per arch.
    assert len(traced) == 2 * (4 + 4 + 3) and all(len(w.samples) >= 3 for w in traced)


def test_junit_has_one_suite_per_kernel_and_arch(rendered: Path) -> None:
    suites = list(JUnitXml.fromfile(str(rendered / "junit.xml")))
    assert [s.name for s in suites] == ["pt-reclaim/arm64", "pt-reclaim/x86_64"]
    assert [(s.tests, s.failures, s.errors, s.skipped) for s in suites] == [
        (53, 2, 0, 2), (53, 3, 0, 1)]


def test_junit_tells_errors_from_failures(tmp_path: Path) -> None:
    """The fault run: the timed-out and the killed workload, the kselftest
    that could not run and the panic are all the code under test's (its
    checks carry no cause, which reads as errors.TEST): JUnit failures, the
    three that could not finish typed "error", the panic "failed"; none is
    a JUnit error (the harness's or the host's)."""
    run = sample_copy(tmp_path, FAULTS)
    render_all(run)
    (suite,) = list(JUnitXml.fromfile(str(run / "junit.xml")))
    assert (suite.name, suite.tests, suite.failures, suite.errors) == (
        "pt-reclaim/x86_64", 8, 4, 0)
    types = {tc.name: tc.result[0].type for tc in suite if tc.result}
    assert types == {"workload:hang[never]": "error", "workload:panic[never]": "error",
                     "kselftest:pt_reclaim": "error", "console": "failed"}


def test_junit_loads_in_junit2html(rendered: Path) -> None:
    out = rendered / "junit.html"
    cli = [sys.executable, "-m", "junit2htmlreport"]
    r = subprocess.run([*cli, str(rendered / "junit.xml"), str(out)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    for suite in ("pt-reclaim/arm64", "pt-reclaim/x86_64"):
        assert suite in html
    assert "workload:race-refill[madvise-prctl]" in html
    # Its parser read our verdicts, not just our names.
    report = parser.Junit(str(rendered / "junit.xml"))
    assert {s.name: len(s.failed()) for s in report.suites} == {
        "pt-reclaim/arm64": 2, "pt-reclaim/x86_64": 3}


def test_summary_matches_golden(rendered: Path) -> None:
    text = (rendered / "summary.txt").read_text()
    if os.environ.get("PT_HARNESS_UPDATE_GOLDEN") == "1":
        SUMMARY_GOLDEN.write_text(text)
    assert text == SUMMARY_GOLDEN.read_text(), \
        "summary.txt changed; PT_HARNESS_UPDATE_GOLDEN=1 rewrites the golden file"


def test_summary_fits_a_cover_letter(rendered: Path) -> None:
    text = (rendered / "summary.txt").read_text()
    assert text.isascii()
    for line in text.splitlines():
        assert len(line) <= MAX_COLUMNS, line
        assert line == line.rstrip()
    assert "7.3.4" in text and "Arches:  arm64, x86_64" in text and "QEMU" in text
    assert "Series:  pt-reclaim (13 patches)" in text
    assert re.search(r"race-refill\s+always\s+x86_64\s+134 -> 6\s+95.5%", text)
    assert re.search(r"rfc-50g-small\s+madvise\s+arm64\s+102636 -> 236\s+3.1 s", text)
    # Each benchmark with its clock and pace.
    assert ("pt-reclaim/x86_64, wall, aggressive pace:\n"
            "    32572 -> 41345 ns, 1.1323x (1.0112..1.2693, N=7)") in text
    assert ("pt-reclaim/arm64, icount, default pace:\n"
            "    5320 -> 5364 ns, 1.0084x (1.0083..1.0085, N=3)") in text
    assert "Failed:" in text and "pt-reclaim/x86_64 overhead:scanner (failed)" in text


def test_summary_of_errors_and_a_panic(tmp_path: Path) -> None:
    run = sample_copy(tmp_path, FAULTS)
    render_all(run)
    text = (run / "summary.txt").read_text()
    assert text.startswith("pt-harness run 20261202-003230-9c4a: FAIL "
                           "(4 passed, 1 failed, 3 error)")
    assert re.search(r"^hang +never +x86_64 +error$", text, re.M)
    assert re.search(r"^healthy +never +x86_64 +32 -> 32 +0% ", text, re.M)
    assert "workload:hang[never] (error): hang timed out after 5s" in text
    assert "kselftest:pt_reclaim (error): guest is gone" in text
    assert "console (failed): 1 splat(s) in console, first: panic\n    at line 260" in text


def test_summary_without_failures(tmp_path: Path) -> None:
    run = sample_copy(tmp_path)
    make_all_pass(run)
    render_all(run)
    text = (run / "summary.txt").read_text()
    assert text.startswith("pt-harness run 20261202-003358-95ed: PASS (106 passed)\n")
    assert "Nothing failed." in text and "Failed:" not in text


def test_fit_wraps_and_spells_out_unicode() -> None:
    text = fit("  caf\u00e9 \u2192 " + "x" * 200 + " \u00bd")
    assert text.isascii() and "cafe ->" in text
    assert all(len(ln) <= MAX_COLUMNS for ln in text.splitlines())
    assert all(ln.startswith("  ") for ln in text.splitlines())


def test_html_report(rendered: Path) -> None:
    html = (rendered / "report.html").read_text()
    assert '<span class="verdict FAIL">FAIL</span>' in html
    assert "98 passed, 5 failed, 0 error, 3 skipped" in html
    # The matrix: a row per workload, a column per (arch, kernel, mode).
    matrix = html[html.index('<table class="matrix">'):]
    matrix = matrix[:matrix.index("</table>")]
    assert matrix.count("<tr><th>") == 3
    assert '<td class="pass" title="32 of 134 tables freed.">23.9%</td>' in matrix
    assert matrix.count("<td ") == 3 * 2 * 6           # 3 workloads, 2 arches, 6 modes
    # One chart per workload and arch that has samples.
    assert html.count("<svg") == 3 * 2
    for label in ("race-refill on x86_64", "rfc-50g-small on arm64",
                  "sparse-huge on x86_64"):
        assert label in html
    # The failed checks with their messages, no splat.
    assert '<div class="splat">' not in html
    assert "mmap_max_us 734562 in always &gt; 2 x 41731 in never + 1000 = 84462" in html
    # Build and boot times, relative links to the logs.
    assert "1169.0 s" in html and "3.14 s" in html
    assert 'href="pt-reclaim-arm64/console.log"' in html
    assert 'href="pt-reclaim-x86_64/build.log"' in html


def test_html_report_of_a_panicked_guest(tmp_path: Path) -> None:
    run = sample_copy(tmp_path, FAULTS)
    render_all(run)
    html = (run / "report.html").read_text()
    assert "4 passed, 1 failed, 3 error, 0 skipped" in html
    assert '<td class="error" title="hang timed out after 5s">error</td>' in html
    assert '<td class="pass" title="0 of 32 tables freed.">0%</td>' in html
    # The splat in a red box.
    box = html[html.index('<div class="splat">'):]
    box = box[:box.index("</div>")]
    assert "first: panic at line 260 of console.log" in box
    assert "Kernel panic - not syncing: sysrq triggered crash" in box


def test_html_is_self_contained(rendered: Path) -> None:
    html = (rendered / "report.html").read_text()
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def test_rendering_twice_gives_the_same_files(rendered: Path) -> None:
    before = {p.name: p.read_bytes() for p in rendered.iterdir() if p.is_file()}
    render_all(rendered)
    after = {p.name: p.read_bytes() for p in rendered.iterdir() if p.is_file()}
    assert before == after


def test_pass_verdict(tmp_path: Path) -> None:
    run = sample_copy(tmp_path)
    make_all_pass(run)
    render_all(run)
    html = (run / "report.html").read_text()
    assert '<span class="verdict PASS">PASS</span>' in html
    assert "What failed" not in html


def test_templates_are_package_data() -> None:
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]["harness"]
    assert "templates/*" in data and "data/*" in data
    templates = Path(__file__).parents[1] / "harness" / "templates"
    assert {p.name for p in templates.iterdir()} >= {"report.html.j2", "summary.txt.j2"}


def test_screenshot_without_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert screenshot(sample_copy(tmp_path)) is None
