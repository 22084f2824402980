"""The command line: options composed per subcommand, bad values refused
in one line, `list` and `--dry-run` from the data, progress with elapsed
time. All in-process, no kernel, no QEMU, no subprocess."""

import re

import pytest

from harness import progress


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
