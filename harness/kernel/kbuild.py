"""Stage 4, kbuild: an out-of-tree (O=) build per (tree, series, config, arch).

Builds are keyed; a key whose image is already built is not rebuilt.
Harness-owned trees are switched to the wanted commit under the tree lock
and built at one fixed path, so ccache hits across base and patched
kernels for every file the series does not touch.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from ..arches import Arch
from ..cache import cache_root, file_digest, key_of, locked
from ..errors import TEST, HarnessError
from ..proc import require, run_capture, run_logged
from ..progress import say, step
from ..reproducer import BUILD_RECORD, Command, env_delta, save_build
from .kconfig import config_commands, configure, make_env
from .source import GIT_ID, KernelTree, tree_lock, worktree_fingerprint

STAMP = ".pt-harness-built"
CONFIG_STAMP = ".pt-harness-config"


@dataclass(frozen=True)
class BuiltKernel:
    arch: Arch
    image: Path          # bootable kernel image
    build_dir: Path      # O= directory (vmlinux, .config, headers)
    key: str
    log: Path            # this build's log in the cache
    rebuilt: bool        # False when the cached build was reused


# Parts of a kernel tree no kernel build reads: a patch that only changes
# these (a selftest, the documentation) must not rebuild the kernel.
NOT_BUILT = ("Documentation", "tools/testing")


def source_id(tree: KernelTree, commit: str) -> str:
    """What a build depends on: for a harness tree, the git objects of the
    commit's tree outside NOT_BUILT, so that rewording a commit message,
    re-applying a series or changing its selftest does not rebuild the
    kernel; otherwise `commit` as given."""
    if not tree.scratch:
        return commit
    try:
        listing = run_capture(["git", "-C", str(tree.path), "ls-tree", commit, "tools/", "."],
                              what="git ls-tree")
    except HarnessError:
        return commit
    keep = []
    for line in listing.splitlines():
        path = line.split("\t", 1)[-1]
        if path not in NOT_BUILT and path != "tools":
            keep.append(line)
    return key_of(keep)


def build_key(tree: KernelTree, commit: str, arch: Arch, fragments: list[Path]) -> str:
    return key_of([tree.key, source_id(tree, commit), arch.name,
                   *(f"{f.name}:{file_digest(f)}" for f in fragments)])


def jobs() -> int:
    return (os.cpu_count() or 1) + 1


def kbuild_command(tree: KernelTree, out: Path, arch: Arch) -> tuple[dict[str, str], list[str]]:
    """Environment and `make` argv for an O= build of `tree` in `out`."""
    env = make_env(arch)
    env["CCACHE_DIR"] = str(cache_root() / "ccache")
    env.setdefault("KBUILD_BUILD_USER", "pt-harness")
    env.setdefault("KBUILD_BUILD_HOST", "pt-harness")
    make = ["make", "-C", str(tree.path), f"O={out}", f"ARCH={arch.kernel_arch}",
            f"CC=ccache {arch.cc}", f"-j{jobs()}"]
    if arch.cross_compile:
        make.append(f"CROSS_COMPILE={arch.cross_compile}")
    return env, make


def kernel_make(tree: KernelTree, out: Path, arch: Arch) -> tuple[dict[str, str], list[str]]:
    """The make that builds the image and the uapi headers (the selftest is
    compiled against these)."""
    env, make = kbuild_command(tree, out, arch)
    return env, [*make, arch.make_target, "headers_install"]


def checkout_argv(tree: KernelTree, commit: str) -> list[str]:
    return ["git", *GIT_ID, "-C", str(tree.path), "checkout", "-q", "-f", commit]


def build_commands(tree: KernelTree, commit: str, arch: Arch, fragments: list[Path],
                   out: Path) -> list[Command]:
    """Every command of a cold build of `commit` in `out`, as build() runs
    them (recorded beside the build for the suite's reproducer.sh)."""
    cmds = [Command("git checkout", tuple(checkout_argv(tree, commit)))] if tree.scratch else []
    config_env = env_delta(make_env(arch))
    cmds += [Command(what, tuple(argv), config_env, str(cwd) if cwd else None)
             for what, argv, cwd in config_commands(tree.path, out, arch, fragments)]
    env, make = kernel_make(tree, out, arch)
    return [*cmds, Command("make", tuple(make), env_delta(env))]


def check_out(tree: KernelTree, commit: str) -> None:
    """Switch a harness tree's working tree to `commit`; the caller holds
    tree_lock(tree) for as long as it needs the tree to stay there."""
    run_capture(checkout_argv(tree, commit), what=f"git checkout {commit[:12]}")


def build(tree: KernelTree, commit: str, arch: Arch, fragments: list[Path],
          label: str, out: Path | None = None,
          optional: tuple[Path, ...] = ()) -> BuiltKernel:
    """Build `commit` of `tree` (for a user tree: its working tree) for `arch`.

    With `out`, build in that directory whatever it last built: the nightly
    walks a series commit by commit in one directory, so each step rebuilds
    only what that patch touched. The options of the `optional` fragments
    (some of `fragments`) are merged but not required to stick."""
    require(arch.cc, arch.cc_package)
    require("ccache", "ccache")
    key = build_key(tree, commit, arch, fragments)
    walking = out is not None
    out = out or cache_root() / "build" / f"{arch.name}-{key}"
    out.mkdir(parents=True, exist_ok=True)
    save_build(out / BUILD_RECORD, build_commands(tree, commit, arch, fragments, out))
    log = out / "build.log"
    image = out / arch.kernel_image
    stamp = out / STAMP
    # A harness tree is pinned by the commit in the key; a user's tree is
    # pinned by a fingerprint of its working state (None: let make decide).
    state = "" if tree.scratch else worktree_fingerprint(tree.path)
    stamp_text = f"{key} {state}"
    if not walking and state is not None and stamp.exists() and stamp.read_text() == stamp_text \
            and image.exists():
        say(f"kbuild {label}/{arch.name}: up to date ({out.name})")
        return BuiltKernel(arch, image, out, key, log, rebuilt=False)

    lock = tree_lock(tree) if tree.scratch else out / ".lock"
    with locked(lock), step(f"kbuild {label}/{arch.name}"):
        log.write_text("")
        stamp.unlink(missing_ok=True)
        if tree.scratch:
            check_out(tree, commit)
        config_key = key_of([file_digest(f) for f in fragments])
        cstamp = out / CONFIG_STAMP
        if not (out / ".config").exists() or not cstamp.exists() \
                or cstamp.read_text() != config_key:
            configure(tree.path, out, arch, fragments, log, optional)
            cstamp.write_text(config_key)
        env, make = kernel_make(tree, out, arch)
        run_logged(make, log, what=f"kbuild {label}/{arch.name}", env=env, heartbeat=30.0,
                   timeout=3600, cause=TEST)      # the series does not build: exit 1
        stamp.write_text(stamp_text)
    return BuiltKernel(arch, image, out, key, log, rebuilt=True)
