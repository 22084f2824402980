"""Stage 6, vm: one QEMU guest, described by its Arch record, always torn down.

The serial console goes to a file in the results directory; SSH is reached
through a user-network forward bound to 127.0.0.1 only.
"""

import os
import platform
import re
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ..arches import Arch
from ..cache import atomic_write, cache_root
from ..errors import GuestError
from ..proc import kill, require, spawn
from ..progress import say

GUEST_PORT = 22
ICOUNT = "shift=0,sleep=off"


@dataclass(frozen=True)
class VMSpec:
    arch: Arch
    kernel: Path
    initrd: Path | None         # None: no initramfs (the KVM probe)
    console_log: Path
    # 3 GiB: the kernel's mremap_test maps 2 GiB regions (its 2GB mremap
    # cases), which the guest's overcommit heuristic refuses with ENOMEM in
    # 1 GiB (run 20261201-212752-2825). QEMU backs only the guest pages
    # touched, so the host pays for what the tests use.
    memory_mb: int = 3072
    cpus: int = 2
    append: str = ""
    drives: tuple[Path, ...] = field(default_factory=tuple)
    # The guest's clocks count instructions (`-icount shift=0,sleep=off`:
    # one ns of guest time per instruction, no sleeping when idle), so a
    # guest-timed benchmark reads the same figure whatever the host's load.
    # TCG only, and QEMU then runs all vCPUs in one thread (no MTTCG).
    icount: bool = False
    # User networking with the SSH forward and the virtio devices; the KVM
    # probe, which only waits for the kernel to panic, goes without.
    network: bool = True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kernel_cmdline(spec: VMSpec) -> str:
    # panic=-1: reboot at once on panic, which -no-reboot turns into QEMU
    # exiting, so a panicked guest ends the boot instead of hanging it.
    base = f"console={spec.arch.console} panic=-1"
    if spec.initrd is not None:
        base += " rdinit=/init"
    return f"{base} {spec.append}".strip()


def qemu_argv(spec: VMSpec, accel: str, port: int) -> list[str]:
    """The QEMU command line of a guest: the real boot's and the KVM
    probe's (no initrd, no network: `port` is then unused)."""
    argv = [spec.arch.qemu_binary, *spec.arch.qemu_machine, "-accel", accel,
            "-m", str(spec.memory_mb), "-smp", str(spec.cpus),
            "-display", "none", "-monitor", "none", "-no-reboot",
            "-serial", f"file:{spec.console_log}",
            "-kernel", str(spec.kernel),
            *(("-initrd", str(spec.initrd)) if spec.initrd is not None else ()),
            "-append", kernel_cmdline(spec)]
    if spec.network:
        argv += ["-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:{GUEST_PORT}",
                 "-device", "virtio-net-pci,netdev=net0",
                 "-device", "virtio-rng-pci"]
    if spec.icount:
        if accel != "tcg":
            raise GuestError(f"{spec.arch.name}: icount needs TCG, not {accel}")
        argv += ["-icount", ICOUNT]
    for i, drive in enumerate(spec.drives):
        argv += ["-drive", f"file={drive},format=raw,if=none,id=d{i}",
                 "-device", f"virtio-blk-pci,drive=d{i}"]
    return argv


class VM:
    """A running guest; use as a context manager so it is always killed."""

    def __init__(self, spec: VMSpec, accel: str) -> None:
        self.spec = spec
        self.accel = accel
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.argv: list[str] = []      # the QEMU command line spawned (recorded)
        self.started = 0.0
        self.stderr_log = spec.console_log.with_suffix(".qemu.log")

    def start(self) -> "VM":
        require(self.spec.arch.qemu_binary, self.spec.arch.qemu_package)
        self.spec.console_log.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(5):   # the free port may be taken before QEMU binds it
            self.port = free_port()
            self.argv = qemu_argv(self.spec, self.accel, self.port)
            with open(self.stderr_log, "wb") as err:
                self.proc = spawn(self.argv, stdout=err, stderr=subprocess.STDOUT)
            self.started = time.monotonic()
            time.sleep(0.3)
            if self.proc.poll() is None:
                return self
            if "hostfwd" not in self.stderr_log.read_text(errors="replace"):
                break
        raise GuestError(f"{self.spec.arch.name}: QEMU exited at start: "
                         f"{self.stderr_log.read_text(errors='replace').strip()[-500:]}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def console(self) -> str:
        try:
            return self.spec.console_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_console(self, pattern: str, timeout: float) -> float | None:
        """Seconds until `pattern` shows on the console, None on timeout/exit."""
        rx = re.compile(pattern)
        while time.monotonic() - self.started < timeout:
            if rx.search(self.console()):
                return time.monotonic() - self.started
            if not self.alive():
                return None
            time.sleep(0.1)
        return None

    def stop(self) -> None:
        if self.proc is not None:
            kill(self.proc)

    def __enter__(self) -> "VM":
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def choose_accel(arch: Arch, kernel: Path, scratch: Path) -> str:
    """'kvm' only if a guest of this arch really boots under KVM here; the
    answer is cached per host boot, since it does not change until then."""
    if platform.machine() != arch.kvm_host_machine:
        return "tcg"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        say(f"{arch.name}: /dev/kvm not usable, using TCG")
        return "tcg"
    memo = cache_root() / "accel" / f"{arch.name}-{_boot_id()}"
    if memo.exists():
        accel = memo.read_text().strip()
    else:
        accel = "kvm" if _kvm_boots(arch, kernel, scratch) else "tcg"
        atomic_write(memo, accel + "\n")
    if accel == "tcg":
        say(f"{arch.name}: KVM present but a guest does not run under it; using TCG")
    return accel


def kvm_probe_spec(arch: Arch, kernel: Path, log: Path) -> VMSpec:
    """The guest that tells whether KVM works: the kernel alone, no root."""
    return VMSpec(arch, kernel, None, log, memory_mb=256, cpus=1, network=False)


def _kvm_boots(arch: Arch, kernel: Path, scratch: Path) -> bool:
    """Boot the kernel with no root under KVM: a working KVM reaches the
    'no root' panic within seconds; a broken one errors out or hangs."""
    scratch.mkdir(parents=True, exist_ok=True)
    log = scratch / f"kvm-probe-{arch.name}.log"
    p = spawn(qemu_argv(kvm_probe_spec(arch, kernel, log), "kvm", 0))
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    finally:
        kill(p)
    text = log.read_text(errors="replace") if log.exists() else ""
    return "Kernel panic" in text or "VFS:" in text
