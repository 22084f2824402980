"""Every suite directory records the exact make and QEMU command lines and
a reproducer.sh: recorded where kbuild and the VM form their argv (fake
runners here, no real make or QEMU), replayed with fake tools on PATH."""

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness import reproducer
from harness.arches import ARM64, X86_64
from harness.guest import vm
from harness.kernel import kbuild, kconfig
from harness.kernel.source import KernelTree
from harness.reproducer import BUILD_RECORD, COMMANDS, REPRODUCER, Command


def user_tree(root: Path) -> KernelTree:
    """A user's tree (not git: make decides, no fingerprint)."""
    (root / "scripts" / "kconfig").mkdir(parents=True)
    return KernelTree(root, "7.3.0 (test)", "k", scratch=False)


def fake_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arch: Any = ARM64
               ) -> tuple[kbuild.BuiltKernel, list[tuple[list[str], dict[str, str]]]]:
    """kbuild.build with make and configure faked; returns what it ran."""
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(kbuild, "require", lambda tool, package: tool)
    ran: list[tuple[list[str], dict[str, str]]] = []

    def configure(tree: Path, out: Path, *args: object) -> None:
        (out / ".config").write_text("CONFIG_MMU=y\n")

    def run_logged(argv: list[str], log: Path, **kw: Any) -> None:
        ran.append((list(argv), dict(kw["env"])))
        (log.parent / arch.kernel_image).parent.mkdir(parents=True, exist_ok=True)
        (log.parent / arch.kernel_image).write_text("image")

    monkeypatch.setattr(kbuild, "configure", configure)
    monkeypatch.setattr(kbuild, "run_logged", run_logged)
    frag = tmp_path / "base.config"
    frag.write_text("CONFIG_MMU=y\n")
    tree = user_tree(tmp_path / "linux")
    return kbuild.build(tree, "worktree", arch, [frag], "base"), ran


def test_build_records_the_make_it_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kernel, ran = fake_build(tmp_path, monkeypatch)
    record = json.loads((kernel.build_dir / BUILD_RECORD).read_text())
    make = reproducer.command_from(record[-1])
    ((argv, env),) = ran
    assert list(make.argv) == argv
    assert argv[-2:] == ["Image", "headers_install"]
    assert f"O={kernel.build_dir}" in argv and "CROSS_COMPILE=aarch64-linux-gnu-" in argv
    # The environment the harness adds, not the whole of the caller's.
    assert dict(make.env)["CCACHE_DIR"] == env["CCACHE_DIR"]
    assert dict(make.env)["ARCH"] == "arm64"
    assert "PATH" not in dict(make.env)
    assert [c["what"] for c in record] == ["arm64: make tinyconfig", "arm64: merge_config.sh",
                                           "arm64: make olddefconfig", "make"]


def test_configure_runs_the_recorded_commands(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[list[str], Path | None]] = []
    out = tmp_path / "out"
    out.mkdir()

    def run_logged(argv: list[str], log: Path, **kw: Any) -> None:
        ran.append((list(argv), kw.get("cwd")))
        (out / ".config").write_text("CONFIG_MMU=y\n")

    monkeypatch.setattr(kconfig, "run_logged", run_logged)
    frag = tmp_path / "f.config"
    frag.write_text("CONFIG_MMU=y\n")
    tree = tmp_path / "linux"
    kconfig.configure(tree, out, X86_64, [frag], tmp_path / "log")
    assert ran == [(argv, cwd) for _, argv, cwd in
                   kconfig.config_commands(tree, out, X86_64, [frag])]


def test_scratch_tree_build_starts_with_its_checkout(tmp_path: Path) -> None:
    tree = KernelTree(tmp_path, "v", "k", scratch=True)
    cmds = kbuild.build_commands(tree, "abc123", X86_64, [], tmp_path / "out")
    assert cmds[0].argv[-4:] == ("checkout", "-q", "-f", "abc123")
    assert "CROSS_COMPILE=" not in " ".join(cmds[-1].argv)


class FakeProc:
    def poll(self) -> None:
        return None


def test_vm_keeps_the_argv_it_spawned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spawned: list[list[str]] = []
    monkeypatch.setattr(vm, "require", lambda tool, package: tool)
    monkeypatch.setattr(vm, "spawn", lambda argv, **kw: spawned.append(list(argv)) or FakeProc())
    monkeypatch.setattr(vm.time, "sleep", lambda s: None)
    spec = vm.VMSpec(X86_64, tmp_path / "bzImage", tmp_path / "initrd.cpio",
                     tmp_path / "console.log")
    guest = vm.VM(spec, "tcg").start()
    assert spawned == [guest.argv] and guest.argv == vm.qemu_argv(spec, "tcg", guest.port)


def test_by_hand_boot_line() -> None:
    spec = vm.VMSpec(X86_64, Path("/b/bzImage"), Path("/r/s/initrd.cpio"),
                     Path("/r/s/console.log"), drives=(Path("/r/s/disk.img"),))
    argv = vm.qemu_argv(spec, "tcg", 40123)
    line = reproducer.by_hand(argv, "/r/s/initrd.cpio", "/cache/image/base.cpio")
    words = shlex.split(line.replace("${PORT}", "PORTVAR"))
    assert words[words.index("-serial") + 1] == "mon:stdio"
    assert words[words.index("-initrd") + 1] == "/cache/image/base.cpio"
    assert "-drive" not in words and not any("drive=" in w for w in words)
    assert "hostfwd=tcp:127.0.0.1:PORTVAR-:22" in words[words.index("-netdev") + 1]
    # Everything else as the harness ran it.
    assert words[words.index("-append") + 1] == argv[argv.index("-append") + 1]
    assert words[:3] == argv[:3]


def test_suite_reproducer_rebuilds_and_boots(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The reproducer of a suite, replayed with fake make, merge_config.sh
    and QEMU on PATH: each gets the argv the harness recorded."""
    kernel, _ = fake_build(tmp_path, monkeypatch, X86_64)
    suite = tmp_path / "run" / "base-x86_64"
    suite.mkdir(parents=True)
    reproducer.add_build(suite, kernel.build_dir / BUILD_RECORD)
    spec = vm.VMSpec(X86_64, kernel.image, suite / "initrd.cpio", suite / "console.log")
    qemu = vm.qemu_argv(spec, "tcg", 40555)
    reproducer.add_boot(suite, qemu, spec.initrd, tmp_path / "base.cpio")
    reproducer.add_boot(suite, [*qemu, "-icount", "shift=0,sleep=off"], spec.initrd,
                        tmp_path / "base.cpio")
    record = json.loads((suite / COMMANDS).read_text())
    assert record["boots"][0]["argv"] == qemu and len(record["boots"]) == 2
    script = suite / REPRODUCER
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert "#   " + shlex.join(qemu) in text            # the exact line, as a comment
    assert "the suite booted 2 guests" in text

    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "calls"
    fake = f'#!/bin/sh\necho "$(basename "$0") ARCH=${{ARCH:-}} $*" >> {log}\n'
    tree_merge = tmp_path / "linux" / "scripts" / "kconfig" / "merge_config.sh"
    for tool in (bin_ / "make", bin_ / "qemu-system-x86_64", tree_merge):
        tool.write_text(fake)
        tool.chmod(0o755)
    r = subprocess.run([str(script)], env={**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}",
                                           "PORT": "4242"},
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    calls = log.read_text().splitlines()
    assert [c.split()[0] for c in calls] == ["make", "merge_config.sh", "make", "make",
                                             "qemu-system-x86_64"]
    assert calls[3].endswith(" ".join(json.loads((kernel.build_dir / BUILD_RECORD)
                                                 .read_text())[-1]["argv"][1:]))
    assert "ARCH=x86_64" in calls[3]
    assert "hostfwd=tcp:127.0.0.1:4242-:22" in calls[4]
    assert "-serial mon:stdio" in calls[4]


def test_no_build_record_leaves_no_build(tmp_path: Path) -> None:
    reproducer.add_build(tmp_path, tmp_path / "nonexistent" / BUILD_RECORD)
    assert not (tmp_path / COMMANDS).exists()
    reproducer.add_boot(tmp_path, ["qemu-system-aarch64", "-serial", "file:/x"],
                        Path("/i"), Path("/b"))
    assert "(no build recorded for this suite)" in (tmp_path / REPRODUCER).read_text()


def test_command_shell_quotes() -> None:
    c = Command("make", ("make", "CC=ccache gcc", "-j3"), (("ARCH", "x86_64"),), "/t r")
    assert c.shell() == "(cd '/t r' && ARCH=x86_64 make 'CC=ccache gcc' -j3)"


def test_a_suite_directory_gets_the_build_commands(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """run_suite copies the build's record, built or failed (fakes for the
    builder and the imager; nothing boots: the image stage fails)."""
    from harness.errors import StageFailed
    from harness.results import RunDir, Suite
    from harness.suite import runner

    kernel, _ = fake_build(tmp_path, monkeypatch, X86_64)
    tree = KernelTree(tmp_path / "linux", "v", "k", scratch=False)

    def no_image(arch: object) -> None:
        raise StageFailed("no image here")

    plan = runner.SuitePlan(tree, "worktree", X86_64, (), (), ())
    for outcome in ("built", "failed"):
        def failing(*a: object, **k: object) -> None:
            raise StageFailed("make: exit 2", str(kernel.log))
        collab = runner.Collaborators(
            build=(lambda *a, **k: kernel) if outcome == "built" else failing,
            has_selftest=lambda *a: False, build_image=no_image)
        run = RunDir(tmp_path / "results")
        suite = Suite(outcome, "x86_64")
        runner.run_suite(plan, suite, run, collab)
        suite_dir = run.suite_dir(suite)
        record = json.loads((suite_dir / COMMANDS).read_text())
        assert record["build"][-1]["argv"][-2:] == ["bzImage", "headers_install"], outcome
        assert "headers_install" in (suite_dir / REPRODUCER).read_text()


def test_booted_records_its_qemu_command_line(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from harness.guest import boot
    from harness.guest.image import GuestImage

    class FakeVM:
        def __init__(self, spec: vm.VMSpec, accel: str) -> None:
            self.spec, self.accel, self.port = spec, accel, 40999
            self.argv: list[str] = []

        def start(self) -> "FakeVM":
            self.argv = vm.qemu_argv(self.spec, self.accel, self.port)
            return self

        def stop(self) -> None:
            pass

    monkeypatch.setattr(boot, "make_keys", lambda: SimpleNamespace(
        host_key_dropbear=b"", client_public_line=""))
    monkeypatch.setattr(boot, "run_overlay", lambda *a: b"")
    monkeypatch.setattr(boot, "write_run_initrd", lambda image, overlay, dest: dest)
    monkeypatch.setattr(boot, "choose_accel", lambda *a: "tcg")
    monkeypatch.setattr(boot, "VM", FakeVM)
    monkeypatch.setattr(boot, "Guest", lambda vm_, keys: SimpleNamespace(close=lambda: None))
    kernel = kbuild.BuiltKernel(ARM64, tmp_path / "Image", tmp_path, "key", tmp_path / "log",
                                rebuilt=False)
    image = GuestImage(ARM64, tmp_path / "base.cpio", "ik")
    with boot.booted(kernel, image, tmp_path / "suite") as (guest_vm, _):
        pass
    (recorded,) = json.loads((tmp_path / "suite" / COMMANDS).read_text())["boots"]
    assert recorded["argv"] == guest_vm.argv
    assert recorded["base_initrd"] == str(tmp_path / "base.cpio")
    text = (tmp_path / "suite" / REPRODUCER).read_text()
    assert f"-initrd {tmp_path / 'base.cpio'}" in text and "-serial mon:stdio" in text
