"""Stage 5, image: the guest initramfs for one architecture.

A base archive per arch (Debian's busybox-static and dropbear with exactly
the shared libraries they need, guest-images/rootfs, the workloads) is
built once and cached; each run appends a tiny second archive with the SSH
keys made for that run (the kernel unpacks concatenated archives in turn).
"""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import REPO_ROOT
from ..arches import Arch
from ..cache import cache_root, file_digest, key_of, locked, publishing
from ..errors import StageFailed
from ..kernel.debian import AptRepo, extract_deb
from ..proc import run_capture
from ..progress import step
from . import cpio
from .guest_programs import build_guest_programs

GUEST_DIR = REPO_ROOT / "guest-images"
GUEST_SUITE = "bookworm"
WORKLOAD_PREFIX = "opt/pt/bin"
# Uncompressed: QEMU copies the initrd into guest memory at host speed,
# while gunzip of ~7 MB in the guest took a good part of a second under TCG.
IMAGE_FORMAT = "newc"


@dataclass(frozen=True)
class GuestImage:
    arch: Arch
    base: Path           # cached base archive (newc, uncompressed)
    key: str


def read_list(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            rows.append(line.split())
    return rows


def needed_libs(binary: Path, readelf: str) -> tuple[list[str], str | None]:
    """DT_NEEDED names and the program interpreter of an ELF file."""
    dyn = run_capture([readelf, "-d", str(binary)], what=f"readelf -d {binary.name}")
    prog = run_capture([readelf, "-l", str(binary)], what=f"readelf -l {binary.name}")
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    m = re.search(r"Requesting program interpreter: ([^\]]+)\]", prog)
    return needed, m.group(1) if m else None


def find_lib(root: Path, name: str) -> Path:
    for d in ("lib", "usr/lib", "lib64", "usr/lib64"):
        for cand in [root / d / name, *(root / d).glob(f"*/{name}")]:
            if cand.exists():
                return cand.resolve()
    raise StageFailed(f"guest image: shared library {name} is in none of the packages "
                      f"of {GUEST_DIR / 'packages'}")


def library_closure(root: Path, binaries: list[Path], readelf: str
                    ) -> tuple[dict[str, Path], set[str]]:
    """Every library the binaries need, transitively; and their interpreters."""
    libs: dict[str, Path] = {}
    interps: set[str] = set()
    todo = list(binaries)
    while todo:
        needed, interp = needed_libs(todo.pop(), readelf)
        if interp:
            interps.add(interp)
        for name in needed:
            if name not in libs:
                libs[name] = find_lib(root, name)
                todo.append(libs[name])
    return libs, interps


def image_key(arch: Arch, versions: list[str], workloads: Path) -> str:
    files = sorted(p for p in GUEST_DIR.rglob("*") if p.is_file())
    return key_of([arch.name, IMAGE_FORMAT, *versions, workloads.name,
                   *(f"{p.relative_to(GUEST_DIR)}:{file_digest(p)}" for p in files)])


def build_image(arch: Arch) -> GuestImage:
    repo = AptRepo(GUEST_SUITE, arch.debian_arch)
    packages = [row[0] for row in read_list(GUEST_DIR / "packages")]
    versions = [f"{p}={v}" for p, v in repo.versions(packages).items()]
    workloads = build_guest_programs(arch)
    key = image_key(arch, versions, workloads)
    out = cache_root() / "images" / f"{arch.name}-{key}"
    with locked(out.parent / f".{out.name}.lock"):
        if not (out / "base.cpio").exists():
            with step(f"image: guest initramfs for {arch.name}"), publishing(out) as tmp:
                _assemble(arch, repo, packages, workloads, tmp)
    return GuestImage(arch, out / "base.cpio", key)


def _assemble(arch: Arch, repo: AptRepo, packages: list[str], workloads: Path,
              tmp: Path) -> None:
    pkgroot = tmp / "pkgroot"
    for p in packages:
        extract_deb(repo.download(p, tmp / "debs"), pkgroot)
    entries = [cpio.directory(d) for d in
               ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "lib", "etc", "etc/dropbear",
                "proc", "sys", "dev", "tmp", "run", "root", "opt", "opt/pt")]
    entries += [cpio.chardev("dev/console", 5, 1), cpio.chardev("dev/null", 1, 3, 0o666)]
    binaries = []
    for src, dst in read_list(GUEST_DIR / "binaries"):
        path = pkgroot / src
        if not path.exists():
            raise StageFailed(f"guest image: {src} is in none of the packages")
        entries.append(cpio.file(dst, path.read_bytes(), 0o755))
        binaries.append(path)
    libs, interps = library_closure(pkgroot, binaries, arch.readelf)
    seen_dirs = {e.path for e in entries}
    for name, path in sorted(libs.items()):
        entries.append(cpio.file(f"lib/{name}", path.read_bytes(), 0o755))
    for interp in sorted(interps):
        rel = interp.lstrip("/")
        parent = str(Path(rel).parent)
        if parent not in seen_dirs:
            entries.append(cpio.directory(parent))
            seen_dirs.add(parent)
        entries.append(cpio.file(rel, find_lib(pkgroot, Path(rel).name).read_bytes(), 0o755))
    # Debian's ld.so searches /lib/<triplet>; point it at our flat /lib.
    triplets = {p.parent.name for p in libs.values() if "-linux-" in p.parent.name}
    for t in sorted(triplets):
        entries.append(cpio.symlink(f"lib/{t}", "."))
    entries += cpio.tree_entries(GUEST_DIR / "rootfs", "")
    entries += cpio.tree_entries(workloads, WORKLOAD_PREFIX)
    entries = [e for e in entries if not e.path.startswith(f"{WORKLOAD_PREFIX}/.")]
    (tmp / "base.cpio").write_bytes(cpio.archive(_dedupe(entries)))
    (tmp / "CONTENTS").write_text("\n".join(sorted(e.path for e in entries)) + "\n")
    shutil.rmtree(pkgroot)
    shutil.rmtree(tmp / "debs")


def _dedupe(entries: list[cpio.Entry]) -> list[cpio.Entry]:
    by_path: dict[str, cpio.Entry] = {}
    for e in entries:
        by_path[e.path.strip("/")] = e
    return list(by_path.values())


def run_overlay(host_key: bytes, authorized_key: str) -> bytes:
    """The per-run archive: dropbear's host key and root's authorized key."""
    return cpio.archive([
        cpio.directory("etc"), cpio.directory("etc/dropbear"),
        cpio.file("etc/dropbear/dropbear_ed25519_host_key", host_key, 0o600),
        cpio.directory("root", 0o700), cpio.directory("root/.ssh", 0o700),
        cpio.file("root/.ssh/authorized_keys", authorized_key.encode() + b"\n", 0o600),
    ])


def write_run_initrd(image: GuestImage, overlay: bytes, dest: Path) -> Path:
    """Concatenate the cached base archive and this run's overlay.

    The kernel looks for the next archive only at a 4-byte aligned offset
    (init/initramfs.c skips zero bytes between archives), so the base is
    padded with zeros first; without it the overlay, and with it the SSH
    host key, would be silently ignored whenever the base length is not."""
    base = image.base.read_bytes()
    with open(dest, "wb") as f:
        f.write(base)
        f.write(b"\0" * (-len(base) % 4))
        f.write(overlay)
    return dest
