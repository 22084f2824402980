"""A tiny git repository standing in for a kernel tree, for the tests of
series handling: the `tree` fixture (conftest.py) and these helpers."""

import subprocess
from pathlib import Path

from harness.source import BASE_BRANCH, GIT_ID, KernelTree

MEMORY_C = "int a;\nint b;\nint c;\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_ID, "-C", str(repo), *args], check=True,
                          capture_output=True, text=True).stdout


def make_tree(repo: Path) -> KernelTree:
    """mm/memory.c with three lines, committed on the base branch."""
    (repo / "mm").mkdir(parents=True)
    (repo / "mm" / "memory.c").write_text(MEMORY_C)
    git(repo, "init", "-q", "-b", BASE_BRANCH)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return KernelTree(repo, "test", "k", scratch=True)


def commit_edits(tree: KernelTree, branch: str,
                 edits: list[tuple[str, str, str]]) -> None:
    """On a new `branch` from the base, one commit per (old, new, subject)
    replacing `old` by `new` in mm/memory.c; the branch stays checked out."""
    git(tree.path, "checkout", "-q", "-b", branch, BASE_BRANCH)
    f = tree.path / "mm" / "memory.c"
    for old, new, subject in edits:
        f.write_text(f.read_text().replace(old, new))
        git(tree.path, "commit", "-q", "-am", subject)
