"""Exit codes by cause (harness/errors.py), per cause, and the one runner of
host commands (harness/proc.py) that gives most failures their cause."""

import os
import threading
import time
from pathlib import Path

import pytest

from harness import cli, proc
from harness.errors import (
    EXIT_CHECKS_FAILED,
    EXIT_HARNESS_ERROR,
    EXIT_OK,
    HOST,
    INPUT,
    TEST,
    BadInput,
    CodeFailed,
    GuestError,
    HarnessError,
    StageFailed,
    ToolMissing,
    exit_status,
)
from harness.guest.keys import make_keys
from harness.results import ERROR, FAILED, PASSED, SKIPPED, Check, Suite, run_exit_status


def test_exit_status_of_causes() -> None:
    assert exit_status([]) == EXIT_OK
    assert exit_status([TEST]) == EXIT_CHECKS_FAILED
    assert exit_status([HOST]) == EXIT_HARNESS_ERROR
    assert exit_status([INPUT]) == EXIT_HARNESS_ERROR
    # A failed check is a finding about the code whatever else went wrong.
    assert exit_status([HOST, TEST]) == EXIT_CHECKS_FAILED
    with pytest.raises(ValueError):
        exit_status(["weather"])


@pytest.mark.parametrize("error, cause, status", [
    (CodeFailed("patch 3/13 does not apply"), TEST, 1),
    (GuestError("no SSH within 120s"), TEST, 1),
    (GuestError("QEMU exited at start", cause=HOST), HOST, 2),
    (StageFailed("apt-get update: Temporary failure resolving"), HOST, 2),
    (StageFailed("kbuild: exit status 2", cause=TEST), TEST, 1),
    (ToolMissing("ccache not found"), HOST, 2),
    (ToolMissing("dropbearkey not found"), HOST, 2),
    (BadInput("--repeat 0"), INPUT, 2),
    (HarnessError("history schema v9 is newer"), HOST, 2),
])
def test_each_error_has_its_cause(error: HarnessError, cause: str, status: int) -> None:
    assert error.cause == cause and error.exit_status == status


def test_unknown_cause_refused() -> None:
    with pytest.raises(ValueError):
        HarnessError("x", cause="nobody")


def suite_of(*checks: Check) -> Suite:
    s = Suite("pt-reclaim", "x86_64")
    for c in checks:
        s.add(c)
    return s


@pytest.mark.parametrize("checks, status", [
    ([Check("build", PASSED), Check("boot", SKIPPED)], EXIT_OK),
    ([Check("workload:x", FAILED)], EXIT_CHECKS_FAILED),
    ([Check("apply", ERROR, cause=TEST)], EXIT_CHECKS_FAILED),
    ([Check("build", ERROR)], EXIT_CHECKS_FAILED),            # a run before causes
    ([Check("image", ERROR, cause=HOST)], EXIT_HARNESS_ERROR),
    ([Check("image", ERROR, cause=HOST), Check("console", FAILED)], EXIT_CHECKS_FAILED),
])
def test_run_exit_status_from_checks(checks: list[Check], status: int) -> None:
    assert run_exit_status([suite_of(*checks)]) == status


def test_a_run_with_no_suite_did_not_do_its_job() -> None:
    assert run_exit_status([]) == EXIT_HARNESS_ERROR


@pytest.mark.parametrize("raised, status, said", [
    (BadInput("--arch sparc: unknown"), 2, "pt-harness: error: --arch sparc"),
    (ToolMissing("dropbearkey not found"), 2, "pt-harness: error: dropbearkey"),
    (GuestError("guest exited before SSH came up"), 1, "pt-harness: error: guest"),
    (OSError(28, "No space left on device", "/r/junit.xml"), 2,
     "pt-harness: error: /r/junit.xml: No space left on device"),
    (ZeroDivisionError("division by zero"), 2, "pt-harness: internal error: ZeroDivisionError"),
    (KeyboardInterrupt(), 130, "pt-harness: interrupted"),
])
def test_cli_exit_status_by_cause(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str], raised: BaseException,
                                  status: int, said: str) -> None:
    def fails(*args: object, **kwargs: object) -> int:
        raise raised
    monkeypatch.setattr(cli, "plan_json", fails)
    monkeypatch.setattr(cli.signal, "signal", lambda *a: None)    # keep pytest's
    assert cli.main(["plan"]) == status
    assert capsys.readouterr().err.startswith(said)


# -- proc.run: every host command ---------------------------------------

def test_run_captures_and_logs(tmp_path: Path) -> None:
    log = tmp_path / "cmd.log"
    r = proc.run(["sh", "-c", "echo out; echo err >&2"], what="echo", log=log)
    assert (r.returncode, r.stdout, r.stderr) == (0, "out\n", "err\n")
    assert log.read_text() == "$ sh -c echo out; echo err >&2\nout\nerr\n"
    assert proc.run(["cat"], what="cat", input=b"\x00\x01", text=False).stdout == b"\x00\x01"
    assert proc.run_capture(["printf", "x"], what="printf") == "x"


def test_run_to_a_file(tmp_path: Path) -> None:
    with open(tmp_path / "out", "wb") as f:
        proc.run(["printf", "abc"], what="printf", stdout=f, text=False)
    assert (tmp_path / "out").read_bytes() == b"abc"


def test_missing_program_is_tool_missing() -> None:
    with pytest.raises(ToolMissing, match="no-such-tool-here not found") as e:
        proc.run(["no-such-tool-here"], what="the tool")
    assert e.value.exit_status == EXIT_HARNESS_ERROR
    with pytest.raises(ToolMissing, match="install the Debian package pkg"):
        proc.require("no-such-tool-here", "pkg")


def test_failure_cause_is_the_callers_but_a_full_disk_the_hosts() -> None:
    with pytest.raises(StageFailed, match="exit status 3: broken") as e:
        proc.run(["sh", "-c", "echo broken >&2; exit 3"], what="sh", cause=TEST)
    assert e.value.cause == TEST
    with pytest.raises(StageFailed) as e:
        proc.run(["sh", "-c", "echo 'write: No space left on device' >&2; exit 1"],
                 what="sh", cause=TEST)
    assert e.value.cause == HOST
    assert proc.run(["false"], what="false", check=False).returncode == 1


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    start = time.monotonic()
    with pytest.raises(StageFailed, match="timed out after 1s") as e:
        proc.run(["sh", "-c", f"sleep 30 & echo $! > {pidfile}; wait"], what="sleeper",
                 timeout=1)
    assert e.value.cause == HOST and time.monotonic() - start < 10
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not _alive(child)         # the grandchild too: the whole group
    assert not proc._children


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:                             # a zombie until reaped counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_interrupt_kills_a_running_command() -> None:
    """Ctrl-C in another thread (fanout) kills the child, and the command
    ends in KeyboardInterrupt, not a failure of its own."""
    raised: list[BaseException] = []

    def runs() -> None:
        try:
            proc.run(["sleep", "30"], what="sleep")
        except BaseException as e:   # noqa: BLE001 - what the thread saw
            raised.append(e)
    t = threading.Thread(target=runs)
    t.start()
    for _ in range(100):
        if proc._children:
            break
        time.sleep(0.05)
    proc.interrupted.set()
    try:
        proc.kill_all()
        t.join(10)
        assert len(raised) == 1 and isinstance(raised[0], KeyboardInterrupt)
        with pytest.raises(KeyboardInterrupt):       # and nothing new starts
            proc.run(["true"], what="true")
    finally:
        proc.interrupted.clear()


def test_run_logged_failure_and_timeout(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    with pytest.raises(StageFailed, match="exit status 2") as e:
        proc.run_logged(["sh", "-c", "echo 'mm/x.c:1: error: oops'; exit 2"], log,
                        what="kbuild", cause=TEST)
    assert e.value.cause == TEST and "error: oops" in str(e.value) and e.value.log == str(log)
    with pytest.raises(StageFailed, match="timed out") as e:
        proc.run_logged(["sleep", "30"], log, what="kbuild", timeout=0.5, heartbeat=0.2,
                        cause=TEST)
    assert e.value.cause == HOST
    proc.run_logged(["echo", "fine"], log, what="echo", append=False)
    assert log.read_text() == "$ echo fine\nfine\n"


def test_spawn_kill_and_release() -> None:
    p = proc.spawn(["sleep", "30"])
    assert p in proc._children
    proc.kill(p, grace=0.5)
    assert p.poll() is not None and p not in proc._children
    q = proc.spawn(["sleep", "30"])
    proc.release(q)
    assert q not in proc._children
    proc.kill(q)


# -- keys: dropbearkey through proc ---------------------------------------

def test_keys_made_for_the_run() -> None:
    if not proc.shutil.which("dropbearkey"):
        pytest.skip("dropbearkey (dropbear-bin) not installed")
    keys = make_keys()
    assert keys.client_public_line.startswith("ssh-ed25519 ")
    assert keys.host_public.get_name() == "ssh-ed25519"
    assert "OPENSSH PRIVATE KEY" in keys.client_pem


def test_dropbearkey_failing_is_the_hosts_one_line(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Was 'internal error: CalledProcessError'."""
    fake = tmp_path / "dropbearkey"
    fake.write_text("#!/bin/sh\necho 'cannot write key' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with pytest.raises(StageFailed, match="dropbearkey: .*exit status 1: cannot write key") as e:
        make_keys()
    assert e.value.exit_status == EXIT_HARNESS_ERROR


def test_dropbearkey_missing_is_tool_missing(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="dropbear-bin"):
        make_keys()
