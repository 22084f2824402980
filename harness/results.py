"""Stage 8, results: one directory per run, written as the run goes.

Layout of results/<run-id>/:
  run.json                 what ran: command, host, QEMU, kernels, times
  <kernel>-<arch>/         one per suite
    result.json            every check so far, with figures (rewritten
                           atomically after each check, so a crash keeps
                           what was done)
    build.log, console.log, samples-<workload>.json
  <series>-patches-all/    the nightly's per-patch suite, all arches in one
    result.json, checkpatch.log, build-<arch>.log, w1-<arch>.log
  junit.xml                all suites (rewritten after each suite)

The result.json files are the run's one record of its checks: every
report, and the exit status, is made from them and nothing else.
"""

import datetime as dt
import json
import secrets
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import REPO_ROOT
from .cache import atomic_write
from .errors import EXIT_HARNESS_ERROR, HOST, TEST, HarnessError, exit_status

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
# The arch of a suite whose checks span arches (the nightly's per-patch
# walk names the arch in each check instead).
ALL_ARCHES = "all"


@dataclass
class Check:
    name: str
    status: str
    seconds: float = 0.0
    message: str = ""
    detail: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    # When it began, RFC 3339 in UTC (KCIDB's start_time); "" for a check
    # that never ran, and in runs recorded before checks had it.
    started: str = ""
    # Whose failure a failed or errored check is (errors.TEST, errors.HOST):
    # it decides the exit status and JUnit's failure vs error. "" reads as
    # TEST, as runs recorded before checks had it exited 1 on any of them.
    cause: str = ""

    @property
    def failure_cause(self) -> str | None:
        """None for a check that passed or was skipped, else its cause."""
        if self.status in (PASSED, SKIPPED):
            return None
        return self.cause or TEST


def error_check(name: str, e: BaseException, seconds: float = 0.0,
                detail: str = "") -> Check:
    """The ERROR check for a step that raised `e`: a HarnessError's cause
    and message; anything else is the harness's own failure (HOST), a full
    disk or an internal error (a bug, with its traceback as the detail)."""
    if isinstance(e, HarnessError):
        text = str(e)
        return Check(name, ERROR, seconds, text.splitlines()[0] if text else type(e).__name__,
                     detail or text, cause=e.cause)
    if isinstance(e, OSError):
        where = f"{e.filename}: " if e.filename else ""
        return Check(name, ERROR, seconds, f"{where}{e.strerror or e}",
                     detail or "".join(traceback.format_exception(e)), cause=HOST)
    return Check(name, ERROR, seconds, f"internal error: {type(e).__name__}: {e}",
                 "".join(traceback.format_exception(e)), cause=HOST)


@dataclass
class Suite:
    kernel: str
    arch: str
    version: str = ""
    checks: list[Check] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.kernel}/{self.arch}"

    @property
    def dirname(self) -> str:
        return f"{self.kernel}-{self.arch}"

    @property
    def ok(self) -> bool:
        return all(c.status in (PASSED, SKIPPED) for c in self.checks) and bool(self.checks)

    @property
    def per_patch(self) -> bool:
        """The nightly's per-patch suite, not a (kernel, arch) of the matrix."""
        return self.arch == ALL_ARCHES

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable by time, unique across concurrent runs."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


class RunDir:
    def __init__(self, parent: Path | None = None, run_id: str | None = None) -> None:
        parent = parent or REPO_ROOT / "results"
        # Two runs started in the same second may draw the same random suffix:
        # mkdir is the arbiter, and the loser draws again.
        for _ in range(20):
            self.run_id = run_id or new_run_id()
            self.path = parent / self.run_id
            try:
                self.path.mkdir(parents=True, exist_ok=False)
                return
            except FileExistsError:
                if run_id:
                    raise
            except OSError as e:
                raise HarnessError(f"cannot create the run directory {self.path}: "
                                   f"{e.strerror}") from None
        raise HarnessError(f"no free run id under {parent}")

    def suite_dir(self, suite: Suite) -> Path:
        d = self.path / suite.dirname
        d.mkdir(exist_ok=True)
        return d

    def save_suite(self, suite: Suite) -> None:
        atomic_write(self.suite_dir(suite) / "result.json",
                     json.dumps(asdict(suite), indent=2) + "\n")

    def save_meta(self, meta: dict[str, Any]) -> None:
        atomic_write(self.path / "run.json", json.dumps(meta, indent=2) + "\n")


def load_suite(result_json: Path) -> Suite:
    raw = json.loads(result_json.read_text())
    checks = [Check(**c) for c in raw.pop("checks")]
    return Suite(checks=checks, **raw)


def load_suites(run: Path) -> list[Suite]:
    return [load_suite(f) for f in sorted(run.glob("*/result.json"))]


def all_ok(suites: list[Suite]) -> bool:
    """The run's verdict: some suite ran, and none has a failed check."""
    return bool(suites) and all(s.ok for s in suites)


def run_exit_status(suites: list[Suite]) -> int:
    """The exit status of a run, by the causes of its checks' failures
    (errors.exit_status); a run that recorded no suite did not do its job."""
    if not suites:
        return EXIT_HARNESS_ERROR
    return exit_status(cause for s in suites for c in s.checks
                       if (cause := c.failure_cause) is not None)
