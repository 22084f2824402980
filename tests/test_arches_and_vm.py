from pathlib import Path

import pytest

from harness.arches import ARCHES, get_arch
from harness.errors import BadInput, GuestError
from harness.vm import VMSpec, kernel_cmdline, qemu_argv


def spec(name: str, drives: tuple[Path, ...] = (), icount: bool = False) -> VMSpec:
    return VMSpec(get_arch(name), Path("/k/Image"), Path("/k/initrd"), Path("/r/console.log"),
                  drives=drives, icount=icount)


def test_unknown_arch() -> None:
    with pytest.raises(BadInput, match="unknown arch 'riscv'"):
        get_arch("riscv")


def test_x86_command_line() -> None:
    argv = qemu_argv(spec("x86_64"), "tcg", 40000)
    assert argv[0] == "qemu-system-x86_64"
    assert argv[argv.index("-machine") + 1] == "q35"
    assert "-no-reboot" in argv
    assert argv[argv.index("-accel") + 1] == "tcg"
    assert argv[argv.index("-serial") + 1] == "file:/r/console.log"
    net = argv[argv.index("-netdev") + 1]
    assert "hostfwd=tcp:127.0.0.1:40000-:22" in net
    assert "console=ttyS0" in argv[argv.index("-append") + 1]


def test_arm64_command_line() -> None:
    argv = qemu_argv(spec("arm64", (Path("/d/disk.img"),)), "tcg", 40001)
    assert argv[0] == "qemu-system-aarch64"
    assert argv[argv.index("-machine") + 1] == "virt"
    assert "file=/d/disk.img,format=raw,if=none,id=d0" in argv
    assert "console=ttyAMA0" in kernel_cmdline(spec("arm64"))


def test_icount_is_one_flag_on_either_arch() -> None:
    """The icount guest is the same command line plus `-icount`, once."""
    for name in ARCHES:
        plain = qemu_argv(spec(name), "tcg", 40002)
        timed = qemu_argv(spec(name, icount=True), "tcg", 40002)
        assert "-icount" not in plain
        assert timed.count("-icount") == 1
        assert timed[timed.index("-icount") + 1] == "shift=0,sleep=off"
        i = timed.index("-icount")
        assert timed[:i] + timed[i + 2:] == plain


def test_icount_refuses_kvm() -> None:
    with pytest.raises(GuestError, match="icount needs TCG"):
        qemu_argv(spec("x86_64", icount=True), "kvm", 40003)


def test_panic_reboots_into_exit() -> None:
    for name in ARCHES:
        line = kernel_cmdline(spec(name))
        assert "panic=-1" in line


def test_arches_are_frozen() -> None:
    with pytest.raises(AttributeError):
        ARCHES["x86_64"].name = "x"  # type: ignore[misc]
