"""The nightly's per-patch walk names the patch and the arch that broke.

The series and its application are real (git am on a tiny tree); the
kernel build is replaced by a function that fails where a real arm64
build would, because this test is about the walk's bookkeeping, not about
make. The real builds run in `pt-harness nightly` itself."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from gitrepo import commit_edits, git

from harness import nightly
from harness.arches import ARM64, X86_64
from harness.job import RunOptions, begin
from harness.results import FAILED, PASSED, Check
from harness.series import load_series
from harness.source import BASE_BRANCH, KernelTree


def test_patch_that_breaks_arm64_only(tree: KernelTree, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path / "cache"))
    pdir = tmp_path / "series"
    commit_edits(tree, "topic", [("int a;", "int a1;", "mm: fine"),
                                 ("int b;", "int arm64_breaker;", "mm: breaks-arm64"),
                                 ("int c;", "int c1;", "mm: fine-again")])
    git(tree.path, "format-patch", "-q", "-o", str(pdir), f"{BASE_BRANCH}..topic")
    git(tree.path, "checkout", "-q", BASE_BRANCH)
    (pdir / "series").write_text("\n".join(p.name for p in sorted(pdir.glob("*.patch"))))
    series = load_series(pdir)
    built: list[tuple[str, str]] = []

    def fake_build(t: KernelTree, commit: str, arch, fragments, label, out=None):  # type: ignore[no-untyped-def]
        text = git(t.path, "show", f"{commit}:mm/memory.c")
        built.append((arch.name, label))
        if arch is ARM64 and "arm64_breaker" in text:
            raise RuntimeError("mm/memory.c:2: error: 'arm64_breaker' undeclared")
        return SimpleNamespace(rebuilt=True)

    monkeypatch.setattr(nightly, "build", fake_build)
    monkeypatch.setattr(nightly, "checkpatch",
                        lambda t, p: Check(f"checkpatch:{p.name}", PASSED))
    monkeypatch.setattr(nightly, "_w1", lambda *a: Check(f"w1:{a[4]}", PASSED))
    opts = RunOptions(arches=(X86_64, ARM64), workloads=(), results=tmp_path / "results")
    state = begin(opts, [series])
    assert nightly.per_patch(state, opts, tree, series)
    checks = {c.name: c for c in state.suites[0].checks}
    assert checks["build:02-mm-breaks-arm64/arm64"].status == FAILED
    assert checks["build:02-mm-breaks-arm64/arm64"].message == "patch 2 breaks the arm64 build"
    assert "arm64_breaker" in checks["build:02-mm-breaks-arm64/arm64"].detail
    for name in ("build:01-mm-fine", "build:02-mm-breaks-arm64", "build:03-mm-fine-again"):
        assert checks[f"{name}/x86_64"].status == PASSED
    # The walk goes on after a break: patch 3 still carries patch 2's
    # breakage, so it fails too; patch 1 before it was fine.
    assert checks["build:03-mm-fine-again/arm64"].status == FAILED
    assert checks["build:01-mm-fine/arm64"].status == PASSED
    assert "w1:02-mm-breaks-arm64/arm64" not in checks     # no W=1 on a failed build
    assert len(built) == 6
    assert (state.rundir.path / "junit.xml").exists()


def test_base_moved_is_said_plainly(tree: KernelTree, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A series made against an older base: the nightly names the patch and
    the file that no longer apply, and still writes its report."""
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path / "cache"))
    pdir = tmp_path / "series"
    commit_edits(tree, "old-base", [("int b;", "int old;", "the base as it was"),
                                    ("int old;", "int old2;", "mm: change old")])
    git(tree.path, "format-patch", "-q", "-1", "-o", str(pdir))
    git(tree.path, "checkout", "-q", BASE_BRANCH)
    (pdir / "series").write_text("".join(p.name + "\n" for p in sorted(pdir.glob("*.patch"))))
    series = load_series(pdir)
    opts = RunOptions(arches=(X86_64,), workloads=(), results=tmp_path / "results")
    state = begin(opts, [series])
    assert not nightly.per_patch(state, opts, tree, series)
    (apply_check,) = state.suites[0].checks
    assert apply_check.message.startswith("the series no longer applies to test: ")
    assert "patch 1/1 0001-mm-change-old.patch does not apply" in apply_check.message
    assert "mm/memory.c" in apply_check.detail
    assert "apply" in (state.rundir.path / "junit.xml").read_text()
