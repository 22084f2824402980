"""Progress lines on the terminal for the long steps, with elapsed time."""

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def say(message: str) -> None:
    # One write per line: suites running in threads must not split lines.
    sys.stderr.write(f"[pt-harness] {message}\n")
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
