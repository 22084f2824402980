"""The series' kselftest (tools/testing/selftests/mm/pt_reclaim.c), built
by kernel/selftests.py, run in the guest, its KTAP turned into one check
per test case."""

from pathlib import Path

from ..errors import GuestError
from ..guest import console
from ..guest.guest import Guest
from ..results import ERROR, FAILED, PASSED, SKIPPED, Check
from .ktap import FAIL, SKIP, XFAIL, parse

GUEST_PATH = "/tmp/pt_reclaim"
TIMEOUT = 600.0
CHECK_NAME = "kselftest:pt_reclaim"     # the whole test; each case adds its own


def run_selftest(guest: Guest, binary: Path, console_log: Path,
                 out_dir: Path | None = None) -> list[Check]:
    try:
        guest.put(binary.read_bytes(), GUEST_PATH, mode="0755")
        r = guest.run(f"{GUEST_PATH} 2>&1", timeout=TIMEOUT)
    except GuestError as e:
        return [Check(CHECK_NAME, ERROR, message=str(e),
                      detail=console.tail(console_log))]
    if out_dir is not None:      # the raw KTAP, diagnostics and all
        (out_dir / "kselftest-pt_reclaim.ktap").write_text(r.stdout)
    return ktap_checks(r.stdout, r.exit_status, r.timed_out, r.seconds, console_log)


def ktap_checks(output: str, exit_status: int, timed_out: bool, seconds: float,
                console_log: Path) -> list[Check]:
    result = parse(output)
    checks = []
    for case in result.cases:
        name = f"kselftest:{case.name}"
        detail = "\n".join(case.diagnostics)
        props = {"diagnostics": detail[-2000:]} if case.diagnostics else {}
        if case.status == FAIL:
            checks.append(Check(name, FAILED, message=case.directive or "not ok",
                                detail=detail, properties=props))
        elif case.status == SKIP:
            checks.append(Check(name, SKIPPED, message=case.directive))
        else:
            status = PASSED if case.status != XFAIL else SKIPPED
            checks.append(Check(name, status, properties=props))
    whole = CHECK_NAME
    if timed_out:
        checks.append(Check(whole, ERROR, seconds, f"timed out after {TIMEOUT:.0f}s",
                            output[-3000:] + "\n" + console.tail(console_log)))
    elif not result.complete:
        checks.append(Check(whole, ERROR, seconds,
                            f"KTAP incomplete: {len(result.cases)} of "
                            f"{result.planned} results (exit {exit_status})",
                            output[-3000:] + "\n" + console.tail(console_log)))
    else:
        # kselftest exits 0 on pass, 4 when everything skipped, 1 on failure.
        failed = any(c.status == FAILED for c in checks) or exit_status not in (0, 4)
        checks.append(Check(whole, FAILED if failed else PASSED, seconds,
                            f"exit status {exit_status}" if failed else "",
                            properties={"totals": " ".join(result.trailing[-1:])}))
    return checks
