"""series.apply against a real (tiny) git repository."""

from pathlib import Path

import pytest
from gitrepo import commit_edits, git

from harness.errors import CodeFailed, StageFailed
from harness.kernel.series import Series, apply, load_series
from harness.kernel.source import BASE_BRANCH, KernelTree


def make_patch(tree: KernelTree, out: Path, old: str, new: str, name: str) -> None:
    """A git format-patch file changing `old` to `new`, made on a throwaway branch."""
    git(tree.path, "checkout", "-q", "-b", f"mk-{name}", BASE_BRANCH)
    f = tree.path / "mm" / "memory.c"
    f.write_text(f.read_text().replace(old, new))
    git(tree.path, "commit", "-q", "-am", f"mm: {name}")
    out.mkdir(exist_ok=True)
    git(tree.path, "format-patch", "-q", "-1", "-o", str(out), "--start-number",
        str(len(list(out.glob("*.patch"))) + 1))
    git(tree.path, "checkout", "-q", BASE_BRANCH)


def test_apply_then_reuse(tree: KernelTree, tmp_path: Path) -> None:
    pdir = tmp_path / "series"
    make_patch(tree, pdir, "int b;", "int b2;", "rename-b")
    (pdir / "series").write_text("\n".join(p.name for p in sorted(pdir.glob("*.patch"))))
    s = load_series(pdir)
    tip = apply(tree, s, tmp_path / "apply.log")
    assert "int b2;" in git(tree.path, "show", f"{tip}:mm/memory.c")
    assert apply(tree, s, tmp_path / "apply.log") == tip            # branch reused
    assert "int b;" in git(tree.path, "show", f"{BASE_BRANCH}:mm/memory.c")


def test_patch_that_does_not_apply_is_named(tree: KernelTree, tmp_path: Path) -> None:
    pdir = tmp_path / "series"
    make_patch(tree, pdir, "int c;", "int c2;", "good")
    bad = pdir / "0002-mm-bad.patch"   # expects a line the base does not have
    bad.write_text((pdir / "0001-mm-good.patch").read_text().replace("int c;", "int q;"))
    s = Series("demo", (pdir / "0001-mm-good.patch", bad), "key1")
    with pytest.raises(StageFailed) as e:
        apply(tree, s, tmp_path / "apply.log")
    msg = str(e.value)
    # The code under test failed: exit 1, a JUnit failure (errors.py).
    assert isinstance(e.value, CodeFailed) and e.value.exit_status == 1
    assert "patch 2/2 0002-mm-bad.patch does not apply" in msg
    assert "mm/memory.c" in msg
    assert git(tree.path, "status", "--porcelain") == ""


def test_mbox_with_cover_letter(tree: KernelTree, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path / "cache"))
    commit_edits(tree, "topic", [("int a;", "int a1;", "mm: int a1;"),
                                 ("int c;", "int c1;", "mm: int c1;")])
    mbox = tmp_path / "v2.mbox"
    mbox.write_text(git(tree.path, "format-patch", "--stdout", "--cover-letter",
                        f"{BASE_BRANCH}..topic"))
    git(tree.path, "checkout", "-q", BASE_BRANCH)
    s = load_series(mbox)
    assert len(s.patches) == 2 and s.name == "v2"
    tip = apply(tree, s, tmp_path / "apply.log")
    text = git(tree.path, "show", f"{tip}:mm/memory.c")
    assert "int a1;" in text and "int c1;" in text


def test_not_an_mbox(tmp_path: Path) -> None:
    from harness.errors import BadInput
    f = tmp_path / "notes.txt"
    f.write_text("hello\n")
    with pytest.raises(BadInput, match="not an mbox"):
        load_series(f)


def test_scratch_copy_keeps_user_tree_untouched(tree: KernelTree, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.kernel.source import scratch_copy
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path / "cache"))
    user = KernelTree(tree.path, "test", "user", scratch=False)
    (tree.path / "mm" / "memory.c").write_text("int a;\nint dirty;\nint c;\n")
    before = (git(tree.path, "status", "--porcelain"), git(tree.path, "branch", "-a"))
    copy = scratch_copy(user)
    assert copy.scratch and copy.path != tree.path
    assert "int dirty;" in git(copy.path, "show", f"{BASE_BRANCH}:mm/memory.c")
    assert (git(tree.path, "status", "--porcelain"), git(tree.path, "branch", "-a")) == before
    assert scratch_copy(user).path == copy.path          # same state: reused


def test_git_range_becomes_a_series_on_its_base(tree: KernelTree, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`--range BASE..TIP` of a user's tree: the commits become patches,
    applied on BASE in a copy, and the result is TIP's content."""
    from harness.kernel.series import load_range
    from harness.kernel.source import scratch_copy
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path / "cache"))
    commit_edits(tree, "topic", [("int a;", "int a1;", "mm: int a1;"),
                                 ("int b;", "int b1;", "mm: int b1;")])
    (tree.path / "mm" / "memory.c").write_text("uncommitted\n")    # must not leak in
    user = KernelTree(tree.path, "test", "user", scratch=False)
    series, base = load_range(tree.path, f"{BASE_BRANCH}..topic")
    assert base == git(tree.path, "rev-parse", BASE_BRANCH).strip()
    assert [p.name[:4] for p in series.patches] == ["0001", "0002"]
    assert series.name == "topic"
    copy = scratch_copy(user, base)
    tip = apply(copy, series, tmp_path / "apply.log")
    assert git(copy.path, "show", f"{tip}:mm/memory.c") == \
        git(tree.path, "show", "topic:mm/memory.c")
    assert (tree.path / "mm" / "memory.c").read_text() == "uncommitted\n"


@pytest.mark.parametrize("spec, message", [
    ("topic", "expected BASE..TIP"),
    ("a...b", "expected BASE..TIP"),
    ("nosuch..HEAD", "'nosuch' is not a commit"),
    ("HEAD..HEAD", "no commits between"),
])
def test_bad_git_range(tree: KernelTree, spec: str, message: str) -> None:
    from harness.errors import BadInput
    from harness.kernel.series import load_range
    with pytest.raises(BadInput, match=message):
        load_range(tree.path, spec)


def test_build_key_follows_content_not_commit_message(tree: KernelTree) -> None:
    """Rewording a patch's message re-applies the series as new commits; the
    kernel they build is the same and must not be rebuilt."""
    from harness.arches import get_arch
    from harness.kernel.kbuild import build_key
    x86 = get_arch("x86_64")
    git(tree.path, "commit", "-q", "--allow-empty", "-m", "first wording")
    a = git(tree.path, "rev-parse", "HEAD").strip()
    git(tree.path, "commit", "-q", "--amend", "--allow-empty", "-m", "second wording")
    b = git(tree.path, "rev-parse", "HEAD").strip()
    (tree.path / "mm" / "memory.c").write_text("int changed;\n")
    git(tree.path, "commit", "-q", "-am", "content")
    c = git(tree.path, "rev-parse", "HEAD").strip()
    assert a != b
    assert build_key(tree, a, x86, []) == build_key(tree, b, x86, [])
    assert build_key(tree, a, x86, []) != build_key(tree, c, x86, [])


def test_build_key_ignores_selftests_and_documentation(tree: KernelTree) -> None:
    from harness.arches import get_arch
    from harness.kernel.kbuild import build_key
    x86 = get_arch("x86_64")

    def commit_with(path: str, text: str) -> str:
        f = tree.path / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
        git(tree.path, "add", "-A")
        git(tree.path, "commit", "-q", "-m", path)
        return git(tree.path, "rev-parse", "HEAD").strip()

    a = commit_with("tools/objtool/check.c", "v1\n")
    b = commit_with("tools/testing/selftests/mm/pt_reclaim.c", "v2\n")
    c = commit_with("Documentation/admin-guide/mm/pt_reclaim.rst", "v3\n")
    d = commit_with("tools/objtool/check.c", "v4\n")       # objtool is built
    assert build_key(tree, a, x86, []) == build_key(tree, b, x86, []) == \
        build_key(tree, c, x86, [])
    assert build_key(tree, c, x86, []) != build_key(tree, d, x86, [])


def test_labels_from_the_subject_whatever_the_input(tree: KernelTree, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A series directory, an mbox (whose mails git mailsplit names 0001,
    0002...) and a --range label their patches alike: `<nn>-` and the
    subject as git format-patch spells it in a file name."""
    from harness.kernel.series import load_range
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path / "cache"))
    subjects = ["mm: int a1;", "mm/pt_reclaim: caf\u00e9 au lait [v2]",
                "mm: a subject long enough that git format-patch cuts it in the file name"]
    commit_edits(tree, "topic", [("int a;", "int a1;", subjects[0]),
                                 ("int b;", "int b1;", subjects[1]),
                                 ("int c;", "int c1;", subjects[2])])
    pdir, mbox = tmp_path / "dir", tmp_path / "v3.mbox"
    git(tree.path, "format-patch", "-q", "--cover-letter", "-o", str(pdir),
        "--subject-prefix=PATCH v3", f"{BASE_BRANCH}..topic")
    mbox.write_text(git(tree.path, "format-patch", "--stdout", "--cover-letter",
                        "--subject-prefix=PATCH v3", f"{BASE_BRANCH}..topic"))
    from_dir, from_mbox = load_series(pdir), load_series(mbox)
    from_range, _ = load_range(tree.path, f"{BASE_BRANCH}..topic")
    assert [p.name for p in from_mbox.patches] == ["0002.patch", "0003.patch", "0004.patch"]
    # git's own file names, less their number and .patch, are the slugs
    # (less the '-' git leaves where it cuts a long subject).
    expected = [f"{p.name[2:4]}-{p.name[5:-len('.patch')].rstrip('-')}"
                for p in from_dir.patches]
    assert from_dir.patches[2].name.endswith("-cuts-.patch")
    assert expected[:2] == ["01-mm-int-a1", "02-mm-pt_reclaim-caf-au-lait-v2"]
    assert from_dir.labels() == from_mbox.labels() == from_range.labels() == expected
