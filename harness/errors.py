"""Errors the harness reports as one line, their causes, and the exit
statuses the causes map to. Defined here once; everything else asks.

Every failure has a cause, and the cause alone decides the exit status:

  TEST   the code under test failed: a check failed, a patch does not
         apply, the series does not build, the guest kernel did not boot
         or died under a workload                                     -> 1
  HOST   the harness or the host could not do its job: a missing tool
         (ccache, dropbearkey, QEMU alike), the Debian mirror
         unreachable, a full disk, a command that hung, an internal
         error (a bug)                                                -> 2
  INPUT  the invocation was wrong: an option, a path, a data file     -> 2

and an interrupt (Ctrl-C, SIGTERM) exits 130. A run whose checks hold
both a TEST failure and a HOST error exits 1: the failed check is a
finding about the code whatever else went wrong.
"""

from collections.abc import Iterable

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_HARNESS_ERROR = 2
EXIT_INTERRUPTED = 130

TEST, HOST, INPUT = "test", "host", "input"
CAUSES = (TEST, HOST, INPUT)
EXIT_FOR_CAUSE = {TEST: EXIT_CHECKS_FAILED, HOST: EXIT_HARNESS_ERROR,
                  INPUT: EXIT_HARNESS_ERROR}


def exit_status(causes: Iterable[str]) -> int:
    """The exit status of a run whose failures had these causes (none: 0)."""
    seen = set(causes)
    unknown = seen - set(CAUSES)
    if unknown:
        raise ValueError(f"unknown failure cause(s): {', '.join(sorted(unknown))}")
    if TEST in seen:
        return EXIT_CHECKS_FAILED
    return EXIT_HARNESS_ERROR if seen else EXIT_OK


class HarnessError(Exception):
    """A failure the user can act on; printed as one line without traceback.

    `cause` says whose failure it is (TEST, HOST, INPUT); a subclass sets
    its own, and a raise site that knows better passes `cause=`."""

    cause = HOST

    def __init__(self, *args: object, cause: str | None = None) -> None:
        super().__init__(*args)
        if cause is not None:
            if cause not in CAUSES:
                raise ValueError(f"unknown failure cause {cause!r}")
            self.cause = cause

    @property
    def exit_status(self) -> int:
        return EXIT_FOR_CAUSE[self.cause]


class BadInput(HarnessError):
    """The command line or an input file is wrong."""

    cause = INPUT


class ToolMissing(HarnessError):
    """A host program the harness needs is not installed."""

    cause = HOST


class StageFailed(HarnessError):
    """A pipeline stage (apply, config, build, image) failed; see its log.

    HOST unless the raise site says the code under test failed (CodeFailed)."""

    def __init__(self, message: str, log: str | None = None, *,
                 cause: str | None = None) -> None:
        super().__init__(message if log is None else f"{message} (log: {log})", cause=cause)
        self.log = log


class CodeFailed(StageFailed):
    """The code under test failed a stage: a patch does not apply, the
    kernel or its selftest does not build, its config does not take."""

    cause = TEST


class GuestError(HarnessError):
    """The guest did not boot, did not answer, or a command in it timed out:
    the kernel under test, unless the raise site says the host (QEMU did
    not start)."""

    cause = TEST
