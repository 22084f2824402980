"""Building the kernel's selftests of the very commit that was built,
statically, for one arch (the cross compiler for arm64), cached by the
kernel build and the selftests' own sources: the series' kselftest
(tools/testing/selftests/mm/pt_reclaim.c) and the peer suite
(tools/testing/selftests/mm, with that directory's own Makefile).

A peer program that does not build is not dropped silently: it is listed
in the entry's built.json and becomes an error check of its own in the
guest run.
"""

import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import proc
from ..arches import Arch
from ..cache import cache_root, file_digest, key_of, locked, publishing
from ..errors import TEST, HarnessError, StageFailed
from ..proc import run_logged, tail
from .kbuild import BuiltKernel
from .source import KernelTree, tree_file

SELFTEST = "tools/testing/selftests/mm/pt_reclaim.c"


def has_selftest(tree: KernelTree, commit: str) -> bool:
    return tree_file(tree, commit, SELFTEST) is not None


def build_selftest(tree: KernelTree, commit: str, kernel: BuiltKernel, arch: Arch) -> Path:
    """The static test binary for `arch`, cached by the kernel build key and
    the selftests' own sources (which the build key leaves out)."""
    key = key_of([kernel.key, sources_id(tree, commit)])
    out = cache_root() / "selftests" / f"{arch.name}-{key}"
    with locked(out.parent / f".{out.name}.lock"):
        if (out / "pt_reclaim").exists():
            return out / "pt_reclaim"
        with publishing(out) as tmp, tempfile.TemporaryDirectory() as src:
            top = selftests_tree(tree, commit, Path(src))
            run_logged([arch.cc, "-static", "-O2", "-Wall", "-pthread",
                        "-I", str(top / "tools/testing/selftests"),
                        "-I", str(top / "tools/testing/selftests/mm"),
                        "-isystem", str(kernel.build_dir / "usr/include"),
                        "-o", str(tmp / "pt_reclaim"), str(top / SELFTEST)],
                       tmp / "build.log", what=f"building the pt_reclaim selftest for {arch.name}",
                       cause=TEST)      # the series' own test does not build
    return out / "pt_reclaim"


def sources_id(tree: KernelTree, commit: str, on_disk: tuple[str, ...] = (SELFTEST,)) -> str:
    """The git tree id of tools/testing/selftests at `commit`; for a user's
    tree, a digest of the sources as they are on disk (`on_disk`: files,
    or directories whose files all count)."""
    if tree.scratch:
        r = proc.run(["git", "-C", str(tree.path), "rev-parse",
                      f"{commit}:tools/testing/selftests"], what="git rev-parse", check=False)
        if r.returncode == 0:
            return r.stdout.strip()
    files = []
    for rel in on_disk:
        top = tree.path / rel
        files += sorted(f for f in top.rglob("*") if f.is_file()) if top.is_dir() else [top]
    if files == [tree.path / SELFTEST]:
        return file_digest(files[0])
    return key_of([f"{f.relative_to(tree.path)}:{file_digest(f)}" for f in files], 64)


ARCHIVED = ("tools/testing/selftests", "tools/include")


def selftests_tree(tree: KernelTree, commit: str, dest: Path,
                    paths: tuple[str, ...] = ARCHIVED, copy_worktree: bool = False) -> Path:
    """The selftests as of `commit` (git archive: no checkout, no lock). A
    user's tree is used as it is on disk, copied into `dest` when the build
    writes beside its sources (`copy_worktree`), so nothing lands in it."""
    if not tree.scratch:
        if not copy_worktree:
            return tree.path
        for rel in paths:
            src, dst = tree.path / rel, dest / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, symlinks=True)
            else:
                shutil.copy2(src, dst)
        return dest
    tar = dest / "st.tar"
    with open(tar, "wb") as f:
        proc.run(["git", "-C", str(tree.path), "archive", commit, *paths],
                 what=f"git archive {commit[:12]}", stdout=f, text=False)
    with tarfile.open(tar) as tf:
        tf.extractall(dest, filter="data")
    return dest


# -- the peer suite -------------------------------------------------------

MM_DIR = "tools/testing/selftests/mm"
# Beyond the selftests, what the programs include from the kernel's own
# tree (-I top_srcdir): <mm/gup_test.h>, <lib/test_hmm_uapi.h> and
# <include/vdso/time64.h>.
SOURCES = (*ARCHIVED, "mm/gup_test.h", "lib/test_hmm_uapi.h", "include/vdso")
# Part of the cache key: bump it when the way the programs are built
# changes, so no entry made the old way is taken for a new one.
BUILD_RECIPE = "mm-selftests-static-1"
BUILD_TIMEOUT = 1800.0


@dataclass(frozen=True)
class PeerBuild:
    directory: Path             # bin/<program> for each program built
    built: tuple[str, ...]
    failed: tuple[str, ...]     # asked for, did not build (see build.log)

    @property
    def log(self) -> Path:
        return self.directory / "build.log"

    def binary(self, program: str) -> Path:
        return self.directory / "bin" / program


def make_argv(top: Path, out: Path, arch: Arch, kernel: BuiltKernel,
              programs: tuple[str, ...], jobs: int) -> list[str]:
    """`make -k` of the named programs only (the Makefile builds only "all"
    or full output paths): one that fails to build leaves the others be.
    -static goes into EXTRA_CFLAGS, since the x86 pkey rules link with
    CFLAGS and not LDFLAGS; -s keeps each upload to the guest small."""
    return ["make", "-C", str(top / MM_DIR), "-k", f"-j{jobs}", f"OUTPUT={out}",
            f"ARCH={arch.kernel_arch}", f"CROSS_COMPILE={arch.cross_compile}",
            f"KHDR_INCLUDES=-isystem {kernel.build_dir / 'usr/include'}",
            "EXTRA_CFLAGS=-static -s",
            *(str(out / p) for p in programs)]


def build_peer(tree: KernelTree, commit: str, kernel: BuiltKernel, arch: Arch,
               programs: tuple[str, ...]) -> PeerBuild:
    """The static mm selftests for `arch`, cached by the kernel build key,
    the selftests' sources and the list of programs."""
    sources = sources_id(tree, commit, on_disk=(MM_DIR, "tools/testing/selftests/kselftest.h",
                                                "tools/testing/selftests/kselftest_harness.h"))
    key = key_of([BUILD_RECIPE, kernel.key, sources, *sorted(programs)])
    out = cache_root() / "peer-mm" / f"{arch.name}-{key}"
    with locked(out.parent / f".{out.name}.lock"):
        if not (out / "built.json").exists():
            with publishing(out) as tmp, tempfile.TemporaryDirectory() as src:
                _build_into(tmp, tree, commit, kernel, arch, programs, Path(src))
    done = json.loads((out / "built.json").read_text())
    return PeerBuild(out, tuple(done["built"]), tuple(done["failed"]))


def _build_into(tmp: Path, tree: KernelTree, commit: str, kernel: BuiltKernel, arch: Arch,
                programs: tuple[str, ...], src: Path) -> None:
    top = selftests_tree(tree, commit, src, SOURCES, copy_worktree=True)
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    argv = make_argv(top, bin_dir, arch, kernel, programs, max(1, os.cpu_count() or 1))
    what = f"building the mm selftests for {arch.name}"
    try:
        run_logged(argv, tmp / "build.log", what=what, timeout=BUILD_TIMEOUT, heartbeat=60)
    except StageFailed as e:
        if "timed out" in str(e):
            raise
        # make -k: what did build is used; what did not is listed.
    built: list[str] = []
    failed: list[str] = []
    for p in programs:
        binary = bin_dir / p
        (built if binary.exists() and _is_static(binary, arch) else failed).append(p)
    if not built:       # the toolchain, not a program: nothing worth caching
        raise HarnessError(f"{what}: no program built\n{tail(tmp / 'build.log')}")
    (tmp / "built.json").write_text(json.dumps({"built": built, "failed": failed,
                                                "argv": argv}, indent=1))


def _is_static(binary: Path, arch: Arch) -> bool:
    """No program interpreter: the guest has no libc of its own to load."""
    r = proc.run([arch.readelf, "-l", str(binary)], what=f"readelf -l {binary.name}",
                 timeout=60, check=False)
    return r.returncode == 0 and "INTERP" not in r.stdout
