"""Every report of a run, rebuilt from its raw JSON alone: junit.xml,
report.html (one self-contained file: inline CSS, inline SVG charts, no
script, no network) and summary.txt (75 ASCII columns); and a screenshot
of the HTML in headless Chromium when it is installed."""

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .. import proc
from ..cache import atomic_write
from ..errors import HarnessError
from ..results import FAILED, PASSED, SKIPPED, Check, Suite
from . import neighbours, peer, scale, summary_text
from .compare import CompareResult, compare
from .junit import write_junit
from .kcidb import KcidbSettings, write_kcidb
from .patches import PatchProblem, patch_tables
from .run_data import RunData, WorkloadResult, load_run
from .svgchart import Line, line_chart

# The CLI's one import for `report` and `compare`.
__all__ = ["CompareResult", "compare", "render_all", "screenshot"]

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
SCREENSHOT_SIZE = "1280,2000"
SCREENSHOT_TIMEOUT = 120


def _env(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=autoescape,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


def render_all(run_dir: Path) -> list[Path]:
    """Rewrite junit.xml, report.html, summary.txt and kcidb.json in run_dir
    from run.json, */result.json and */samples-*.json; return their paths."""
    run = load_run(run_dir)
    junit, html, text = run_dir / "junit.xml", run_dir / "report.html", run_dir / "summary.txt"
    write_junit(run.suites, junit)
    atomic_write(html, render_html(run))
    atomic_write(text, render_summary(run))
    # Last: bad PT_HARNESS_KCIDB_* settings must not cost the other reports.
    kcidb = write_kcidb(run, run_dir / "kcidb.json", KcidbSettings.from_env())
    return [junit, html, text, kcidb]


# -- summary.txt ----------------------------------------------------------

def kernel_labels(run: RunData) -> list[str]:
    out = []
    for kernel in run.kernels():
        if kernel == "base":
            out.append("base (unpatched)")
            continue
        patches = next((s.properties.get("series_patches") for s in run.suites
                        if kernel in (s.kernel, s.properties.get("series"))), None)
        out.append(f"{kernel} ({patches} patches)" if patches else kernel)
    return out


def kernel_version(run: RunData) -> str:
    versions = [str(run.meta["kernel_version"])] if run.meta.get("kernel_version") else []
    versions += [s.version for s in run.suites if s.version]
    unique = list(dict.fromkeys(versions))
    return unique[0] if len(unique) == 1 else (", ".join(unique) or "unknown")


def counts_text(run: RunData) -> str:
    return ", ".join(f"{n} {status}" for status, n in run.counts().items() if n) or "no checks"


def render_summary(run: RunData) -> str:
    figures = summary_text.figures_table(run, skip=scale.SCALE_WORKLOADS)
    text = _env(autoescape=False).get_template("summary.txt.j2").render(
        run=run, counts=counts_text(run), kernel_version=kernel_version(run),
        kernels=kernel_labels(run), qemu=summary_text.qemu_versions(run),
        boots=summary_text.boot_times(run), figures=figures, patch_tables=patch_tables(run),
        scale=scale.summary_lines(run), neighbours=neighbours.summary_lines(run),
        peer=peer.summary_lines(run),
        any_failed_figure=any(line.endswith("*") for line in figures),
        overheads=summary_text.overheads(run), problems=run.problems())
    return summary_text.fit(text)


# -- report.html ----------------------------------------------------------

@dataclass(frozen=True)
class Column:
    arch: str
    kernel: str
    mode: str


@dataclass(frozen=True)
class Cell:
    text: str
    css: str
    title: str


def matrix_columns(run: RunData) -> list[Column]:
    modes = run.modes()
    seen = {(w.suite.arch, w.suite.kernel, w.mode) for w in run.workloads}
    kernels = run.kernels()
    return [Column(a, k, m) for a in run.arches() for k in kernels for m in modes
            if (a, k, m) in seen]


def matrix_cell(results: list[WorkloadResult]) -> Cell:
    if not results:
        return Cell("", "none", "not run")
    w = results[0]
    c = w.check
    css = {PASSED: "pass", SKIPPED: "skip", FAILED: "fail"}.get(c.status, "error")
    if w.has_figures:
        cov = w.figure("coverage") or 0.0
        title = (f"{w.figure('tables_freed'):.0f} of {w.figure('tables_populated'):.0f} "
                 f"tables freed")
        return Cell(summary_text.percent(cov), css, f"{title}. {c.message}".strip())
    return Cell(c.status if c.status != PASSED else "ok", css, c.message or c.status)


def matrix(run: RunData, columns: list[Column]) -> list[tuple[str, list[Cell]]]:
    rows = []
    for name in run.workload_names():
        cells = [matrix_cell([w for w in run.find(name, col.mode, col.arch)
                              if w.suite.kernel == col.kernel]) for col in columns]
        if any(c.css != "none" for c in cells):
            rows.append((name, cells))
    return rows


def charts(run: RunData) -> list[dict[str, str]]:
    """One PageTables-over-time chart per workload and arch with samples,
    a line per mode (labelled with the kernel too when two kernels ran it)."""
    out = []
    for name in run.workload_names():
        for arch in run.arches():
            traced = [w for w in run.workloads
                      if w.workload == name and w.suite.arch == arch and w.samples]
            if not traced:
                continue
            modes = [w.mode for w in traced]
            lines = [Line(w.mode if modes.count(w.mode) == 1 else f"{w.mode} ({w.suite.kernel})",
                          tuple((s.t_ms / 1000, s.pagetables_kb / 1024) for s in w.samples))
                     for w in sorted(traced, key=lambda w: run.modes().index(w.mode))]
            svg = line_chart(f"{name} on {arch}: guest PageTables", lines,
                             "time since the workload started (s)", "PageTables (MiB)")
            out.append({"workload": name, "arch": arch, "svg": svg})
    return out


def suite_rows(run: RunData) -> list[dict[str, Any]]:
    rows = []
    for s in run.matrix_suites:
        build, boot, console = (run.check(s, n) for n in ("build", "boot", "console"))
        links = {log: f"{s.dirname}/{log}" for log in ("build.log", "console.log")
                 if (run.path / s.dirname / log).exists()}
        rows.append({"suite": s, "verdict": "PASS" if s.ok else "FAIL", "build": build,
                     "boot": boot, "splats": console.properties.get("splats", "") if console
                     else "", "links": links})
    return rows


Problems = list[tuple[Suite, Check]]


def splats_and_failures(run: RunData, patch_problems: list[PatchProblem]
                        ) -> tuple[Problems, Problems]:
    """Splats, and the other failures but those of the per-patch table,
    whose excerpts are shown there."""
    in_table = {id(p.check) for p in patch_problems}
    problems = [(s, c) for s, c in run.problems() if id(c) not in in_table]
    splats = [(s, c) for s, c in problems if c.name == "console"]
    return splats, [(s, c) for s, c in problems if c.name != "console"]


def render_html(run: RunData) -> str:
    columns = matrix_columns(run)
    tables = patch_tables(run)
    patch_problems = [p for t in tables for p in t.problems]
    splats, failures = splats_and_failures(run, patch_problems)
    apply_logs = sorted(p.name for p in run.path.glob("apply-*.log"))
    return _env(autoescape=True).get_template("report.html.j2").render(
        run=run, meta=run.meta, counts=run.counts(), kernel_version=kernel_version(run),
        kernels=kernel_labels(run), columns=columns, matrix=matrix(run, columns),
        charts=charts(run), suites=suite_rows(run), splats=splats, failures=failures,
        workloads=[w for w in run.workloads if w.has_figures], apply_logs=apply_logs,
        patch_tables=tables, patch_problems=patch_problems,
        scale_rows=scale.scale_rows(run), scale_published=scale.published_line(),
        scale_knobs=scale.boot_knobs(run),
        neighbour_blocks=neighbours.blocks(run), peer_blocks=peer.blocks(run))


# -- screenshot -----------------------------------------------------------

def chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def chromium_argv(binary: str, profile: Path) -> list[str]:
    # Everything that would reach the network or keep state is off: the
    # page is a local file and must render the same anywhere.
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}"]


def screenshot(run_dir: Path) -> Path | None:
    """report.png beside report.html (rendered first if missing), or None
    when no Chromium is installed or it fails."""
    binary = chromium()
    if binary is None:
        return None
    html = run_dir / "report.html"
    if not html.exists():
        render_all(run_dir)
    png = run_dir / "report.png"
    with tempfile.TemporaryDirectory(prefix="pt-chromium-") as profile:
        argv = [*chromium_argv(binary, Path(profile)), f"--screenshot={png}",
                f"--window-size={SCREENSHOT_SIZE}", html.resolve().as_uri()]
        try:
            proc.run(argv, what="chromium --screenshot", timeout=SCREENSHOT_TIMEOUT)
        except (OSError, HarnessError):
            return None
    return png if png.exists() else None
