"""End to end, for real: Debian's kernel source built for both arches,
booted in QEMU, reached over SSH, workloads run, JUnit parsed back.

Shares the harness cache with `make run`, so a second run is fast.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml, Properties, TestCase

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parent.parent
E2E_WORKLOADS = ("dontneed-whole", "dontneed-small", "shmem-punch", "uffd-wp")
PATCHED = (REPO / "kernel-patches" / "pt-reclaim" / "series").exists()
# The patched half of the end-to-end test has not yet had a full harness
# run on both arches (see the closing note of session 1); until it has, it
# runs only when asked, so the suite's verdict rests on what was validated.
WITH_PATCHED = PATCHED and os.environ.get("PT_HARNESS_E2E_PATCHED") == "1"


def props_of(case: TestCase) -> dict[str, str]:
    """A test case's <properties> (junitparser reads them as child elements)."""
    return {p.name: p.value for ps in case.iterchildren(Properties) for p in ps}


def our_qemus() -> list[str]:
    out = subprocess.run(["pgrep", "-a", "-f", "qemu-system-.*pt-harness|qemu-system"],
                         capture_output=True, text=True).stdout
    return [ln for ln in out.splitlines() if "initrd.cpio.gz" in ln]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, str]:
    results = tmp_path_factory.mktemp("results")
    # Both arches, both kernels, every mode; a slice of the workloads (the
    # whole catalog is `make run`'s job) that still shows the gap and its fix.
    argv = [sys.executable, "-m", "harness.cli", "run", "--results", str(results)]
    if not WITH_PATCHED:
        argv.append("--base-only")
    for w in E2E_WORKLOADS:
        argv += ["--workload", w]
    r = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, env=dict(os.environ),
                       timeout=60 * 60)
    sys.stderr.write(r.stderr[-5000:])
    runs = list(results.iterdir())
    assert len(runs) == 1, r.stderr[-3000:]
    return r.returncode, runs[0], r.stdout


def test_run_passes_on_both_arches(default_run: tuple[int, Path, str]) -> None:
    rc, run, stdout = default_run
    assert rc == 0, stdout
    xml = JUnitXml.fromfile(str(run / "junit.xml"))
    suites = {s.name: s for s in xml}
    assert {"base/x86_64", "base/arm64"} <= set(suites)
    for s in suites.values():
        assert s.failures == 0 and s.errors == 0, s.name
        assert s.tests >= 4


def test_pagetables_figures_plausible(default_run: tuple[int, Path, str]) -> None:
    _, run, _ = default_run
    xml = JUnitXml.fromfile(str(run / "junit.xml"))
    seen = 0
    for suite in xml:
        for case in suite:
            if not case.name.startswith("workload:"):
                continue
            props = props_of(case)
            if case.result:          # skipped (e.g. no scanner): no figures
                continue
            assert int(props["populated_pagetables_kb"]) > int(props["baseline_pagetables_kb"])
            if case.name.startswith("workload:dontneed"):
                assert int(props["tables_populated"]) >= 2000   # 4 GiB / 2 MiB = 2048
            seen += 1
    assert seen >= 4


@pytest.mark.skipif(not WITH_PATCHED, reason="patched e2e runs with PT_HARNESS_E2E_PATCHED=1")
def test_patched_kernel_closes_the_gap(default_run: tuple[int, Path, str]) -> None:
    _, run, _ = default_run
    xml = JUnitXml.fromfile(str(run / "junit.xml"))
    patched = [s for s in xml if s.name.startswith("pt-reclaim/")]
    assert len(patched) == 2
    for suite in patched:
        cases = {c.name: props_of(c) for c in suite}
        # MADV_PT_RECLAIM frees what small MADV_DONTNEEDs left behind.
        assert float(cases["workload:dontneed-small[madvise]"]["coverage"]) >= 0.99
        # The scanner modes, where the kernel has them (a series without the
        # scanner skips them, and the JUnit says why).
        if "coverage" in cases.get("workload:dontneed-small[always]", {}):
            assert float(cases["workload:dontneed-small[always]"]["coverage"]) >= 0.99
            assert float(cases["workload:dontneed-small[never]"]["coverage"]) <= 0.05
        assert any(n.startswith("kselftest:") for n in cases)


def test_base_kernel_shows_the_gap(default_run: tuple[int, Path, str]) -> None:
    """Upstream 7.3 frees tables emptied by one big MADV_DONTNEED, not by
    small ones: the measurement the whole project rests on."""
    _, run, _ = default_run
    xml = JUnitXml.fromfile(str(run / "junit.xml"))
    for suite in xml:
        if not suite.name.startswith("base/"):
            continue
        cases = {c.name: props_of(c) for c in suite}
        assert float(cases["workload:dontneed-whole[base]"]["coverage"]) >= 0.95
        assert float(cases["workload:dontneed-small[base]"]["coverage"]) <= 0.05


def test_logs_kept_and_no_qemu_left(default_run: tuple[int, Path, str]) -> None:
    _, run, _ = default_run
    for arch in ("x86_64", "arm64"):
        d = run / f"base-{arch}"
        assert "Linux version" in (d / "console.log").read_text(errors="replace")
        assert (d / "build.log").exists()
        assert (d / "result.json").exists()
    assert our_qemus() == []
