"""Errors the harness reports as one line, and the exit statuses they map to.

Exit statuses mean something to CI: 0 all checks passed, 1 a check failed
(a workload, a splat, a boot), 2 the harness itself could not do its job
(bad input, missing tool, build or apply failure), 130 interrupted.
"""

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_HARNESS_ERROR = 2
EXIT_INTERRUPTED = 130


class HarnessError(Exception):
    """A failure the user can act on; printed as one line without traceback."""

    exit_status = EXIT_HARNESS_ERROR


class BadInput(HarnessError):
    """The command line or an input file is wrong."""


class ToolMissing(HarnessError):
    """A host program the harness needs is not installed."""


class StageFailed(HarnessError):
    """A pipeline stage (apply, config, build, image) failed; see its log."""

    def __init__(self, message: str, log: str | None = None) -> None:
        super().__init__(message if log is None else f"{message} (log: {log})")
        self.log = log


class GuestError(HarnessError):
    """The guest did not boot, did not answer, or a command in it timed out."""
