"""A writer for the kernel's initramfs format (cpio "newc").

Written here rather than shelling out to cpio(1) so device nodes and root
ownership need no root privileges, and archives are byte-for-byte
reproducible (fixed mtimes, sorted entries).
"""

import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Entry:
    path: str              # inside the archive, no leading slash
    mode: int              # full st_mode (type and permission bits)
    data: bytes = b""      # file contents, or the target of a symlink
    rdev: tuple[int, int] = (0, 0)


def directory(path: str, perm: int = 0o755) -> Entry:
    return Entry(path, stat.S_IFDIR | perm)


def file(path: str, data: bytes, perm: int = 0o644) -> Entry:
    return Entry(path, stat.S_IFREG | perm, data)


def symlink(path: str, target: str) -> Entry:
    return Entry(path, stat.S_IFLNK | 0o777, target.encode())


def chardev(path: str, major: int, minor: int, perm: int = 0o600) -> Entry:
    return Entry(path, stat.S_IFCHR | perm, rdev=(major, minor))


def _pad(n: int) -> bytes:
    return b"\0" * ((4 - n % 4) % 4)


def _header(ino: int, e: Entry, name: bytes) -> bytes:
    fields = [ino, e.mode, 0, 0, 1, 0, len(e.data), 0, 0, e.rdev[0], e.rdev[1],
              len(name) + 1, 0]
    return b"070701" + b"".join(f"{v:08x}".encode() for v in fields)


def archive(entries: list[Entry]) -> bytes:
    """The newc archive of `entries`, parents listed before children."""
    out = bytearray()
    for ino, e in enumerate(sorted(entries, key=lambda e: e.path.lstrip("/")), start=1):
        name = e.path.lstrip("/").encode()
        hdr = _header(ino, e, name) + name + b"\0"
        out += hdr + _pad(len(hdr)) + e.data + _pad(len(e.data))
    trailer = Entry("TRAILER!!!", 0)
    hdr = _header(0, trailer, b"TRAILER!!!") + b"TRAILER!!!\0"
    out += hdr + _pad(len(hdr))
    return bytes(out)


def tree_entries(root: Path, prefix: str) -> list[Entry]:
    """Entries for every file, dir and symlink under `root`, placed at `prefix`."""
    entries = [directory(prefix)] if prefix else []
    for p in sorted(root.rglob("*")):
        rel = f"{prefix}/{p.relative_to(root)}".lstrip("/")
        if p.is_symlink():
            entries.append(symlink(rel, str(p.readlink())))
        elif p.is_dir():
            entries.append(directory(rel))
        else:
            entries.append(file(rel, p.read_bytes(), p.stat().st_mode & 0o777))
    return entries
