"""Every report format rebuilt from the saved sample run (tests/golden/run-sample)."""

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

from harness.report_data import load_run
from harness.report_text import MAX_COLUMNS, fit
from harness.reports import render_all, screenshot

GOLDEN = Path(__file__).parent / "golden"
SAMPLE = GOLDEN / "run-sample"
SUMMARY_GOLDEN = GOLDEN / "run-sample.summary.txt"


def sample_copy(tmp_path: Path) -> Path:
    run = tmp_path / SAMPLE.name
    shutil.copytree(SAMPLE, run)
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
    assert len(run.suites) == 3 and run.verdict == "FAIL"
    traced = [w for w in run.workloads if w.samples]
    assert len(traced) == 8 and all(len(w.samples) >= 30 for w in traced)


def test_junit_has_one_suite_per_kernel_and_arch(rendered: Path) -> None:
    suites = list(JUnitXml.fromfile(str(rendered / "junit.xml")))
    assert [s.name for s in suites] == ["base/x86_64", "pt-reclaim/arm64", "pt-reclaim/x86_64"]
    assert sum(s.failures for s in suites) == 2


def test_junit_loads_in_junit2html(rendered: Path) -> None:
    out = rendered / "junit.html"
    cli = [sys.executable, "-m", "junit2htmlreport"]
    r = subprocess.run([*cli, str(rendered / "junit.xml"), str(out)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    for suite in ("base/x86_64", "pt-reclaim/arm64", "pt-reclaim/x86_64"):
        assert suite in html
    assert "workload:dontneed-small[madvise-prctl]" in html
    # Its parser read our verdicts, not just our names.
    report = parser.Junit(str(rendered / "junit.xml"))
    assert {s.name: len(s.failed()) for s in report.suites} == {
        "base/x86_64": 0, "pt-reclaim/arm64": 2, "pt-reclaim/x86_64": 0}


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
    assert "7.3.4" in text and "x86_64, arm64" in text and "QEMU" in text
    assert re.search(r"dontneed-small\s+always\s+x86_64\s+2048 -> 0\s+100%", text)
    # A run from before the icount benchmark: its one benchmark was on the
    # wall clock at the aggressive pace, and is labelled so.
    assert ("pt-reclaim/x86_64, wall, aggressive pace:\n"
            "    742 -> 768 ns, 1.0350x (1.0120..1.0690, N=3)") in text
    assert "Failed:" in text and "console (failed)" in text


def test_summary_without_failures_or_fault_loop(tmp_path: Path) -> None:
    run = sample_copy(tmp_path)
    make_all_pass(run)
    for f in run.glob("*/samples-fault-loop-*.json"):
        f.unlink()
    render_all(run)
    text = (run / "summary.txt").read_text()
    assert text.startswith("pt-harness run 20261127-101502-3f2a: PASS")
    assert "Nothing failed." in text and "Failed:" not in text
    assert "Overhead" not in text


def test_fit_wraps_and_spells_out_unicode() -> None:
    text = fit("  caf\u00e9 \u2192 " + "x" * 200 + " \u00bd")
    assert text.isascii() and "cafe ->" in text
    assert all(len(ln) <= MAX_COLUMNS for ln in text.splitlines())
    assert all(ln.startswith("  ") for ln in text.splitlines())


def test_html_report(rendered: Path) -> None:
    html = (rendered / "report.html").read_text()
    assert '<span class="verdict FAIL">FAIL</span>' in html
    assert "41 passed, 2 failed, 0 error, 0 skipped" in html
    # The matrix: a row per workload, a column per (arch, kernel, mode).
    matrix = html[html.index('<table class="matrix">'):]
    matrix = matrix[:matrix.index("</table>")]
    assert matrix.count("<tr><th>") == 3
    assert '<td class="fail" title="2000 of 2048 tables freed.' in matrix
    assert matrix.count("<td ") == 3 * 9
    # One chart per workload and arch that has samples.
    assert html.count("<svg") == 3
    for label in ("dontneed-small on x86_64", "dontneed-small on arm64",
                  "fault-loop on x86_64"):
        assert label in html
    # The splat in a red box, the failed workload with its message.
    assert '<div class="splat">' in html and "WARNING: CPU: 1 PID: 23" in html
    assert "coverage 97.66% below 99%" in html
    # Build and boot times, relative links to the logs.
    assert "402.8 s" in html and "48.20 s" in html
    assert 'href="pt-reclaim-arm64/console.log"' in html
    assert 'href="base-x86_64/build.log"' in html


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
