"""The guest side without a guest: booting (boot.py), the SSH client
(guest.py), the guest image (image.py), `pt-harness shell` (commands/shell.py,
guest/terminal.py), each with its collaborators faked: no QEMU, no network."""

import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from invoke.exceptions import CommandTimedOut
from invoke.runners import Result

from harness.arches import get_arch
from harness.commands import shell as shell_command
from harness.errors import GuestError, StageFailed
from harness.guest import boot, cpio, guest, image, terminal
from harness.guest.guest import Guest
from harness.guest.keys import RunKeys
from harness.kernel.kbuild import BuiltKernel
from harness.kernel.series import EMPTY
from harness.kernel.source import KernelTree

ARCH = get_arch("x86_64")


def fake_keys() -> RunKeys:
    def key() -> paramiko.Ed25519Key:
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption()).decode()
        return paramiko.Ed25519Key.from_private_key(io.StringIO(pem))
    host, client = key(), key()
    return RunKeys(b"dropbear-host-key", host, client, f"ssh-ed25519 {client.get_base64()} x",
                   "-----BEGIN OPENSSH PRIVATE KEY-----\n")


class FakeVM:
    def __init__(self, tmp: Path, alive: bool = True) -> None:
        self.spec = type("Spec", (), {"arch": ARCH, "console_log": tmp / "console.log"})()
        self.port = 2222
        self.started = time.monotonic()
        self._alive = alive
        self.waited: list[str] = []

    def alive(self) -> bool:
        return self._alive

    def wait_console(self, pattern: str, timeout: float) -> float | None:
        self.waited.append(pattern)
        return 0.5


class FakeChannel:
    def __init__(self, status: int = 0, fail: Exception | None = None) -> None:
        self.status, self.fail = status, fail
        self.data = b""
        self.command = ""

    def settimeout(self, t: float) -> None:
        pass

    def exec_command(self, command: str) -> None:
        if self.fail:
            raise self.fail
        self.command = command

    def sendall(self, data: bytes) -> None:
        self.data += data

    def shutdown_write(self) -> None:
        pass

    def recv_exit_status(self) -> int:
        return self.status

    def close(self) -> None:
        pass


class FakeTransport:
    def __init__(self, chan: FakeChannel, active: bool = True) -> None:
        self.chan, self.active = chan, active

    def is_active(self) -> bool:
        return self.active

    def open_session(self, timeout: float | None = None) -> FakeChannel:
        return self.chan


class FakeConn:
    """fabric's Connection as Guest uses it."""

    def __init__(self, results: list[Any] | None = None,
                 transport: FakeTransport | None = None) -> None:
        self.results = list(results or [])
        self.commands: list[str] = []
        self.closed = False
        self.client = type("Client", (), {"get_transport": lambda _self: transport})()

    def open(self) -> None:
        r = self.results[0]
        if isinstance(r, Exception):
            self.results.pop(0)
            raise r

    def run(self, command: str, **kwargs: Any) -> Any:
        self.commands.append(command)
        r = self.results.pop(0)
        if isinstance(r, BaseException):
            raise r
        return r

    def close(self) -> None:
        self.closed = True


def connected(tmp: Path, *results: Any, alive: bool = True,
              transport: FakeTransport | None = None) -> Guest:
    g = Guest(FakeVM(tmp, alive), fake_keys())  # type: ignore[arg-type]
    g.conn = FakeConn(list(results), transport)  # type: ignore[assignment]
    return g


def test_run_wraps_in_the_guests_timeout(tmp_path: Path) -> None:
    g = connected(tmp_path, Result(stdout="hi\n", exited=0))
    r = g.run("echo 'hi'", timeout=30)
    assert (r.exit_status, r.stdout, r.timed_out) == (0, "hi\n", False)
    assert g.conn.commands == ["timeout -s KILL 30 sh -c 'echo '\"'\"'hi'\"'\"''"]  # type: ignore[union-attr]


def test_run_timeouts_are_results(tmp_path: Path) -> None:
    g = connected(tmp_path, CommandTimedOut(Result(stdout="part", exited=-1), 45))
    r = g.run("sleep 100", timeout=30)
    assert r.timed_out and r.stdout == "part" and r.exit_status == -1
    g = connected(tmp_path, Result(exited=137))
    r = g.run("sleep 100", timeout=0.0)      # limit 1 s, and the run took longer than 0
    assert r.exit_status == 137


@pytest.mark.parametrize("result, alive, message", [
    (paramiko.SSHException("Channel closed"), True, "SSH failed during 'w'"),
    (EOFError(), True, "SSH failed during 'w': EOFError"),
    (Result(exited=-1), False, "the guest died during 'w'"),
    (Result(exited=-1), True, "the SSH session ended without an exit status"),
])
def test_run_failures_are_guest_errors(tmp_path: Path, result: Any, alive: bool,
                                       message: str) -> None:
    g = connected(tmp_path, result, alive=alive)
    with pytest.raises(GuestError, match=message):
        g.run("w", timeout=30)


def test_not_connected(tmp_path: Path) -> None:
    g = Guest(FakeVM(tmp_path), fake_keys())  # type: ignore[arg-type]
    with pytest.raises(GuestError, match="not connected"):
        g.run("true", timeout=1)
    with pytest.raises(GuestError, match="not connected"):
        g.put(b"x", "/tmp/x")


def test_put_over_an_exec_channel(tmp_path: Path) -> None:
    chan = FakeChannel()
    g = connected(tmp_path, transport=FakeTransport(chan))
    g.put(b"\x7fELF", "/tmp/it's", mode="0755")
    assert chan.data == b"\x7fELF"
    assert chan.command == "cat > '/tmp/it'\"'\"'s' && chmod 0755 '/tmp/it'\"'\"'s'"


@pytest.mark.parametrize("transport, message", [
    (None, "the SSH session is gone"),
    (FakeTransport(FakeChannel(), active=False), "the SSH session is gone"),
    (FakeTransport(FakeChannel(status=1)), r"failed \(exit 1\)"),
    (FakeTransport(FakeChannel(fail=OSError("reset"))), "OSError: reset"),
])
def test_put_failures(tmp_path: Path, transport: FakeTransport | None, message: str) -> None:
    g = connected(tmp_path, transport=transport)
    with pytest.raises(GuestError, match=message):
        g.put(b"x", "/tmp/x")


class FakeTime:
    """guest.py's clock: these readings, then no sleeping."""

    def __init__(self, readings: list[float]) -> None:
        self.readings = readings

    def monotonic(self) -> float:
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]

    def sleep(self, seconds: float) -> None:
        pass


def test_wait_ssh_retries_until_a_command_runs(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    conns = [FakeConn([ConnectionResetError("reset")]), FakeConn([Result(exited=1)]),
             FakeConn([Result(exited=0)])]
    g = Guest(FakeVM(tmp_path), fake_keys())  # type: ignore[arg-type]
    made = iter(conns)
    monkeypatch.setattr(g, "_connection", lambda: next(made))
    g.vm.started = 0.0  # type: ignore[misc]
    monkeypatch.setattr(guest, "time", FakeTime([3.0] * 10))
    assert g.wait_ssh(120) == 3.0
    assert g.conn is conns[2] and conns[0].closed
    assert g.vm.waited == [guest.DROPBEAR_STARTED]  # type: ignore[attr-defined]
    g.close()
    assert g.conn is None and conns[2].closed


def test_wait_ssh_gives_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    g = Guest(FakeVM(tmp_path, alive=False), fake_keys())  # type: ignore[arg-type]
    with pytest.raises(GuestError, match="guest exited before SSH came up"):
        g.wait_ssh(120)
    monkeypatch.setattr(guest, "time", FakeTime([0.5, 200.0]))
    vm = FakeVM(tmp_path)
    vm.started = 0.0
    g = Guest(vm, fake_keys())  # type: ignore[arg-type]
    monkeypatch.setattr(g, "_connection", lambda: FakeConn([OSError("refused")]))
    with pytest.raises(GuestError, match=r"no SSH within 120s \(OSError: refused\)"):
        g.wait_ssh(120)


def test_connection_pins_the_host_key(tmp_path: Path) -> None:
    keys = fake_keys()
    g = Guest(FakeVM(tmp_path), keys)  # type: ignore[arg-type]
    conn = g._connection()
    assert conn.port == 2222 and conn.user == "root"
    assert conn.connect_kwargs["look_for_keys"] is False
    assert conn.connect_kwargs["allow_agent"] is False
    known = conn.client.get_host_keys().lookup("[127.0.0.1]:2222")
    assert known is not None and known["ssh-ed25519"] == keys.host_public


# -- boot.py ------------------------------------------------------------

class BootVM:
    made: list["BootVM"] = []

    def __init__(self, spec: Any, accel: str) -> None:
        self.spec, self.accel, self.stopped = spec, accel, False
        self.argv = ["qemu-fake", "-kernel", str(spec.kernel)]   # recorded by booted()
        BootVM.made.append(self)

    def start(self) -> "BootVM":
        return self

    def stop(self) -> None:
        self.stopped = True


class BootGuest:
    def __init__(self, vm: BootVM, keys: RunKeys) -> None:
        self.vm, self.keys, self.closed = vm, keys, False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def boot_fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BuiltKernel:
    BootVM.made = []
    monkeypatch.setattr(boot, "make_keys", fake_keys)
    monkeypatch.setattr(boot, "choose_accel", lambda arch, kernel, out: "tcg")
    monkeypatch.setattr(boot, "VM", BootVM)
    monkeypatch.setattr(boot, "Guest", BootGuest)
    return BuiltKernel(ARCH, tmp_path / "bzImage", tmp_path, "k", tmp_path / "log", False)


def test_booted_starts_and_always_stops(tmp_path: Path, boot_fakes: BuiltKernel) -> None:
    base = tmp_path / "base.cpio"
    base.write_bytes(b"abc")                    # not 4-aligned: padded
    img = image.GuestImage(ARCH, base, "i")
    with pytest.raises(RuntimeError):
        with boot.booted(boot_fakes, img, tmp_path, drives=(tmp_path / "d.img",)) as (vm, g):
            initrd = vm.spec.initrd
            assert initrd.read_bytes().startswith(b"abc\x00070701")
            assert vm.spec.drives == (tmp_path / "d.img",) and vm.spec.cpus == 2
            assert vm.spec.console_log == tmp_path / "console.log"
            raise RuntimeError("the suite failed")
    assert BootVM.made[0].stopped and g.closed and not initrd.exists()


def test_booted_icount_and_keep(tmp_path: Path, boot_fakes: BuiltKernel) -> None:
    base = tmp_path / "base.cpio"
    base.write_bytes(b"abcd")
    img = image.GuestImage(ARCH, base, "i")
    with boot.booted(boot_fakes, img, tmp_path, icount=True) as (vm, _):
        assert vm.spec.icount and vm.spec.cpus == boot.ICOUNT_CPUS
        assert vm.spec.console_log.name == "console-icount.log"
    with boot.booted(boot_fakes, img, tmp_path, keep=True) as (vm, _):
        pass
    assert not vm.stopped and vm.spec.initrd.exists()


# -- image.py -----------------------------------------------------------

class FakeRepo:
    downloads: list[str] = []

    def __init__(self, suite: str, arch: str) -> None:
        self.suite, self.arch = suite, arch

    def versions(self, packages: list[str]) -> dict[str, str]:
        return {p: "1.0" for p in packages}

    def download(self, package: str, dest: Path) -> Path:
        FakeRepo.downloads.append(package)
        dest.mkdir(parents=True, exist_ok=True)
        deb = dest / f"{package}.deb"
        deb.write_text(package)
        return deb


def fake_extract(deb: Path, root: Path) -> None:
    """busybox-static and dropbear-bin bring their binaries, libc6 its
    library and loader."""
    files = {"busybox-static": ["bin/busybox"], "dropbear-bin": ["usr/sbin/dropbear"],
             "libc6": ["lib/x86_64-linux-gnu/libc.so.6", "lib64/ld-linux-x86-64.so.2"]}
    for rel in files.get(deb.read_text(), []):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(rel.encode())


def fake_needed(binary: Path, readelf: str) -> tuple[list[str], str | None]:
    if binary.name == "dropbear":
        return ["libc.so.6"], "/lib64/ld-linux-x86-64.so.2"
    return [], None


@pytest.fixture
def image_fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    FakeRepo.downloads = []
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(image, "AptRepo", FakeRepo)
    monkeypatch.setattr(image, "extract_deb", fake_extract)
    monkeypatch.setattr(image, "needed_libs", fake_needed)
    workloads = tmp_path / "workloads-bin"
    workloads.mkdir()
    (workloads / "dontneed").write_bytes(b"\x7fELF")
    (workloads / ".stamp").write_text("")
    monkeypatch.setattr(image, "build_guest_programs", lambda arch: workloads)
    return workloads


def test_image_assembled_once_and_cached(tmp_path: Path, image_fakes: Path) -> None:
    img = image.build_image(ARCH)
    contents = (img.base.parent / "CONTENTS").read_text().split()
    for path in ("bin/busybox", "usr/sbin/dropbear", "lib/libc.so.6",
                 "lib64/ld-linux-x86-64.so.2", "lib/x86_64-linux-gnu", "dev/console",
                 "opt/pt/bin/dontneed", "init"):
        assert path in contents, path
    assert "opt/pt/bin/.stamp" not in contents
    assert img.base.read_bytes().startswith(b"070701")
    assert not (img.base.parent / "pkgroot").exists()
    downloads = len(FakeRepo.downloads)
    assert image.build_image(ARCH) == img and len(FakeRepo.downloads) == downloads


def test_image_names_what_is_missing(tmp_path: Path, image_fakes: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image, "needed_libs", lambda b, r: (["libgone.so.1"], None))
    with pytest.raises(StageFailed, match="shared library libgone.so.1 is in none"):
        image.build_image(ARCH)
    monkeypatch.setattr(image, "extract_deb", lambda deb, root: None)
    with pytest.raises(StageFailed, match="bin/busybox is in none of the packages"):
        image.build_image(ARCH)


def test_needed_libs_of_a_host_binary() -> None:
    needed, interp = image.needed_libs(Path("/bin/sh"), "readelf")
    assert any(n.startswith("libc.so") for n in needed) and interp


def test_run_overlay_holds_the_keys() -> None:
    data = image.run_overlay(b"HOSTKEY", "ssh-ed25519 AAAA x")
    assert b"etc/dropbear/dropbear_ed25519_host_key" in data and b"HOSTKEY" in data
    assert b"ssh-ed25519 AAAA x\n" in data and data.endswith(cpio.archive([])[-4:])


# -- commands/shell.py and guest/terminal.py -----------------------------

@pytest.fixture
def shell_fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {"released": []}
    tree = KernelTree(tmp_path / "linux", "7.3.4", "t", scratch=True)
    monkeypatch.setattr(shell_command, "debian_source", lambda: tree)
    monkeypatch.setattr(shell_command, "local_source",
                        lambda p: KernelTree(p, "own", "o", scratch=False))
    monkeypatch.setattr(shell_command, "scratch_copy", lambda t: tree)
    monkeypatch.setattr(shell_command, "apply", lambda t, s, log: "c0ffee")

    def build(tree: KernelTree, commit: str, arch: Any, fragments: list[Path],
              label: str) -> BuiltKernel:
        seen["build"] = (commit, [f.name for f in fragments], label)
        return BuiltKernel(arch, tmp_path / "bzImage", tmp_path, "k", tmp_path / "l", False)
    monkeypatch.setattr(shell_command, "build", build)
    monkeypatch.setattr(shell_command, "build_image",
                        lambda arch: image.GuestImage(arch, tmp_path / "b", "i"))

    class VM:
        accel = "tcg"
        port = 2200
        proc = type("P", (), {"pid": 4242})()

    class G:
        def wait_ssh(self, timeout: float) -> float:
            return 1.0

    @contextmanager
    def booted(kernel: BuiltKernel, img: Any, out: Path,
               keep: bool = False) -> Iterator[tuple[VM, G]]:
        seen["keep"] = keep
        yield VM(), G()
    monkeypatch.setattr(shell_command, "booted", booted)
    monkeypatch.setattr(shell_command, "interactive", lambda g: 7)
    monkeypatch.setattr(shell_command.proc, "release", seen["released"].append)
    monkeypatch.setattr(shell_command, "write_client_key", lambda g, d: d / "id_ed25519")
    return seen


def test_shell_runs_an_interactive_shell(tmp_path: Path, shell_fakes: dict[str, Any]) -> None:
    assert shell_command.shell(ARCH, None, None, False, False, tmp_path / "r") == 7
    commit, fragments, label = shell_fakes["build"]
    assert commit == "c0ffee" and label == "pt-reclaim" and "pt-reclaim.config" in fragments
    assert shell_fakes["keep"] is False


def test_shell_keep_leaves_the_vm(tmp_path: Path, shell_fakes: dict[str, Any],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert shell_command.shell(ARCH, tmp_path / "own", None, True, True, tmp_path / "r") == 0
    assert shell_fakes["build"][0] == "worktree"          # their tree, as it is
    assert "debuginfo.config" in shell_fakes["build"][1]
    out = capsys.readouterr().out
    assert "QEMU pid 4242" in out and "-p 2200" in out and "kill 4242" in out
    assert len(shell_fakes["released"]) == 1


def test_pick_series(tmp_path: Path) -> None:
    assert shell_command.pick_series(None, base=True) is EMPTY
    assert shell_command.pick_series(None, base=False, own_tree=True) is EMPTY
    assert shell_command.pick_series(None, base=False).name == "pt-reclaim"


def test_client_key_file_and_hint(tmp_path: Path) -> None:
    g = type("G", (), {"keys": fake_keys()})()
    path = terminal.write_client_key(g, tmp_path)  # type: ignore[arg-type]
    assert path.read_text().startswith("-----BEGIN OPENSSH")
    assert os.stat(path).st_mode & 0o777 == 0o600
    hint = terminal.connect_hint(2200, path)
    assert hint.startswith(f"ssh -i {path} -p 2200 ") and hint.endswith("root@127.0.0.1")


class PtyChannel:
    """A paramiko channel's shell end over a socket pair."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pty: tuple[str, int, int] | None = None

    def get_pty(self, term: str, width: int, height: int) -> None:
        self.pty = (term, width, height)

    def invoke_shell(self) -> None:
        pass

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self, n: int) -> bytes:
        return self.sock.recv(n)

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def shutdown_write(self) -> None:
        self.sock.shutdown(socket.SHUT_WR)

    def recv_exit_status(self) -> int:
        return 3


def test_interactive_relays_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = socket.socketpair()
    chan = PtyChannel(ours)
    transport = type("T", (), {"open_session": lambda self: chan})()
    g = type("G", (), {})()
    g.conn = type("C", (), {"client": type("Cl", (), {"get_transport":
                                                      lambda self: transport})()})()
    stdin_r, stdin_w = os.pipe()
    out_path = tmp_path / "terminal"
    monkeypatch.setattr(terminal.sys, "stdin", os.fdopen(stdin_r, "rb"))
    monkeypatch.setattr(terminal.sys, "stdout", open(out_path, "wb"))

    def the_guest() -> None:          # echoes what it gets, then prints and hangs up
        got = b""
        while not got.endswith(b"exit\n"):
            got += theirs.recv(100)
        theirs.sendall(b"you said: " + got)
        theirs.close()
    t = threading.Thread(target=the_guest)
    t.start()
    os.write(stdin_w, b"exit\n")
    os.close(stdin_w)
    assert terminal.interactive(g) == 3  # type: ignore[arg-type]
    t.join(5)
    terminal.sys.stdout.close()
    assert out_path.read_bytes() == b"you said: exit\n"
    assert chan.pty is not None and chan.pty[0]
