"""The series' kselftest (tools/testing/selftests/mm/pt_reclaim.c), built
statically from the very commit that was built, run in the guest, its
KTAP turned into one check per test case."""

import shutil
import tarfile
import tempfile
from pathlib import Path

from .. import proc
from ..arches import Arch
from ..cache import cache_root, file_digest, key_of, locked, publishing
from ..errors import TEST, GuestError
from ..guest import console
from ..guest.guest import Guest
from ..kernel.kbuild import BuiltKernel
from ..kernel.source import KernelTree, tree_file
from ..proc import run_logged
from ..results import ERROR, FAILED, PASSED, SKIPPED, Check
from .ktap import FAIL, SKIP, XFAIL, parse

SELFTEST = "tools/testing/selftests/mm/pt_reclaim.c"
GUEST_PATH = "/tmp/pt_reclaim"
TIMEOUT = 600.0
CHECK_NAME = "kselftest:pt_reclaim"     # the whole test; each case adds its own


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


def run_selftest(guest: Guest, binary: Path, console_log: Path,
                 out_dir: Path | None = None) -> list[Check]:
    try:
        guest.put(binary.read_bytes(), GUEST_PATH, mode="0755")
        r = guest.run(f"{GUEST_PATH} 2>&1", timeout=TIMEOUT)
    except GuestError as e:
        return [Check(CHECK_NAME, ERROR, message=str(e),
                      detail=console.tail(console_log))]
    if out_dir is not None:      # the raw KTAP, diagnostics and all
        (out_dir / "kselftest-pt_reclaim.ktap").write_text(r.stdout)
    return ktap_checks(r.stdout, r.exit_status, r.timed_out, r.seconds, console_log)


def ktap_checks(output: str, exit_status: int, timed_out: bool, seconds: float,
                console_log: Path) -> list[Check]:
    result = parse(output)
    checks = []
    for case in result.cases:
        name = f"kselftest:{case.name}"
        detail = "\n".join(case.diagnostics)
        props = {"diagnostics": detail[-2000:]} if case.diagnostics else {}
        if case.status == FAIL:
            checks.append(Check(name, FAILED, message=case.directive or "not ok",
                                detail=detail, properties=props))
        elif case.status == SKIP:
            checks.append(Check(name, SKIPPED, message=case.directive))
        else:
            status = PASSED if case.status != XFAIL else SKIPPED
            checks.append(Check(name, status, properties=props))
    whole = CHECK_NAME
    if timed_out:
        checks.append(Check(whole, ERROR, seconds, f"timed out after {TIMEOUT:.0f}s",
                            output[-3000:] + "\n" + console.tail(console_log)))
    elif not result.complete:
        checks.append(Check(whole, ERROR, seconds,
                            f"KTAP incomplete: {len(result.cases)} of "
                            f"{result.planned} results (exit {exit_status})",
                            output[-3000:] + "\n" + console.tail(console_log)))
    else:
        # kselftest exits 0 on pass, 4 when everything skipped, 1 on failure.
        failed = any(c.status == FAILED for c in checks) or exit_status not in (0, 4)
        checks.append(Check(whole, FAILED if failed else PASSED, seconds,
                            f"exit status {exit_status}" if failed else "",
                            properties={"totals": " ".join(result.trailing[-1:])}))
    return checks
