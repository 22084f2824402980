"""The command line: options composed per subcommand, bad values refused
in one line, `list` and `--dry-run` from the data, progress with elapsed
time. All in-process, no kernel, no QEMU, no subprocess."""

import argparse
import re
import signal
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from harness import arches, cli, progress
from harness.commands import run as run_command
from harness.suite.catalog import load_catalog
from harness.suite.modes import Mode, load_modes


def test_progress_lines_carry_elapsed_time(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    progress.start()
    now[0] += 75.4
    progress.say("kbuild pt-reclaim/arm64 ...")
    now[0] += 3600
    progress.say("later")
    err = capsys.readouterr().err.splitlines()
    assert err == ["[pt-harness +01:15] kbuild pt-reclaim/arm64 ...",
                   "[pt-harness +1:01:15] later"]


def test_step_says_its_duration(capsys: pytest.CaptureFixture[str]) -> None:
    progress.start()
    with progress.step("boot x"):
        pass
    lines = capsys.readouterr().err.splitlines()
    assert re.fullmatch(r"\[pt-harness \+00:00\] boot x \.\.\.", lines[0])
    assert re.fullmatch(r"\[pt-harness \+00:00\] boot x: done in \d+\.\ds", lines[1])


# --- options defined once, composed per subcommand ----------------------------



def subparsers() -> dict[str, argparse.ArgumentParser]:
    p = cli._parser()
    (sub,) = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def options(p: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.option_strings[-1]: a for a in p._actions if a.option_strings}


def test_every_option_has_help_and_one_text() -> None:
    """No copy without help: an option the suite commands share says the
    same everywhere, unless the command's own default differs."""
    subs = subparsers()
    texts: dict[str, set[str]] = {}
    for name in ("run", "check", "nightly"):
        for flag, action in options(subs[name]).items():
            assert action.help, f"{name} {flag} has no help"
            texts.setdefault(flag, set()).add(action.help)
    differ = {f for f, t in texts.items() if len(t) > 1}
    assert differ == {"--kernel-src", "--series", "--parallel", "--peer"}


def test_suite_commands_take_the_same_suite_options() -> None:
    subs = subparsers()
    suite = {"--arch", "--workload", "--mode", "--knob", "--repeat", "--parallel", "--peer",
             "--catalog", "--results", "--dry-run", "--debug"}
    for name in ("run", "check", "nightly"):
        assert suite <= set(options(subs[name])), name
    assert "--range" not in options(subs["check"])


@pytest.mark.parametrize("argv", [
    ["run", "--debug"], ["--debug", "run"], ["check", "--kernel-src", "x", "--debug"],
    ["nightly", "--debug"], ["shell", "--debug"], ["plan", "--debug"],
    ["report", "r", "--debug"], ["compare", "a", "b", "--debug"], ["list", "modes", "--debug"],
    ["merge", "a", "--debug"], ["kcidb", "r", "--debug"],
])
def test_debug_is_accepted_everywhere(argv: list[str]) -> None:
    assert cli._parser().parse_args(argv).debug is True


def test_debug_is_off_by_default() -> None:
    assert cli._parser().parse_args(["run"]).debug is False


@pytest.mark.parametrize("argv, message", [
    (["run", "--repeat", "0"], "--repeat: '0': expected a number of rounds, 1 or more"),
    (["check", "--kernel-src", "x", "--repeat", "two"], "--repeat: 'two'"),
    (["run", "--parallel", "-1"], "--parallel: '-1': expected a number of suites"),
    (["run", "--knob", "scan_size=1"], "--knob: 'scan_size=1': expected NAME=NUMBER"),
    (["run", "--mode", "sometimes"], "--mode: unknown mode sometimes; known: base, never"),
    (["nightly", "--arch", "sparc"], "--arch: unknown arch 'sparc'; known: x86_64, arm64"),
])
def test_bad_values_are_refused_in_one_line(argv: list[str], message: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        cli._parser().parse_args(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("pt-harness: error: argument ") and message in err[0]


def test_values_are_parsed() -> None:
    args = cli._parser().parse_args(["run", "--repeat", "3", "--knob", "scan_tables=64",
                                     "--mode", "always", "--arch", "arm64"])
    assert (args.repeat, args.knob, args.mode, args.arch) == (
        3, [("scan_tables", "64")], ["always"], ["arm64"])


def test_help_and_choices_come_from_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mode, an arch, a default workload added to the data shows in the
    help and is accepted, without touching the CLI."""
    modes = {**load_modes(), "sometimes": Mode("sometimes", "patched", "test")}
    monkeypatch.setattr(cli, "load_modes", lambda: modes)
    monkeypatch.setitem(arches.ARCHES, "riscv64", replace(arches.X86_64, name="riscv64"))
    monkeypatch.setattr(cli, "ARCHES", arches.ARCHES)
    catalog = load_catalog()
    catalog["tiny"] = catalog["dontneed-small"].__class__(
        "tiny", "a tiny one", ("tiny",), 10, default=True)
    monkeypatch.setattr(cli, "load_catalog", lambda path=None: catalog)
    run = options(subparsers()["run"])
    assert "sometimes" in str(run["--mode"].help) and "riscv64" in str(run["--arch"].help)
    assert "tiny" in str(run["--workload"].help)
    args = cli._parser().parse_args(["run", "--mode", "sometimes", "--arch", "riscv64"])
    assert args.mode == ["sometimes"] and args.arch == ["riscv64"]


def test_a_broken_data_file_does_not_break_help(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.errors import BadInput

    def broken() -> dict[str, Mode]:
        raise BadInput("modes.toml: broken")
    monkeypatch.setattr(cli, "load_modes", broken)
    assert "pt-harness list" in str(options(subparsers()["run"])["--mode"].help)


# --- pt-harness list -------------------------------------------------------


def test_list_prints_the_data(capsys: pytest.CaptureFixture[str]) -> None:
    for what, names in (("arches", list(arches.ARCHES)), ("modes", list(load_modes())),
                        ("workloads", list(load_catalog()))):
        assert cli.main(["list", what]) == 0
        rows = capsys.readouterr().out.splitlines()
        assert [r.split()[0] for r in rows[1:]] == names, what
    assert cli.main(["list", "arches"]) == 0
    out = capsys.readouterr().out
    assert "aarch64-linux-gnu-gcc" in out and "qemu-system-aarch64" in out


def test_list_workloads_of_another_catalog(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cat = tmp_path / "c.toml"
    cat.write_text('[only]\ncommand = ["/bin/true"]\ndescription = "just this"\n'
                   'default = true\nmodes = ["never"]\n')
    assert cli.main(["list", "workloads", "--catalog", str(cat)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].split() == ["only", "yes", "never", "just", "this"]


def test_list_modes_says_what_each_sets(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list", "modes"]) == 0
    rows = {r.split()[0]: r for r in capsys.readouterr().out.splitlines()[1:]}
    assert "scan_delay_ms=100" in rows["always"] and "[opt-in]" in rows["always-defaults"]


# --- --dry-run ------------------------------------------------------------------


@pytest.fixture
def no_subprocess(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[object]:
    """Any child process (make, QEMU, git, apt-get) fails the test."""
    started: list[object] = []

    class Refused(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, *args: object, **kw: object) -> None:
            started.append(args)
            raise AssertionError(f"dry run started a process: {args}")

    monkeypatch.setattr(subprocess, "Popen", Refused)
    monkeypatch.setattr(signal, "signal", lambda *args: None)       # pytest keeps its own
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path / "cache"))
    return started


def dry(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    assert cli.main([*argv, "--dry-run", "--results", str(results)]) == 0
    assert list(results.iterdir()) == [], "a dry run wrote a run directory"
    return capsys.readouterr().out


def test_dry_run_plans_every_suite(no_subprocess: list[object], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = dry(["run"], tmp_path, capsys)
    assert no_subprocess == []
    suites = [line.split()[1] for line in out.splitlines() if line.startswith("suite ")]
    assert suites == ["base/x86_64", "base/arm64", "pt-reclaim/x86_64", "pt-reclaim/arm64"]
    series = Path(__file__).resolve().parent.parent / "kernel-patches" / "pt-reclaim" / "series"
    patches = len(series.read_text().split())
    assert f"{patches} patches of" in out and "apt-get download at run time" in out
    for mode in load_modes().values():
        assert f"  mode {mode.name} " in out
    # The command lines, formed by the functions the run uses.
    assert out.count("headers_install") == 4 and out.count(" tinyconfig") == 4
    assert "CROSS_COMPILE=aarch64-linux-gnu-" in out
    assert "'CC=ccache aarch64-linux-gnu-gcc'" in out
    assert out.count("$ qemu-system-x86_64 ") == 3      # base, patched, patched icount
    assert out.count("$ qemu-system-aarch64 ") == 3
    assert "hostfwd=tcp:127.0.0.1:PORT-:22" in out and "-icount shift=0,sleep=off" in out
    assert "overhead:scanner " in out and "peer:mm (subset)" in out


def fake_tree(root: Path, patched: bool) -> Path:
    for d in ("scripts/kconfig", "mm", "include/uapi/asm-generic"):
        (root / d).mkdir(parents=True)
    (root / "Makefile").write_text("VERSION = 7\nPATCHLEVEL = 3\nSUBLEVEL = 0\n")
    (root / "Kconfig").write_text("")
    (root / "scripts/kconfig/merge_config.sh").write_text("")
    (root / "mm/memory.c").write_text("")
    (root / "include/uapi/asm-generic/mman-common.h").write_text(
        "#define MADV_PT_RECLAIM 26\n" if patched else "")
    return root


def test_dry_run_of_check_on_a_users_tree(no_subprocess: list[object], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    tree = fake_tree(tmp_path / "linux", patched=True)
    out = dry(["check", "--kernel-src", str(tree), "--arch", "arm64", "--workload",
               "dontneed-small", "--repeat", "2"], tmp_path, capsys)
    assert f"{tree}, Linux 7.3.0, built as it is" in out
    assert "$ git " not in out                      # a user's tree is not checked out
    assert "debuginfo.config" in out                 # check's own fragment
    assert "mode always " in out and "dontneed-small x 2 rounds" in out
    assert "overhead:" not in out and "peer:mm" not in out    # check's defaults
    assert "up to 2 at a time" in out


def test_dry_run_names_the_modes_the_benchmark_alternates(
        no_subprocess: list[object], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The scanner-cost benchmark's modes come from overhead.toml, not code."""
    real = run_command.load_overhead
    monkeypatch.setattr(run_command, "load_overhead", lambda: tuple(
        replace(o, modes=o.modes[::-1]) for o in real()))
    out = dry(["run", "--arch", "x86_64", "--no-base"], tmp_path, capsys)
    assert "rounds of always/never, wall clock" in out and "never/always, wall" not in out


def test_dry_run_of_check_base_runs_base_modes(no_subprocess: list[object], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Base or patched comes from the input (commands/run.py, kernel_kind), as in a real
    run: check --base is the base kernel, check without it the series under
    development, whatever the tree's uapi header says."""
    tree = fake_tree(tmp_path / "linux", patched=False)
    out = dry(["check", "--kernel-src", str(tree), "--arch", "x86_64", "--base"], tmp_path,
              capsys)
    assert "  mode base " in out and "mode always" not in out
    out = dry(["check", "--kernel-src", str(tree), "--arch", "x86_64"], tmp_path, capsys)
    assert "  mode base " not in out and "mode always " in out


def test_dry_run_of_the_nightly(no_subprocess: list[object], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    out = dry(["nightly", "--arch", "x86_64"], tmp_path, capsys)
    opts = run_command.RunOptions(arches=(), workloads=(), base=False)
    series = run_command.kernels_to_run(opts)[-1]
    assert "suite pt-reclaim-patches/all" in out
    for label in series.labels():
        assert f"build:{label}/x86_64" in out
    suites = [line.split()[1] for line in out.splitlines() if line.startswith("suite ")]
    assert suites[1:] == ["base/x86_64", "pt-reclaim/x86_64", "pt-reclaim+debug/x86_64"]
    assert "peer:mm (full)" in out
    out = dry(["nightly", "--arch", "x86_64", "--no-debug"], tmp_path, capsys)
    assert "pt-reclaim+debug" not in out


def test_dry_run_of_a_per_patch_cell(no_subprocess: list[object], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = dry(["run", "--job", "arm64-patches-default"], tmp_path, capsys)
    suites = [line.split()[1] for line in out.splitlines() if line.startswith("suite ")]
    assert suites == ["pt-reclaim-patches/all"] and "/arm64" in out and "/x86_64" not in out
