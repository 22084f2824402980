"""Faults injected for real into a real guest (x86_64, the patched kernel
in mode never: the build the end-to-end test already made): each must end
in bounded time with the failing cell
reported as an error, later cells still run where the guest survives,
results kept, and no QEMU left behind."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parent.parent
CATALOG = REPO / "tests" / "data" / "faults.toml"
# The project's kernel, scanner off: the faults are the harness's business,
# and this reuses the build of tests/test_e2e.py instead of a second one.
KERNEL_ARGS = ["--no-base", "--mode", "never"]
SUITE_DIR = "pt-reclaim-x86_64"
MODE = "never"


def start(results: Path, *workloads: str,
          arches: tuple[str, ...] = ("x86_64",)) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "harness.cli", "run", *KERNEL_ARGS,
            "--catalog", str(CATALOG), "--results", str(results),
            "--parallel", str(len(arches))]
    for arch in arches:
        argv += ["--arch", arch]
    for w in workloads:
        argv += ["--workload", w]
    return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(p: subprocess.Popen[str], limit: float = 900) -> tuple[int, str]:
    out, err = p.communicate(timeout=limit)
    sys.stderr.write(err[-3000:])
    return p.returncode, out + err


def checks(results: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    (run,) = list(results.iterdir())
    raw = json.loads((run / SUITE_DIR / "result.json").read_text())
    return {c["name"]: c for c in raw["checks"]}


def qemus_under(path: Path) -> list[str]:
    out = subprocess.run(["pgrep", "-a", "-f", f"qemu-system.*{path}"], capture_output=True,
                         text=True).stdout
    return out.splitlines()


def test_hung_workload_times_out_and_the_next_runs(tmp_path: Path) -> None:
    # Spaces and quotes in the results path: names from inputs never reach
    # a shell unquoted (QEMU's -serial file:..., dropbear keys, logs).
    tmp_path = tmp_path / "it's a \"results\" dir"
    tmp_path.mkdir()
    t0 = time.monotonic()
    rc, _ = finish(start(tmp_path, "hang", "healthy"))
    c = checks(tmp_path)
    assert rc == 1
    assert c[f"workload:hang[{MODE}]"]["status"] == "error"
    assert "timed out after 5s" in c[f"workload:hang[{MODE}]"]["message"]
    assert c[f"workload:healthy[{MODE}]"]["status"] == "passed"
    assert (tmp_path.iterdir().__next__() / "junit.xml").exists()
    assert time.monotonic() - t0 < 600
    assert qemus_under(tmp_path) == []


def test_guest_panic_is_reported_with_console_excerpt(tmp_path: Path) -> None:
    rc, _ = finish(start(tmp_path, "panic", "healthy"))
    c = checks(tmp_path)
    assert rc == 1
    assert c[f"workload:panic[{MODE}]"]["status"] == "error"
    assert c[f"workload:healthy[{MODE}]"]["status"] == "error"     # the guest is gone
    assert c["console"]["status"] == "failed"
    assert "Kernel panic" in c["console"]["detail"]
    assert qemus_under(tmp_path) == []


def test_ssh_dropped_mid_command(tmp_path: Path) -> None:
    rc, _ = finish(start(tmp_path, "drop-ssh", "healthy"))
    c = checks(tmp_path)
    assert rc == 1
    assert c[f"workload:drop-ssh[{MODE}]"]["status"] == "error"
    assert qemus_under(tmp_path) == []


def _wait_for_workload(p: subprocess.Popen[str], results: Path, name: str) -> None:
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        assert p.poll() is None, "run ended early"
        runs = list(results.iterdir())
        if runs:
            f = runs[0] / SUITE_DIR / "result.json"
            if f.exists() and '"boot"' in f.read_text():
                time.sleep(3)   # the workload is running now
                return
        time.sleep(0.5)
    raise AssertionError(f"{name} never started")


def test_qemu_killed_from_outside(tmp_path: Path) -> None:
    p = start(tmp_path, "slow", "healthy")
    _wait_for_workload(p, tmp_path, "slow")
    pids = [int(line.split()[0]) for line in qemus_under(tmp_path)]
    assert pids
    # The guest's SSH forward listens on loopback only.
    listening = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True).stdout
    ours = [ln for ln in listening.splitlines() if any(f"pid={p}," in ln for p in pids)]
    assert ours and all(ln.split()[3].startswith("127.0.0.1:") for ln in ours), ours
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    rc, _ = finish(p)
    assert time.monotonic() - t0 < 120
    c = checks(tmp_path)
    assert rc == 1
    assert c[f"workload:slow[{MODE}]"]["status"] == "error"
    assert c[f"workload:healthy[{MODE}]"]["status"] == "error"


def test_sigterm_stops_cleanly_and_keeps_results(tmp_path: Path) -> None:
    p = start(tmp_path, "slow")
    _wait_for_workload(p, tmp_path, "slow")
    p.send_signal(signal.SIGTERM)
    rc, out = finish(p, limit=60)
    assert rc == 130
    assert "interrupted" in out
    c = checks(tmp_path)
    assert c["boot"]["status"] == "passed"
    assert qemus_under(tmp_path) == []


def test_ctrl_c_with_both_arches_side_by_side(tmp_path: Path) -> None:
    """Two suites in two threads, both guests up and busy: Ctrl-C stops both
    QEMUs at once, the threads unwind, and what was recorded stays."""
    p = start(tmp_path, "slow", arches=("x86_64", "arm64"))
    deadline = time.monotonic() + 900
    booted: list[Path] = []
    while len(booted) < 2:
        assert p.poll() is None and time.monotonic() < deadline, "both guests never came up"
        time.sleep(0.5)
        booted = [f for f in tmp_path.glob("*/pt-reclaim-*/result.json")
                  if '"boot"' in f.read_text()]
    time.sleep(2)
    assert len(qemus_under(tmp_path)) == 2        # really side by side
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    rc, out = finish(p, limit=60)
    assert rc == 130 and "interrupted" in out
    assert time.monotonic() - t0 < 30
    assert qemus_under(tmp_path) == []
    for f in booted:
        c = {c["name"]: c for c in json.loads(f.read_text())["checks"]}
        assert c["boot"]["status"] == "passed"
        # Stopped, not misreported: the workload Ctrl-C cut short is no result.
        assert f"workload:slow[{MODE}]" not in c or c[f"workload:slow[{MODE}]"]["status"] != \
            "passed"
    (run,) = list(tmp_path.iterdir())
    assert (run / "junit.xml").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_results_disk_full(tmp_path: Path) -> None:
    mnt = tmp_path / "full"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=True)
    try:
        subprocess.run(["dd", "if=/dev/zero", f"of={mnt}/fill", "bs=4k", "count=64"],
                       capture_output=True)
        rc, out = finish(start(mnt, "healthy"))
        assert rc == 2
        assert "No space left on device" in out
        assert "Traceback" not in out
        assert qemus_under(mnt) == []
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_two_runs_share_the_cache(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    pa, pb = start(a, "healthy"), start(b, "healthy")
    (rca, _), (rcb, _) = finish(pa), finish(pb)
    assert (rca, rcb) == (0, 0)
    assert checks(a)[f"workload:healthy[{MODE}]"]["status"] == "passed"
    assert checks(b)[f"workload:healthy[{MODE}]"]["status"] == "passed"
