"""Booting a built kernel with the guest image: keys, initrd, accel, VM.

Shared by `run` (suites) and `shell`; the VM is killed when the block ends
unless the caller asked to keep it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .guest import Guest
from .image import GuestImage, run_overlay, write_run_initrd
from .kbuild import BuiltKernel
from .keys import make_keys
from .vm import VM, VMSpec, choose_accel


@contextmanager
def booted(kernel: BuiltKernel, image: GuestImage, out: Path,
           drives: tuple[Path, ...] = (), keep: bool = False) -> Iterator[tuple[VM, Guest]]:
    """Start QEMU on `kernel`; yield the VM and an unconnected Guest."""
    keys = make_keys()
    initrd = write_run_initrd(image, run_overlay(keys.host_key_dropbear,
                                                 keys.client_public_line),
                              out / "initrd.cpio")
    accel = choose_accel(kernel.arch, kernel.image, out)
    spec = VMSpec(kernel.arch, kernel.image, initrd, out / "console.log", drives=drives)
    vm = VM(spec, accel).start()
    guest = Guest(vm, keys)
    try:
        yield vm, guest
    finally:
        guest.close()
        if not keep:
            vm.stop()
            initrd.unlink(missing_ok=True)
