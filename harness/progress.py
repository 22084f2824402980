"""Progress lines on the terminal for the long steps, with elapsed time.

Every line starts with the time since the command started
(`[pt-harness +02:13]`), so a log of a run says where its minutes went.
"""

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

_started = time.monotonic()


def start() -> None:
    """Count elapsed time from now (the command's start)."""
    global _started
    _started = time.monotonic()


def elapsed_text(seconds: float) -> str:
    """+MM:SS, or +H:MM:SS past an hour."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"+{h}:{m:02d}:{s:02d}" if h else f"+{m:02d}:{s:02d}"


def say(message: str) -> None:
    # One write per line: suites running in threads must not split lines.
    stamp = elapsed_text(time.monotonic() - _started)
    sys.stderr.write(f"[pt-harness {stamp}] {message}\n")
    sys.stderr.flush()


@contextmanager
def step(what: str) -> Iterator[None]:
    """Announce a long step, then say how long it took or that it failed."""
    say(f"{what} ...")
    start = time.monotonic()
    try:
        yield
    except BaseException:
        say(f"{what}: failed after {time.monotonic() - start:.1f}s")
        raise
    say(f"{what}: done in {time.monotonic() - start:.1f}s")
