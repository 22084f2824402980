"""The harness cache: kernel sources, build trees, guest images, ccache.

Shared by concurrent runs, so anything that fills it takes a lock and
publishes its result with an atomic rename: a crash leaves a stale
temporary directory, never a half-written entry that looks complete.
"""

import fcntl
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


def cache_root() -> Path:
    env = os.environ.get("PT_HARNESS_CACHE")
    root = Path(env) if env else Path.home() / ".cache" / "pt-harness"
    root.mkdir(parents=True, exist_ok=True)
    return root


def key_of(parts: Iterable[str | bytes], length: int = 16) -> str:
    """A short stable digest of ordered parts (cache and build keys)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()[:length]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created if needed) for the block.

    flock locks die with the process, so a killed run never leaves the
    cache locked."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextmanager
def publishing(final: Path) -> Iterator[Path]:
    """Yield a temporary directory beside `final`; rename it into place when
    the block succeeds, remove it when it fails."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """A temporary name beside `path` for a writer to fill, renamed over
    `path` when the block ends without an error: readers see the old or the
    new content, never half. Unique per process and thread (suites of one
    run write side by side); removed if the block fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write a file so readers see the old or the new content, never half."""
    with atomic_file(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
