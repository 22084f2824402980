"""Fetching Debian packages without touching the machine's apt set-up.

apt-get runs against a private sources list and lists directory in the
cache (DESIGN.md, "Base kernel"); the machine's /etc/apt is never written.
"""

import json
import re
from pathlib import Path

from ..cache import atomic_write, cache_root, locked
from ..proc import require, run_capture, run_logged

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def machine_mirror() -> str:
    """The Debian mirror the machine's apt already uses (deb822 or one-line)."""
    candidates = [Path("/etc/apt/sources.list")]
    d = Path("/etc/apt/sources.list.d")
    if d.is_dir():
        candidates += sorted(d.iterdir())
    for f in candidates:
        try:
            text = f.read_text()
        except OSError:
            continue
        for m in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, re.M):
            uri = m.group(1)
            if "security" not in uri and uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    return DEFAULT_MIRROR


def host_debian_arch() -> str:
    return run_capture(["dpkg", "--print-architecture"], what="dpkg --print-architecture").strip()


class AptRepo:
    """One suite of one architecture, with private lists under the cache."""

    def __init__(self, suite: str, debian_arch: str, mirror: str | None = None) -> None:
        self.suite = suite
        self.arch = debian_arch
        self.mirror = mirror or machine_mirror()
        self.root = cache_root() / "apt" / f"{suite}-{debian_arch}"
        self.lists = self.root / "lists"
        self.sources = self.root / "sources.list"
        self.log = self.root / "apt.log"

    def _opts(self) -> list[str]:
        return [
            "-o", f"Dir::Etc::SourceList={self.sources}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={self.lists}",
            "-o", f"APT::Architecture={self.arch}",
            "-o", f"APT::Architectures={self.arch}",
            "-o", "Debug::NoLocking=1",
        ]

    def update(self) -> None:
        require("apt-get", "apt")
        with locked(self.root / ".lock"):
            (self.lists / "partial").mkdir(parents=True, exist_ok=True)
            atomic_write(self.sources,
                         f"deb [signed-by={KEYRING}] {self.mirror} {self.suite} main\n")
            run_logged(["apt-get", *self._opts(), "update"], self.log,
                       what=f"apt-get update ({self.suite}, {self.arch})", timeout=600)

    def ensure_lists(self) -> None:
        if not any(self.lists.glob("*_Packages*")):
            self.update()

    def version(self, package: str) -> str:
        """Candidate version of `package` in this suite."""
        return self.versions([package])[package]

    def versions(self, packages: list[str]) -> dict[str, str]:
        """Candidate versions, from a memo tied to the package lists.

        Without a pkgcache of its own apt-cache rebuilds one from the lists
        on every call (1-1.5 s here): eight lookups were most of a warm
        `check`. The memo is keyed by the lists' names, sizes and mtimes,
        which only an `update` changes."""
        self.ensure_lists()
        memo = self.root / "versions.json"
        stamp = self._lists_stamp()
        try:
            saved = json.loads(memo.read_text())
            known: dict[str, str] = saved["versions"] if saved["lists"] == stamp else {}
        except (OSError, ValueError, KeyError, TypeError):
            known = {}
        missing = [p for p in packages if p not in known]
        if missing:
            out = run_capture(["apt-cache", *self._opts(), "show", "--no-all-versions",
                               *missing], what=f"apt-cache show {' '.join(missing)}")
            for stanza in out.split("\n\n"):
                name = re.search(r"^Package:\s*(\S+)", stanza, re.M)
                version = re.search(r"^Version:\s*(\S+)", stanza, re.M)
                if name and version:
                    known.setdefault(name.group(1), version.group(1))
            atomic_write(memo, json.dumps({"lists": stamp, "versions": known}))
        for p in packages:
            if p not in known:
                raise LookupError(f"{p} has no version in {self.suite}/{self.arch}")
        return {p: known[p] for p in packages}

    def _lists_stamp(self) -> list[str]:
        return sorted(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}"
                      for f in self.lists.glob("*_Packages*"))

    def download(self, package: str, dest: Path) -> Path:
        """Download the candidate .deb of `package` into dest; return its path."""
        self.ensure_lists()
        dest.mkdir(parents=True, exist_ok=True)
        run_logged(["apt-get", *self._opts(), "download", package], self.log,
                   what=f"apt-get download {package} ({self.arch})", cwd=dest, timeout=900)
        version = self.version(package).replace(":", "%3a")
        debs = sorted(dest.glob(f"{package}_{version}_*.deb"))
        if not debs:
            raise LookupError(f"apt-get download {package} left no .deb in {dest}")
        return debs[0]


def extract_deb(deb: Path, into: Path) -> None:
    require("dpkg-deb", "dpkg")
    run_capture(["dpkg-deb", "-x", str(deb), str(into)], what=f"dpkg-deb -x {deb.name}")
