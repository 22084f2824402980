"""Booting a built kernel with the guest image: keys, initrd, accel, VM.

Shared by `run` (suites) and `shell`; the VM is killed when the block ends
unless the caller asked to keep it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..kernel.kbuild import BuiltKernel
from ..reproducer import add_boot
from .guest import Guest
from .image import GuestImage, run_overlay, write_run_initrd
from .keys import make_keys
from .vm import VM, VMSpec, choose_accel

# One vCPU under icount. QEMU then runs every vCPU in one host thread, in
# turn, and a vCPU that waits for another (an IPI's answer, the clocksource
# watchdog's cross-CPU read) spins until QEMU switches to the other one,
# counting instructions no SMP machine spends: with two vCPUs 2 of 12
# fault-loop runs came out 1-2% slow, with one 16 runs agreed to 0.02%.
# The benchmark is one thread, so a second CPU has nothing to run for it.
ICOUNT_CPUS = 1


@contextmanager
def booted(kernel: BuiltKernel, image: GuestImage, out: Path,
           drives: tuple[Path, ...] = (), keep: bool = False,
           icount: bool = False) -> Iterator[tuple[VM, Guest]]:
    """Start QEMU on `kernel`; yield the VM and an unconnected Guest.

    `icount`: a guest whose clocks count instructions (VMSpec.icount), on
    TCG whatever KVM could do, with its own console-icount.log."""
    keys = make_keys()
    suffix = "-icount" if icount else ""
    initrd = write_run_initrd(image, run_overlay(keys.host_key_dropbear,
                                                 keys.client_public_line),
                              out / f"initrd{suffix}.cpio")
    accel = "tcg" if icount else choose_accel(kernel.arch, kernel.image, out)
    spec = VMSpec(kernel.arch, kernel.image, initrd, out / f"console{suffix}.log",
                  drives=drives, icount=icount, cpus=ICOUNT_CPUS if icount else VMSpec.cpus)
    vm = VM(spec, accel).start()
    add_boot(out, vm.argv, initrd, image.base)
    guest = Guest(vm, keys)
    try:
        yield vm, guest
    finally:
        guest.close()
        if not keep:
            vm.stop()
            initrd.unlink(missing_ok=True)
