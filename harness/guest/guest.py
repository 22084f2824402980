"""Stage 7, guest: SSH into the booted guest with fabric, bounded everywhere.

The client pins the host key made for this run and refuses any other, and
never looks at the user's keys, agent or known_hosts. Files move over
exec channels (`cat`), since dropbear ships no SFTP server.
"""

import logging
import shlex
import time
from dataclasses import dataclass

import paramiko
from fabric import Connection
from invoke.exceptions import CommandTimedOut

from ..errors import GuestError
from ..proc import check_interrupted
from .keys import RunKeys
from .vm import VM

# While the guest boots, the forwarded port accepts and resets connections;
# paramiko logs each reset with a traceback from its transport thread. The
# harness reports SSH failures itself, with the console excerpt.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)
DROPBEAR_STARTED = r"pt-harness: dropbear started"      # guest-images/rootfs/init


# How long a booted guest has to answer over SSH, in a suite and in `shell`.
SSH_TIMEOUT = 120.0


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_status: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


class Guest:
    def __init__(self, vm: VM, keys: RunKeys, user: str = "root") -> None:
        self.vm = vm
        self.keys = keys
        self.user = user
        self.conn: Connection | None = None

    def _connection(self) -> Connection:
        client = paramiko.SSHClient()
        client.get_host_keys().add(f"[127.0.0.1]:{self.vm.port}",
                                   self.keys.host_public.get_name(), self.keys.host_public)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        conn = Connection("127.0.0.1", port=self.vm.port, user=self.user, connect_timeout=10,
                          connect_kwargs={"pkey": self.keys.client, "look_for_keys": False,
                                          "allow_agent": False, "banner_timeout": 20,
                                          "auth_timeout": 20})
        conn.client = client
        return conn

    def wait_ssh(self, timeout: float) -> float:
        """Seconds from QEMU start until an SSH command runs in the guest.

        Gives up when the guest dies or `timeout` passes."""
        last_error = "no answer"
        # Knocking before dropbear listens costs a connection reset and a
        # retry pause each time; the guest's init says when it started it.
        # Should the marker never come (another init), polling still works.
        self.vm.wait_console(DROPBEAR_STARTED, timeout / 2)
        while time.monotonic() - self.vm.started < timeout:
            if not self.vm.alive():
                raise GuestError(f"{self.vm.spec.arch.name}: guest exited before SSH came up")
            conn = self._connection()
            try:
                conn.open()
                r = conn.run("true", hide=True, warn=True, timeout=20, in_stream=False)
                if r.exited == 0:
                    self.conn = conn
                    return time.monotonic() - self.vm.started
            except (OSError, paramiko.SSHException, EOFError, CommandTimedOut) as e:
                last_error = f"{type(e).__name__}: {e}"
                conn.close()
            time.sleep(0.2)
        raise GuestError(f"{self.vm.spec.arch.name}: no SSH within {timeout:.0f}s "
                         f"({last_error})")

    def run(self, command: str, timeout: float) -> CommandResult:
        """Run a shell command in the guest; a timeout is a result, not a hang.

        The guest's own `timeout` kills the command at `timeout` seconds, so
        nothing is left running there; the client-side limit a little later
        is only the backstop for a guest that stopped answering."""
        if self.conn is None:
            raise GuestError("guest not connected")
        limit = max(1, int(timeout))
        wrapped = f"timeout -s KILL {limit} sh -c {shlex.quote(command)}"
        start = time.monotonic()
        try:
            r = self.conn.run(wrapped, hide=True, warn=True, timeout=limit + 15,
                              in_stream=False)
        except CommandTimedOut as e:
            return CommandResult(command, -1, e.result.stdout, e.result.stderr,
                                 time.monotonic() - start, timed_out=True)
        except (paramiko.SSHException, OSError, EOFError) as e:
            check_interrupted()
            raise GuestError(f"{self.vm.spec.arch.name}: SSH failed during {command!r}: "
                             f"{type(e).__name__}: {e}") from None
        seconds = time.monotonic() - start
        check_interrupted()     # the run was interrupted while this waited
        if r.exited == -1 and not self.vm.alive():
            raise GuestError(f"{self.vm.spec.arch.name}: the guest died during {command!r}")
        if seconds >= limit and r.exited != 0:
            return CommandResult(command, r.exited, r.stdout, r.stderr, seconds,
                                 timed_out=True)
        if r.exited == -1:
            raise GuestError(f"{self.vm.spec.arch.name}: the SSH session ended without an "
                             f"exit status during {command!r}")
        return CommandResult(command, r.exited, r.stdout, r.stderr, seconds)

    def put(self, data: bytes, path: str, mode: str = "0644") -> None:
        if self.conn is None:
            raise GuestError("guest not connected")
        q = shlex.quote(path)
        transport = self.conn.client.get_transport()
        if transport is None or not transport.is_active():
            raise GuestError(f"upload to {path}: the SSH session is gone")
        try:
            chan = transport.open_session(timeout=20)
            chan.settimeout(60)
            chan.exec_command(f"cat > {q} && chmod {mode} {q}")
            chan.sendall(data)
            chan.shutdown_write()
            status = chan.recv_exit_status()
            chan.close()
        except (paramiko.SSHException, OSError, EOFError) as e:
            check_interrupted()
            raise GuestError(f"upload to {path}: {type(e).__name__}: {e}") from None
        if status != 0:
            raise GuestError(f"upload to {path} failed (exit {status})")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
