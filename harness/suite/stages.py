"""Declared stages: a suite as a list of steps, each naming the earlier
steps it needs, run in order by one loop.

In the spirit of TuxMake's targets with dependencies: a stage that fails
(raises, or stops after recording its own verdict) has every stage that
needs it, directly or not, recorded as skipped with the reason, never run
and never passed. The one loop also does what each step used to repeat:
an exception becomes the stage's ERROR check with the exception's cause
(errors.py), and what a stage opened (a booted guest, a scratch disk) is
closed as soon as the last stage using it is done, or on the way out of
an interrupt.
"""

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

from ..results import SKIPPED, Check, error_check

T = TypeVar("T")


class Stop(Exception):
    """Raised by a stage that recorded its own verdict (a boot that failed
    its check) and cannot give the stages that need it what they need."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Stage:
    """One step. `run` gets a StageContext and returns what later stages
    read as ctx[name] (None if it has nothing to give).

    needs:  earlier stages that must have succeeded, else this is skipped
    uses:   earlier stages whose results it reads (kept open until it has
            run); default: `needs`
    checks: the checks it records, recorded as skipped when it is
    error:  the check an exception is recorded as (default: the first of
            `checks` not yet recorded, else the stage's name)
    failed: why the stages that need it are skipped when it fails
    """
    name: str
    run: Callable[["StageContext"], Any]
    needs: tuple[str, ...] = ()
    uses: tuple[str, ...] | None = None
    checks: tuple[str, ...] = ()
    error: str | None = None
    failed: str = ""

    @property
    def reads(self) -> tuple[str, ...]:
        return self.needs if self.uses is None else self.uses

    @property
    def skip_reason(self) -> str:
        return self.failed or f"{self.name} failed"


class StageContext:
    """What a running stage sees: the results of the stages before it, a
    way to record checks, and a place to register what must be closed."""

    def __init__(self, stage: Stage, results: dict[str, Any],
                 record: Callable[[Check], Check], stack: ExitStack) -> None:
        self.stage = stage
        self._results = results
        self._record = record
        self._stack = stack
        self.recorded: list[str] = []

    def __getitem__(self, name: str) -> Any:
        """The result of an earlier stage that succeeded."""
        return self._results[name]

    def get(self, name: str, default: Any = None) -> Any:
        """The result of an earlier stage, or `default` if it did not run,
        failed or is not part of this suite."""
        return self._results.get(name, default)

    def record(self, check: Check) -> Check:
        self.recorded.append(check.name)
        return self._record(check)

    def enter(self, cm: AbstractContextManager[T]) -> T:
        """Enter `cm`; it is exited when the last stage using this one is done."""
        return self._stack.enter_context(cm)

    def callback(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._stack.callback(fn, *args, **kwargs)


@dataclass
class Outcome:
    """How each stage ended: None ran and succeeded, else why its
    dependents are skipped (its own failure, or what it was skipped for)."""
    blocked: dict[str, str | None]

    def ok(self, name: str) -> bool:
        return name in self.blocked and self.blocked[name] is None


def check_declaration(stages: Sequence[Stage]) -> None:
    """Every need and use names an earlier stage, each name once."""
    seen: set[str] = set()
    for st in stages:
        if st.name in seen:
            raise ValueError(f"stage {st.name!r} declared twice")
        for n in (*st.needs, *st.reads):
            if n not in seen:
                raise ValueError(f"stage {st.name!r} needs {n!r}, which is not an "
                                 f"earlier stage")
        seen.add(st.name)


def run_stages(stages: Sequence[Stage], record: Callable[[Check], Check],
               skip: Callable[[list[str], str], None]) -> Outcome:
    """Run `stages` in order. `record` saves one check; `skip` records
    names as skipped for a reason. KeyboardInterrupt is not caught: it
    unwinds through here, closing everything opened so far."""
    check_declaration(stages)
    last_reader = {st.name: i for i, st in enumerate(stages)}
    for i, st in enumerate(stages):
        for n in st.reads:
            last_reader[n] = i
    results: dict[str, Any] = {}
    blocked: dict[str, str | None] = {}
    stacks: dict[str, ExitStack] = {}
    try:
        for i, st in enumerate(stages):
            reason = next((blocked[n] for n in st.needs if blocked[n] is not None), None)
            if reason is not None:
                blocked[st.name] = reason
                skip(list(st.checks), reason)
            else:
                stack = stacks[st.name] = ExitStack()
                blocked[st.name] = _run_one(st, results, record, skip, stack)
                if blocked[st.name] is not None:      # nothing of it is of use
                    stacks.pop(st.name).close()
            for name in [n for n, last in last_reader.items() if last == i and n in stacks]:
                stacks.pop(name).close()
    finally:
        for name in reversed(list(stacks)):
            stacks.pop(name).close()
    return Outcome(blocked)


def _run_one(st: Stage, results: dict[str, Any], record: Callable[[Check], Check],
             skip: Callable[[list[str], str], None], stack: ExitStack) -> str | None:
    ctx = StageContext(st, results, record, stack)
    start = time.monotonic()
    try:
        results[st.name] = st.run(ctx)
        return None
    except Stop as e:
        rest = [c for c in st.checks if c not in ctx.recorded]
        if rest:
            skip(rest, e.reason)
        return e.reason
    except Exception as e:   # noqa: BLE001 - the stage's check says what and whose
        rest = [c for c in st.checks if c not in ctx.recorded]
        name = st.error or (rest[0] if rest else st.name)
        record(error_check(name, e, time.monotonic() - start))
        rest = [c for c in rest if c != name]
        if rest:
            skip(rest, st.skip_reason)
        return st.skip_reason


def skipped(names: list[str], reason: str) -> list[Check]:
    return [Check(n, SKIPPED, message=reason) for n in names]
