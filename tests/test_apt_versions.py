"""AptRepo.versions(): one apt-cache call for many packages, then a memo
that lives exactly as long as the package lists (apt-cache faked: the
parsing and the memo are the logic under test)."""

import os
from pathlib import Path

import pytest

from harness.kernel import debian

SHOW = """Package: busybox-static
Version: 1:1.35.0-4+b1
Architecture: amd64

Package: dropbear-bin
Version: 2022.83-1+deb12u3
Architecture: amd64
"""


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[debian.AptRepo, list[list[str]]]:
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path))
    calls: list[list[str]] = []

    def fake_apt_cache(argv: list[str], **_: object) -> str:
        calls.append(argv)
        return SHOW
    monkeypatch.setattr(debian, "run_capture", fake_apt_cache)
    r = debian.AptRepo("bookworm", "amd64", mirror="http://deb.invalid/debian")
    r.lists.mkdir(parents=True)
    (r.lists / "deb.invalid_debian_dists_bookworm_main_binary-amd64_Packages").write_text("x")
    return r, calls


def test_one_call_then_the_memo(repo: tuple[debian.AptRepo, list[list[str]]]) -> None:
    r, calls = repo
    want = {"busybox-static": "1:1.35.0-4+b1", "dropbear-bin": "2022.83-1+deb12u3"}
    assert r.versions(["busybox-static", "dropbear-bin"]) == want
    assert len(calls) == 1 and calls[0][-2:] == ["busybox-static", "dropbear-bin"]
    assert r.version("dropbear-bin") == "2022.83-1+deb12u3"
    assert len(calls) == 1


def test_new_lists_forget_the_memo(repo: tuple[debian.AptRepo, list[list[str]]]) -> None:
    r, calls = repo
    r.versions(["busybox-static"])
    lists = next(r.lists.glob("*_Packages"))
    os.utime(lists, ns=(0, lists.stat().st_mtime_ns + 10**9))   # as `apt-get update` would
    r.versions(["busybox-static"])
    assert len(calls) == 2


def test_unknown_package(repo: tuple[debian.AptRepo, list[list[str]]]) -> None:
    r, _ = repo
    with pytest.raises(LookupError, match="no-such has no version in bookworm/amd64"):
        r.versions(["no-such"])
