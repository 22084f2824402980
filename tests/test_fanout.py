"""Suites side by side: really concurrent, and one failure stops the rest."""

import threading
import time
from collections.abc import Iterator

import pytest

from harness import proc
from harness.suite import fanout


@pytest.fixture(autouse=True)
def clear_interrupt() -> Iterator[None]:
    yield
    proc.interrupted.clear()


def test_tasks_run_at_the_same_time() -> None:
    # Each task waits for the other: run one after the other, they would
    # time out at the barrier (BrokenBarrierError).
    both = threading.Barrier(2, timeout=10)
    seen: list[str] = []
    fanout.run_all([lambda: seen.append(f"a{both.wait()}"),
                    lambda: seen.append(f"b{both.wait()}")], 2)
    assert sorted(s[0] for s in seen) == ["a", "b"]


def test_one_at_a_time_keeps_the_order() -> None:
    seen: list[int] = []
    fanout.run_all([lambda: seen.append(1), lambda: seen.append(2)], 1)
    assert seen == [1, 2] and not proc.interrupted.is_set()


def test_a_failing_task_stops_the_others() -> None:
    """The survivor sees the interrupt flag (as its next spawn would) and
    ends; run_all raises the first failure only after both threads ended."""
    ended: list[str] = []
    started = threading.Event()

    def fails() -> None:
        started.wait(10)
        raise RuntimeError("bug in one suite")

    def waits_for_interrupt() -> None:
        started.set()
        deadline = time.monotonic() + 10
        while not proc.interrupted.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        ended.append("interrupted" if proc.interrupted.is_set() else "timed out")

    with pytest.raises(RuntimeError, match="bug in one suite"):
        fanout.run_all([fails, waits_for_interrupt], 2)
    assert ended == ["interrupted"]
    with pytest.raises(KeyboardInterrupt):
        proc.spawn(["true"])      # no new child once interrupted
