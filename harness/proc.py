"""Running host programs: argv lists only (never a shell), logs kept, and
every child in its own process group so an interrupted run can kill it."""

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from .errors import StageFailed, ToolMissing
from .progress import say

_children: set[subprocess.Popen[bytes]] = set()
# Set by an interrupt (Ctrl-C, SIGTERM). Libraries that catch
# KeyboardInterrupt and keep waiting (invoke does, on a remote command)
# are unblocked by killing the children; code then checks this flag.
interrupted = threading.Event()


def interrupt(signum: int, frame: object) -> None:
    """Signal handler: stop every child now, then unwind the harness."""
    interrupted.set()
    kill_all()
    raise KeyboardInterrupt


def check_interrupted() -> None:
    if interrupted.is_set():
        raise KeyboardInterrupt


def require(tool: str, package: str) -> str:
    """Path of `tool`, or a clear error naming the Debian package to install."""
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(f"{tool} not found; install the Debian package {package}")
    return path


def spawn(argv: Sequence[str], *, stdout: int | IO[Any] | None = subprocess.DEVNULL,
          stderr: int | IO[Any] | None = subprocess.STDOUT, cwd: Path | None = None,
          env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a long-lived child (QEMU) that kill_all() will reap; none
    after an interrupt (a suite in another thread may be about to boot)."""
    check_interrupted()
    p = subprocess.Popen(list(argv), stdout=stdout, stderr=stderr, cwd=cwd,
                         env=dict(env) if env is not None else None,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    _children.add(p)
    return p


def kill(p: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """Terminate a child's whole process group, escalating to SIGKILL."""
    if p.poll() is None:
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
    _children.discard(p)


def kill_all() -> None:
    for p in list(_children):
        kill(p, grace=1.0)


def run_logged(argv: Sequence[str], log: Path, *, what: str, cwd: Path | None = None,
               env: Mapping[str, str] | None = None, timeout: float | None = None,
               append: bool = True, heartbeat: float | None = None) -> None:
    """Run argv with stdout and stderr appended to `log`; on failure raise
    StageFailed quoting the log's last lines so the error is self-contained.

    With `heartbeat`, print the elapsed time and the log's last line every
    that many seconds, so a ten-minute build does not look hung."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab" if append else "wb") as out:
        out.write(("$ " + " ".join(argv) + "\n").encode())
        out.flush()
        p = spawn(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        try:
            rc = _wait(p, timeout, heartbeat, log, what)
        except subprocess.TimeoutExpired:
            kill(p)
            raise StageFailed(f"{what}: timed out after {timeout:.0f}s", str(log)) from None
        except BaseException:
            kill(p)
            raise
        finally:
            _children.discard(p)
    if rc != 0:
        raise StageFailed(f"{what}: exit status {rc}\n{tail(log)}", str(log))


def _wait(p: subprocess.Popen[bytes], timeout: float | None, heartbeat: float | None,
          log: Path, what: str) -> int:
    start = time.monotonic()
    while True:
        waited = time.monotonic() - start
        if timeout is not None and waited >= timeout:
            raise subprocess.TimeoutExpired(p.args, timeout)
        slice_ = heartbeat or timeout
        if slice_ is not None and timeout is not None:
            slice_ = min(slice_, timeout - waited)
        try:
            return p.wait(timeout=slice_)
        except subprocess.TimeoutExpired:
            if heartbeat is None and timeout is None:
                continue
            if heartbeat is not None:
                last = tail(log, 1).strip()
                say(f"{what}: {time.monotonic() - start:.0f}s ... {last[:80]}")


def run_capture(argv: Sequence[str], *, what: str, cwd: Path | None = None,
                env: Mapping[str, str] | None = None, timeout: float = 600) -> str:
    """Run a short command and return its stdout; raise StageFailed on failure."""
    try:
        r = subprocess.run(list(argv), cwd=cwd, env=dict(env) if env is not None else None,
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ToolMissing(f"{what}: {argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise StageFailed(f"{what}: timed out after {timeout:.0f}s") from None
    if r.returncode != 0:
        raise StageFailed(f"{what}: exit status {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r.stdout


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in text[-lines:])


def release(p: subprocess.Popen[bytes]) -> None:
    """Leave a child running past the harness (`--keep`): kill_all skips it."""
    _children.discard(p)
