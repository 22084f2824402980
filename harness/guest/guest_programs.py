"""The guest programs: static C in workloads/ and guest-images/tools/
(the sampler), built once per arch.

Built on the host with the arch's (cross) compiler and -static, so the
guest needs no libc for them; cached by the digest of the sources and the
compiler version.
"""

from pathlib import Path

from .. import REPO_ROOT
from ..arches import Arch
from ..cache import cache_root, file_digest, key_of, locked, publishing
from ..proc import require, run_capture, run_logged
from ..progress import step

WORKLOADS_DIR = REPO_ROOT / "workloads"
TOOLS_DIR = REPO_ROOT / "guest-images" / "tools"
SOURCE_DIRS = (WORKLOADS_DIR, TOOLS_DIR)
CFLAGS = ["-static", "-s", "-O2", "-g0", "-Wall", "-Wextra", "-Werror", "-pthread"]


def sources(dirs: tuple[Path, ...] = SOURCE_DIRS) -> list[Path]:
    return sorted(p for d in dirs for p in d.glob("*.c"))


def build_guest_programs(arch: Arch, dirs: tuple[Path, ...] = SOURCE_DIRS) -> Path:
    """Directory of static binaries, one per *.c in `dirs`, for `arch`."""
    cc = require(arch.cc, arch.cc_package)
    cc_version = run_capture([cc, "--version"], what=f"{arch.cc} --version").splitlines()[0]
    inputs = sources(dirs) + sorted(p for d in dirs for p in d.glob("*.h"))
    key = key_of([cc_version, *CFLAGS, *(f"{p.name}:{file_digest(p)}" for p in inputs)])
    out = cache_root() / "workloads" / f"{arch.name}-{key}"
    with locked(out.parent / f".{out.name}.lock"):
        if out.is_dir():
            return out
        with step(f"workloads: compiling {len(sources(dirs))} for {arch.name}"), \
                publishing(out) as tmp:
            for src in sources(dirs):
                run_logged([cc, *CFLAGS, "-I", str(WORKLOADS_DIR), "-o", str(tmp / src.stem),
                            str(src)], tmp / "build.log", what=f"compiling {src.name} "
                           f"for {arch.name}")
            (tmp / "build.log").rename(tmp / ".build.log")
    return out
