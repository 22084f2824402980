import subprocess
from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.guest import cpio
from harness.kernel.series import failed_patch_detail, load_series


def test_cpio_is_read_by_gnu_cpio(tmp_path: Path) -> None:
    raw = cpio.archive([cpio.directory("etc"), cpio.file("etc/passwd", b"root:x:0:0\n"),
                        cpio.symlink("bin/sh", "busybox"), cpio.directory("bin"),
                        cpio.chardev("dev/console", 5, 1), cpio.directory("dev")])
    listing = subprocess.run(["cpio", "-t", "-v", "--quiet"], input=raw, capture_output=True,
                             check=True).stdout.decode()
    lines = listing.splitlines()
    names = [ln.split()[-1] if "->" not in ln else ln.split()[-3] for ln in lines]
    assert names == ["bin", "bin/sh", "dev", "dev/console", "etc", "etc/passwd"]
    assert any(ln.startswith("crw") for ln in lines)
    assert cpio.archive([cpio.file("a", b"x")]) == cpio.archive([cpio.file("a", b"x")])


def test_series_file_order_and_cover_letter_skipped(tmp_path: Path) -> None:
    for n in ("0000-cover-letter.patch", "0001-a.patch", "0002-b.patch"):
        (tmp_path / n).write_text(n)
    (tmp_path / "series").write_text("# comment\n0002-b.patch\n\n0001-a.patch\n")
    s = load_series(tmp_path)
    assert [p.name for p in s.patches] == ["0002-b.patch", "0001-a.patch"]
    (tmp_path / "series").write_text("0000-cover-letter.patch\n0001-a.patch\n")
    assert [p.name for p in load_series(tmp_path).patches] == ["0001-a.patch"]


def test_series_missing_patch_named(tmp_path: Path) -> None:
    (tmp_path / "series").write_text("0001-gone.patch\n")
    with pytest.raises(BadInput, match=r"series:1: patch 0001-gone.patch does not exist"):
        load_series(tmp_path)


def test_series_dir_missing(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such directory"):
        load_series(tmp_path / "nope")


def test_git_am_failure_detail() -> None:
    out = ("Applying: mm: add thing\nerror: patch failed: mm/memory.c:1982\n"
           "error: mm/memory.c: patch does not apply\nPatch failed at 0001 mm: add thing\n"
           "hint: Use 'git am --show-current-patch=diff'\n")
    d = failed_patch_detail(out)
    assert "mm/memory.c:1982" in d and "hint" not in d


def test_run_initrd_pads_to_four_bytes(tmp_path: Path) -> None:
    from harness.arches import X86_64
    from harness.guest.image import GuestImage, write_run_initrd
    for extra in range(4):
        base = tmp_path / f"base{extra}.cpio"
        base.write_bytes(b"070701" + b"x" * (5 + extra))
        out = write_run_initrd(GuestImage(X86_64, base, "k"), b"070701OVERLAY", tmp_path / "i")
        data = out.read_bytes()
        assert data.rindex(b"070701OVERLAY") % 4 == 0
        assert data.endswith(b"070701OVERLAY")
