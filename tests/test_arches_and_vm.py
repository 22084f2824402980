from dataclasses import replace
from pathlib import Path

import pytest

from harness.arches import ARCHES, Arch, get_arch
from harness.errors import BadInput, GuestError, ToolMissing
from harness.guest.vm import VMSpec, kernel_cmdline, qemu_argv


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


# -- the arch record carries its packages (issue 15, part 4) ------------------

def _odd_arch() -> Arch:
    """An arch whose names no code could have guessed."""
    return replace(get_arch("arm64"), name="odd", cross_compile="odd-linux-gnu-",
                   cc_package="gcc-odd-linux-gnu", qemu_binary="qemu-system-odd",
                   qemu_package="qemu-system-oddities")


def test_tools_missing_name_the_arch_records_packages(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    from harness.guest.guest_programs import build_guest_programs
    from harness.guest.vm import VM
    from harness.kernel.kbuild import build
    from harness.kernel.source import KernelTree
    monkeypatch.setenv("PATH", str(tmp_path))
    odd = _odd_arch()
    with pytest.raises(ToolMissing, match="odd-linux-gnu-gcc not found; install the Debian "
                                          "package gcc-odd-linux-gnu$"):
        build_guest_programs(odd)
    with pytest.raises(ToolMissing, match="package gcc-odd-linux-gnu$"):
        build(KernelTree(tmp_path, "7.3", "k", False), "c", odd, [], "base")
    with pytest.raises(ToolMissing, match="qemu-system-odd not found; install the Debian "
                                          "package qemu-system-oddities$"):
        VM(VMSpec(odd, tmp_path / "k", tmp_path / "i", tmp_path / "c.log"), "tcg").start()


def test_bootstrap_installs_every_arch_package() -> None:
    script = (Path(__file__).resolve().parent.parent / "scripts" / "bootstrap.sh").read_text()
    listed = set(script.split('PACKAGES="', 1)[1].split('"', 1)[0].split())
    for arch in ARCHES.values():
        assert set(arch.packages) <= listed, arch.name
    assert get_arch("arm64").cc_package == "gcc-aarch64-linux-gnu"
    assert get_arch("x86_64").qemu_package == "qemu-system-x86"


def test_kvm_probe_is_the_boot_command_line_without_initrd_and_network(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from harness.guest import vm
    seen: list[list[str]] = []

    class Done:
        def wait(self, timeout: float) -> int:
            return 0

    monkeypatch.setattr(vm, "spawn", lambda argv: seen.append(list(argv)) or Done())
    monkeypatch.setattr(vm, "kill", lambda p: None)
    for arch in ARCHES.values():
        seen.clear()
        assert not vm._kvm_boots(arch, Path("/k/Image"), tmp_path)
        log = tmp_path / f"kvm-probe-{arch.name}.log"
        [argv] = seen
        assert argv == qemu_argv(vm.kvm_probe_spec(arch, Path("/k/Image"), log), "kvm", 0)
        boot = qemu_argv(VMSpec(arch, Path("/k/Image"), Path("/k/initrd"), log,
                                memory_mb=256, cpus=1), "kvm", 0)
        # The same machine, accel and console as a real boot, minus the
        # initramfs and the network.
        assert argv[:argv.index("-kernel")] == boot[:boot.index("-kernel")]
        assert "-initrd" not in argv and "-netdev" not in argv
        assert argv[argv.index("-append") + 1] == f"console={arch.console} panic=-1"
