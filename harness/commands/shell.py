"""`pt-harness shell`: boot a kernel and give an interactive shell in the
guest, or with --keep leave the VM up and print how to connect."""

from pathlib import Path

from .. import proc
from ..arches import Arch
from ..guest.boot import booted
from ..guest.guest import SSH_TIMEOUT
from ..guest.image import build_image
from ..guest.terminal import connect_hint, interactive, write_client_key
from ..kernel.kbuild import build
from ..kernel.series import EMPTY, Series, apply, load_series
from ..kernel.source import debian_source, local_source, scratch_copy
from ..progress import say, step
from ..results import RunDir
from .run import DEFAULT_SERIES, fragments_for


def pick_series(series_dir: Path | None, base: bool, own_tree: bool = False) -> Series:
    """--base: nothing applied; --series: that; a developer's own tree is
    booted as it is; otherwise the project's series on Debian's source."""
    if base:
        return EMPTY
    if series_dir is not None:
        return load_series(series_dir)
    if own_tree:
        return EMPTY
    return load_series(DEFAULT_SERIES) if (DEFAULT_SERIES / "series").exists() else EMPTY


def shell(arch: Arch, kernel_src: Path | None, series_dir: Path | None, base: bool,
          keep: bool, results: Path | None) -> int:
    series = pick_series(series_dir, base, own_tree=kernel_src is not None)
    tree = local_source(kernel_src) if kernel_src else debian_source()
    if not series.empty:
        tree = scratch_copy(tree)     # the series goes onto a copy, never their tree
    rundir = RunDir(results)
    out = rundir.path / f"shell-{arch.name}"
    out.mkdir()
    commit = "worktree" if series.empty and not tree.scratch else \
        apply(tree, series, out / "apply.log")
    # A developer's tree gets check's fragments, so shell boots check's build.
    fragments = fragments_for(arch, (), debuginfo=kernel_src is not None,
                              patched=not series.empty)
    kernel = build(tree, commit, arch, list(fragments), series.name)
    image = build_image(arch)
    with booted(kernel, image, out, keep=keep) as (vm, guest):
        with step(f"boot {series.name}/{arch.name} ({vm.accel})"):
            guest.wait_ssh(SSH_TIMEOUT)
        if keep and vm.proc is not None:
            key = write_client_key(guest, out)
            proc.release(vm.proc)
            print(f"VM left running, QEMU pid {vm.proc.pid}\n"
                  f"console: {out / 'console.log'}\n"
                  f"connect: {connect_hint(vm.port, key)}\n"
                  f"stop:    kill {vm.proc.pid}")
            return 0
        say(f"shell in {series.name}/{arch.name}; exit the shell to stop the VM")
        return interactive(guest)
