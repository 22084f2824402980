"""The neighbour benchmarks in summary.txt and report.html, from the
checks of real runs (tests/data/neighbours-run/README says which)."""

import shutil
from pathlib import Path

from harness.report.neighbours import blocks, summary_lines
from harness.report.render import render_html, render_summary
from harness.report.run_data import load_run
from harness.report.summary_text import MAX_COLUMNS, fit

RUN = Path(__file__).resolve().parent / "data" / "neighbours-run"


def test_blocks_from_the_checks_properties() -> None:
    found = {b.workload: b for b in blocks(load_run(RUN))}
    assert set(found) == {"neighbour-latency", "tlb-churn", "uffd-copy"}
    lat = found["neighbour-latency"]
    assert lat.status == "failed" and lat.cpus == "0,1" and lat.rounds == "5"
    rows = {r.figure: r for r in lat.rows}
    assert rows["mmap_max_us"].never == "50322" and rows["mmap_max_us"].always == "951464"
    assert rows["mmap_max_us"].ratio == "11.768x (1.143..208.256)"
    uffd = {r.figure: r for r in found["uffd-copy"].rows}
    assert (uffd["spurious_eagain"].never, uffd["spurious_eagain"].always) == ("0", "7")
    assert uffd["spurious_eagain"].ratio == ""


def test_summary_block_fits_a_cover_letter() -> None:
    text = fit("\n".join(summary_lines(load_run(RUN))))
    assert text.isascii()
    assert all(len(line) <= MAX_COLUMNS for line in text.splitlines())
    assert "pt-reclaim/x86_64 neighbour-latency, N=5, CPUs 0,1: failed" in text
    assert "mmap_max_us   50322 -> 951464  11.768x (1.143..208.256)" in text


def test_whole_reports_carry_the_block(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(RUN, run_dir)
    run = load_run(run_dir)
    assert "spurious_eagain  0 -> 7" in render_summary(run)
    html = render_html(run)
    assert 'data-check="neighbour:tlb-churn"' in html
    assert "<td>munmap_ops_per_s</td>" in html
