"""report.html in a real browser: headless Chromium renders the sample run,
the SVG charts are in its DOM, and a screenshot is kept beside the report."""

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.report.render import chromium, chromium_argv, render_all, screenshot

SAMPLE = Path(__file__).parent / "golden" / "run-sample"
BROWSER = chromium()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="chromium is not installed (apt-get install -y chromium)")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run(tmp_path: Path) -> Path:
    out = tmp_path / "run-sample"
    shutil.copytree(SAMPLE, out)
    render_all(out)
    return out


def browse(run: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    argv = [*chromium_argv(BROWSER, profile), *extra,
            (run / "report.html").resolve().as_uri()]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180)


def test_charts_are_in_the_rendered_dom(run: Path, tmp_path: Path) -> None:
    r = browse(run, tmp_path / "profile", "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    # A chart per workload and arch, a line per mode: race-refill and
    # rfc-50g-small in four modes, sparse-huge in three.
    assert dom.count("<svg") == 3 * 2
    assert dom.count("<polyline") == 2 * (4 + 4 + 3)
    assert "FAIL" in dom and 'class="matrix"' in dom


def test_screenshot_beside_the_report(run: Path, tmp_path: Path) -> None:
    png = run / "report.png"
    r = browse(run, tmp_path / "profile", f"--screenshot={png}", "--window-size=1280,2000")
    assert r.returncode == 0, r.stderr[-2000:]
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2000)
    # A blank page compresses to almost nothing; charts and tables do not.
    assert len(data) > 50_000


def test_screenshot_function(run: Path) -> None:
    (run / "report.png").unlink(missing_ok=True)
    png = screenshot(run)
    assert png == run / "report.png"
    assert png.read_bytes().startswith(PNG_MAGIC)
