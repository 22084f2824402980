"""Which kernel a suite runs as (base or patched) comes from the input,
whether a series was given and applied, never from the tree's contents."""

from pathlib import Path

import pytest

from harness import cli
from harness.commands.run import RunOptions, kernel_kind
from harness.kernel.series import EMPTY, Series
from harness.suite.modes import BASE, PATCHED


def test_the_series_input_decides() -> None:
    series = Series("pt-reclaim", (Path("0001-x.patch"),), "k")
    assert kernel_kind(series, "abc123") == PATCHED
    assert kernel_kind(EMPTY, "worktree") == BASE
    assert kernel_kind(EMPTY, "abc123") == BASE
    # A series that did not apply built nothing patched.
    assert kernel_kind(series, None) == BASE
    # A developer's tree that carries the series (check) is patched as it is.
    assert kernel_kind(EMPTY, "worktree", own_tree_patched=True) == PATCHED


def test_no_grep_of_the_tree() -> None:
    import harness.kernel.source as source
    assert not hasattr(source, "carries_series")


@pytest.mark.parametrize("argv, patched", [
    (["check", "--kernel-src", "/t"], True),
    (["check", "--kernel-src", "/t", "--base"], False),
    (["check", "--kernel-src", "/t", "--series", "/s"], True),
    (["run", "--kernel-src", "/t"], False),
])
def test_check_takes_the_developer_tree_as_patched_unless_base(
        argv: list[str], patched: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[RunOptions] = []
    monkeypatch.setattr(cli, "run", lambda opts: seen.append(opts) or 0)
    assert cli.main(argv) == 0
    assert seen[0].own_tree_patched is patched
