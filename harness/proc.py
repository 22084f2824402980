"""Running host programs, all of them (tests/test_lint.py holds every
other module to it): argv lists only (never a shell), a timeout on every
command, logs kept, every child in its own process group and in the
registry an interrupt kills, and failures as HarnessErrors with a cause
(errors.py): a missing program is ToolMissing, a timeout or a full disk
the host's, a non-zero exit whatever the caller says it means."""

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import HOST, StageFailed, ToolMissing
from .progress import say

# A short host command (git, readelf, mke2fs) that has not ended by then
# has hung: no caller may wait forever.
DEFAULT_TIMEOUT = 600.0
# What a full disk looks like in a tool's output: the host's failure,
# whatever the caller would make of the exit status.
_DISK_FULL = "No space left on device"

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


@dataclass(frozen=True)
class Completed:
    """A finished host command (text or bytes, as asked)."""
    argv: tuple[str, ...]
    returncode: int
    stdout: Any
    stderr: Any
    seconds: float


def failure_cause(output: str, cause: str) -> str:
    return HOST if _DISK_FULL in output else cause


def run(argv: Sequence[str], *, what: str, cwd: Path | None = None,
        env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
        input: str | bytes | None = None, stdout: IO[Any] | None = None, text: bool = True,
        check: bool = True, log: Path | None = None, cause: str = HOST) -> Completed:
    """Run a host command to its end and return what it printed.

    Its own process group, in the registry an interrupt kills; killed at
    `timeout` (StageFailed, the host's). `stdout`: a file to write to
    instead of capturing. `log`: the command and its output appended
    there. `check`: a non-zero exit raises StageFailed with `cause` (a full
    disk is always the host's); without it, the caller reads returncode.
    A program that is not installed is ToolMissing."""
    check_interrupted()
    argv = [str(a) for a in argv]
    start = time.monotonic()
    try:
        p = subprocess.Popen(argv, cwd=cwd, env=dict(env) if env is not None else None,
                             stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                             stdout=stdout if stdout is not None else subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
    except FileNotFoundError:
        raise ToolMissing(f"{what}: {argv[0]} not found") from None
    _children.add(p)
    data = input.encode() if isinstance(input, str) else input
    with _reaped(p, what, timeout, log):
        out, err = p.communicate(data, timeout=timeout)
    check_interrupted()         # killed by an interrupt: not a result
    raw_out: bytes = out if out is not None else b""
    said = err.decode(errors="replace")
    result = Completed(tuple(argv), p.returncode,
                       raw_out.decode(errors="replace") if text else raw_out,
                       said if text else err, time.monotonic() - start)
    if log is not None:
        _log_output(log, argv, result)
    if check and p.returncode != 0:
        raise StageFailed(f"{what}: exit status {p.returncode}: {said.strip()[-2000:]}",
                          str(log) if log else None, cause=failure_cause(said, cause))
    return result


@contextmanager
def _reaped(p: subprocess.Popen[Any], what: str, timeout: float | None,
            log: Path | None) -> Iterator[None]:
    """Wait for `p` inside the block; whatever ends the wait (a timeout,
    an interrupt, a bug) kills its process group, so that no child outlives
    the harness's interest in it, and takes it off the registry."""
    try:
        yield
    except subprocess.TimeoutExpired:
        kill(p)
        raise StageFailed(f"{what}: timed out after {timeout:.0f}s",
                          str(log) if log else None) from None
    except BaseException:
        kill(p)
        raise
    finally:
        _children.discard(p)


def _log_output(log: Path, argv: Sequence[str], r: Completed) -> None:
    def show(x: Any) -> str:
        return x if isinstance(x, str) else x.decode(errors="replace")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        f.write("$ " + " ".join(argv) + "\n" + show(r.stdout) + show(r.stderr))


def run_logged(argv: Sequence[str], log: Path, *, what: str, cwd: Path | None = None,
               env: Mapping[str, str] | None = None, timeout: float | None = None,
               append: bool = True, heartbeat: float | None = None,
               cause: str = HOST) -> None:
    """Run argv with stdout and stderr appended to `log`; on failure raise
    StageFailed quoting the log's last lines so the error is self-contained,
    with `cause` for a non-zero exit (a full disk and a timeout are the
    host's whatever the caller says).

    With `heartbeat`, print the elapsed time and the log's last line every
    that many seconds, so a ten-minute build does not look hung."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab" if append else "wb") as out:
        out.write(("$ " + " ".join(argv) + "\n").encode())
        out.flush()
        p = spawn(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        with _reaped(p, what, timeout, log):
            rc = _wait(p, timeout, heartbeat, log, what)
    check_interrupted()         # killed by an interrupt: not a result
    if rc != 0:
        raise StageFailed(f"{what}: exit status {rc}\n{tail(log)}", str(log),
                          cause=failure_cause(tail(log, 40), cause))


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
                env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                cause: str = HOST) -> str:
    """Run a short command and return its stdout; raise StageFailed on failure."""
    return str(run(argv, what=what, cwd=cwd, env=env, timeout=timeout, cause=cause).stdout)


def tail(path: Path, lines: int = 15, indent: str = "    ", missing: str = "") -> str:
    """The last `lines` lines of a log, each after `indent` (a failure's
    message indents them under its first line); `missing` if it cannot be read."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return missing
    return "\n".join(indent + line for line in text[-lines:])


def release(p: subprocess.Popen[bytes]) -> None:
    """Leave a child running past the harness (`--keep`): kill_all skips it."""
    _children.discard(p)
