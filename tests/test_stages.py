"""The stage loop (harness/suite/stages.py) on its own: needs, skips, what is
closed when, and what it refuses to run."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from harness.errors import HOST, TEST, CodeFailed
from harness.results import ERROR, PASSED, SKIPPED, Check
from harness.suite.stages import Stage, StageContext, Stop, run_stages


class Log:
    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.events: list[str] = []

    def record(self, c: Check) -> Check:
        self.checks.append(c)
        return c

    def skip(self, names: list[str], why: str) -> None:
        self.checks += [Check(n, SKIPPED, message=why) for n in names]

    def by_name(self) -> dict[str, Check]:
        return {c.name: c for c in self.checks}

    @contextmanager
    def resource(self, name: str) -> Iterator[str]:
        self.events.append(f"open {name}")
        try:
            yield name
        finally:
            self.events.append(f"close {name}")


def passing(name: str, log: Log, value: object = None):  # type: ignore[no-untyped-def]
    def run(ctx: StageContext) -> object:
        log.events.append(f"run {name}")
        ctx.record(Check(name, PASSED))
        return value
    return run


def test_failure_skips_dependents_transitively() -> None:
    log = Log()

    def broken(ctx: StageContext) -> None:
        raise CodeFailed("does not build")

    out = run_stages([
        Stage("a", broken, checks=("a",), failed="a broke"),
        Stage("b", passing("b", log), needs=("a",), checks=("b",)),
        Stage("c", passing("c", log), needs=("b",), checks=("c1", "c2")),
        Stage("d", passing("d", log), checks=("d",)),
    ], log.record, log.skip)
    c = log.by_name()
    assert c["a"].status == ERROR and c["a"].cause == TEST
    assert [(c[n].status, c[n].message) for n in ("b", "c1", "c2")] == [(SKIPPED, "a broke")] * 3
    assert c["d"].status == PASSED
    assert log.events == ["run d"]
    assert not out.ok("a") and not out.ok("c") and out.ok("d")


def test_stop_keeps_the_stage_own_verdict() -> None:
    log = Log()

    def stops(ctx: StageContext) -> None:
        ctx.record(Check("boot", "failed", message="1 CPU"))
        raise Stop("too few CPUs")

    run_stages([Stage("boot", stops, checks=("boot", "extra")),
                Stage("w", passing("w", log), needs=("boot",), checks=("w",))],
               log.record, log.skip)
    c = log.by_name()
    assert c["boot"].message == "1 CPU"
    assert c["extra"].message == c["w"].message == "too few CPUs"


def test_resources_closed_after_their_last_reader() -> None:
    log = Log()

    def opens(ctx: StageContext) -> str:
        return ctx.enter(log.resource("vm"))

    def reads(ctx: StageContext) -> None:
        log.events.append(f"read {ctx['boot']}")

    def later(ctx: StageContext) -> None:
        log.events.append("later")
        assert ctx.get("boot") == "vm" and ctx.get("nothing", 3) == 3

    run_stages([Stage("boot", opens), Stage("use", reads, needs=("boot",)),
                Stage("after", later, needs=("boot",), uses=())], log.record, log.skip)
    assert log.events == ["open vm", "read vm", "close vm", "later"]


def test_failed_stage_closes_at_once_and_interrupt_closes_all() -> None:
    log = Log()

    def opens_then_fails(ctx: StageContext) -> None:
        ctx.enter(log.resource("half"))
        raise RuntimeError("bug")

    def opens(ctx: StageContext) -> None:
        ctx.enter(log.resource("vm"))
        ctx.callback(log.events.append, "unlink disk")

    def interrupted(ctx: StageContext) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stages([Stage("x", opens_then_fails), Stage("boot", opens),
                    Stage("w", interrupted, needs=("boot",))], log.record, log.skip)
    assert log.events == ["open half", "close half", "open vm", "unlink disk", "close vm"]
    x = log.by_name()["x"]
    assert x.cause == HOST and x.message == "internal error: RuntimeError: bug"


@pytest.mark.parametrize("stages, why", [
    ([Stage("a", lambda ctx: None, needs=("b",))], "not an earlier stage"),
    ([Stage("a", lambda ctx: None), Stage("a", lambda ctx: None)], "declared twice"),
    ([Stage("a", lambda ctx: None, uses=("z",))], "not an earlier stage"),
])
def test_declaration_refused(stages: list[Stage], why: str) -> None:
    log = Log()
    with pytest.raises(ValueError, match=why):
        run_stages(stages, log.record, log.skip)
