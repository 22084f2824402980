"""An interactive shell in a booted guest over the run's SSH session
(`pt-harness shell`), and the connection hint printed by `--keep`."""

import os
import select
import shutil
import sys
import termios
import tty
from pathlib import Path

from .guest import Guest


def interactive(guest: Guest) -> int:
    """Hand the terminal to a shell in the guest until it exits."""
    assert guest.conn is not None
    transport = guest.conn.client.get_transport()
    assert transport is not None
    chan = transport.open_session()
    cols, rows = shutil.get_terminal_size()
    chan.get_pty(term=os.environ.get("TERM", "vt100"), width=cols, height=rows)
    chan.invoke_shell()
    stdin = sys.stdin.fileno()
    is_tty = os.isatty(stdin)
    saved = termios.tcgetattr(stdin) if is_tty else None
    try:
        if is_tty:
            tty.setraw(stdin)
        while True:
            ready, _, _ = select.select([chan, stdin], [], [])
            if chan in ready:
                data = chan.recv(4096)
                if not data:
                    break
                os.write(sys.stdout.fileno(), data)
            if stdin in ready:
                data = os.read(stdin, 1024)
                if not data:
                    chan.shutdown_write()
                else:
                    chan.sendall(data)
    finally:
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
    return chan.recv_exit_status()


def write_client_key(guest: Guest, directory: Path) -> Path:
    """The run's client key as an OpenSSH private key file (mode 0600), so
    `ssh` can reach a VM left up with --keep."""
    path = directory / "id_ed25519"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(guest.keys.client_pem)
    return path


def connect_hint(port: int, key: Path) -> str:
    return (f"ssh -i {key} -p {port} -o StrictHostKeyChecking=no "
            f"-o UserKnownHostsFile=/dev/null root@127.0.0.1")
