"""Bad input: one line naming what and where, exit status 2, no traceback,
and nothing left behind (no run directory)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args, message", [
    (["run", "--arch", "riscv64"], "unknown arch 'riscv64'"),
    (["run", "--workload", "no-such"], "unknown workload no-such"),
    (["run", "--mode", "sometimes"], "unknown mode sometimes"),
    # A scale workload runs only in the modes its catalog entry lists.
    (["run", "--workload", "rfc-50g-small", "--mode", "always"],
     "nothing to run for workload rfc-50g-small (runs in base,"),
    (["run", "--knob", "scan_delay_ms=fast"], "--knob 'scan_delay_ms=fast'"),
    (["run", "--kernel-src", "/does/not exist"], "/does/not exist: no such directory"),
    (["run", "--kernel-src", "/etc"], "not a kernel tree"),
    (["run", "--series", "/does/not exist"], "no such directory"),
    (["check", "--kernel-src", "/tmp"], "not a kernel tree"),
    (["run", "--range", "v7.2..v7.3"], "--range BASE..TIP needs --kernel-src"),
    (["nightly", "--range", "v7.2..v7.3"], "--range BASE..TIP needs --kernel-src"),
    (["run", "--parallel", "0"], "--parallel 0: expected a number of suites"),
])
def test_bad_input_is_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    r = cli(*args, "--results", str(tmp_path)) if args[0] != "shell" else cli(*args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pt-harness: error: "), r.stderr
    assert message in lines[0]
    assert "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_series_patch_missing_named(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "series").write_text("0001-x.patch\n")
    r = cli("run", "--series", str(tmp_path / "s"), "--results", str(tmp_path / "r"))
    assert r.returncode == 2
    assert "series:1: patch 0001-x.patch does not exist" in r.stderr


def test_bad_data_file_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import modes
    from harness.errors import BadInput
    bad = tmp_path / "expectations.toml"
    bad.write_text("[[expect]\n")
    with pytest.raises(BadInput, match="expectations.toml"):
        modes.load_expectations(bad)


def test_missing_tool_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.arches import ARM64
    from harness.errors import ToolMissing
    from harness.proc import require
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolMissing, match="gcc-aarch64-linux-gnu"):
        require(ARM64.cc, "gcc-aarch64-linux-gnu")


def test_debug_shows_traceback(tmp_path: Path) -> None:
    r = cli("--debug", "run", "--arch", "riscv64")
    assert "Traceback" in r.stderr
