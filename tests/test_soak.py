"""A short soak: the race and correctness workloads, repeated, on the
patched kernel with the scanner on and small knobs. Zero splats, every
workload passing.

`make soak` runs it with the debug config (DEBUG_VM, lockdep, page
table check) on both arches and more rounds: PT_HARNESS_SOAK_DEBUG=1,
PT_HARNESS_SOAK_ARCHES, PT_HARNESS_SOAK_ROUNDS. In `make test` it uses the
regular patched build, which the e2e test builds anyway, so the suite stays
within its time budget on a cold machine."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml, Properties

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parent.parent
SERIES = REPO / "kernel-patches" / "pt-reclaim" / "series"
ROUNDS = os.environ.get("PT_HARNESS_SOAK_ROUNDS", "2")
ARCHES = os.environ.get("PT_HARNESS_SOAK_ARCHES", "x86_64").split()
DEBUG = os.environ.get("PT_HARNESS_SOAK_DEBUG") == "1"


def soak_mode() -> str:
    """`always` (the scanner racing the faults) when the series has the
    scanner; else `madvise`, where race-refill's MADV_PT_RECLAIM loop races
    them."""
    patches = SERIES.parent.glob("*.patch")
    return "always" if any("pt_reclaim_scan_delay_ms" in p.read_text(errors="replace")
                           for p in patches) else "madvise"


@pytest.mark.skipif(not SERIES.exists(), reason="no series in kernel-patches/pt-reclaim")
def test_short_soak(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "harness.cli", "run", "--no-base", "--mode", soak_mode(),
            "--knob", "scan_delay_ms=50", "--knob", "scan_tables=8192",
            "--repeat", ROUNDS, "--results", str(tmp_path)]
    if DEBUG:
        argv += ["--config", str(REPO / "kernel-patches" / "configs" / "debug.config")]
    for arch in ARCHES:
        argv += ["--arch", arch]
    for w in ("race-refill", "fork-cow", "mremap-move", "uffd-wp", "thp-collapse"):
        argv += ["--workload", w]
    r = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60 * 60)
    sys.stderr.write(r.stderr[-4000:])
    (run,) = list(tmp_path.iterdir())
    xml = JUnitXml.fromfile(str(run / "junit.xml"))
    bad = [f"{s.name}:{c.name}: {c.result[0].message if c.result else ''}"
           for s in xml for c in s if c.result and c.result[0].__class__.__name__ != "Skipped"]
    assert r.returncode == 0, "\n".join(bad) or r.stdout[-3000:]
    for suite in xml:
        console = next(c for c in suite if c.name == "console")
        props = {p.name: p.value for ps in console.iterchildren(Properties) for p in ps}
        assert props["splats"] == "0"
