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
    (["run", "--knob", "scan_delay_ms=fast"], "argument --knob: 'scan_delay_ms=fast'"),
    (["run", "--kernel-src", "/does/not exist"], "/does/not exist: no such directory"),
    (["run", "--kernel-src", "/etc"], "not a kernel tree"),
    (["run", "--series", "/does/not exist"], "no such directory"),
    (["check", "--kernel-src", "/tmp"], "not a kernel tree"),
    (["run", "--range", "v7.2..v7.3"], "--range BASE..TIP needs --kernel-src"),
    (["nightly", "--range", "v7.2..v7.3"], "--range BASE..TIP needs --kernel-src"),
    (["run", "--parallel", "0"], "argument --parallel: '0': expected a number of suites"),
    # Values argparse took before and the harness quietly bent (0 became 1).
    (["run", "--repeat", "0"], "argument --repeat: '0': expected a number of rounds, 1 or more"),
    (["nightly", "--repeat", "-2"], "argument --repeat: '-2': expected a number of rounds"),
    (["check", "--kernel-src", "/tmp", "--parallel", "many"], "argument --parallel: 'many'"),
    (["run", "--base-only", "--no-base"], "argument --no-base: not allowed with argument "
                                          "--base-only"),
    (["run", "--peer", "most"], "argument --peer: invalid choice: 'most'"),
    (["plan", "--format", "jenkins"], "argument --format: invalid choice: 'jenkins'"),
    (["shell", "--arch", "riscv64"], "argument --arch: unknown arch 'riscv64'"),
    (["list", "kernels"], "argument what: invalid choice: 'kernels'"),
    # --dry-run refuses what a run refuses, before anything.
    (["run", "--dry-run", "--workload", "no-such"], "unknown workload no-such"),
    (["check", "--dry-run", "--kernel-src", "/etc"], "not a kernel tree"),
    (["nightly", "--dry-run", "--range", "v7.2..v7.3"], "--range BASE..TIP needs --kernel-src"),
])
def test_bad_input_is_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    r = cli(*args, "--results", str(tmp_path)) if args[0] not in ("plan", "list") \
        else cli(*args)
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
    from harness.errors import BadInput
    from harness.suite import modes
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


@pytest.mark.parametrize("args", [["--debug", "run", "--kernel-src", "/etc"],
                                  # where the README puts it
                                  ["run", "--kernel-src", "/etc", "--debug"],
                                  ["check", "--debug", "--kernel-src", "/etc"]])
def test_debug_shows_traceback(args: list[str]) -> None:
    r = cli(*args)
    assert r.returncode != 0 and "Traceback" in r.stderr and "BadInput" in r.stderr
