"""Stage 1, source: resolve a kernel tree and record its exact version.

Two kinds of input: Debian's linux-source package (the default), unpacked
once into the cache keyed by its exact version and made a scratch git repo
so series can be applied on branches; or a tree the user points at, used
read-only (builds go to O= directories in the cache).
"""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import proc
from ..cache import cache_root, key_of, locked, publishing
from ..errors import BadInput, HarnessError
from ..proc import run_capture, run_logged
from ..progress import step
from .debian import AptRepo, extract_deb, host_debian_arch

DEFAULT_PACKAGE = "linux-source-7.3"
DEFAULT_SUITE = "trixie-backports"
BASE_BRANCH = "pt-harness-base"
GIT_ID = ["-c", "user.name=pt-harness", "-c", "user.email=pt-harness@localhost", "-c", "gc.auto=0",
          "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"]


@dataclass(frozen=True)
class KernelTree:
    path: Path          # top of the source tree
    version: str        # kernel version and where it came from, for reports
    key: str            # stable identity of the base tree for build keys
    scratch: bool       # a harness-owned git repo on which series may be applied


def tree_lock(tree: KernelTree) -> Path:
    """The lock held by whatever moves a harness tree's branches or HEAD
    (`git am` of a series, the checkout before a build) until it is done."""
    return tree.path.parent / ".git-tree.lock"


def kernel_version(tree: Path) -> str:
    """VERSION.PATCHLEVEL.SUBLEVEL+EXTRAVERSION from the top Makefile."""
    try:
        head = (tree / "Makefile").read_text(errors="replace")[:2000]
    except OSError:
        raise BadInput(f"{tree}: not a kernel tree (no Makefile)") from None
    fields = {}
    for name in ("VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION"):
        m = re.search(rf"^{name}\s*=\s*(\S*)\s*$", head, re.M)
        fields[name] = m.group(1) if m else None
    if not fields["VERSION"] or fields["PATCHLEVEL"] is None:
        raise BadInput(f"{tree}: not a kernel tree (top Makefile has no VERSION)")
    return (f"{fields['VERSION']}.{fields['PATCHLEVEL']}.{fields['SUBLEVEL'] or 0}"
            f"{fields['EXTRAVERSION'] or ''}")


def check_kernel_tree(tree: Path) -> None:
    if not tree.is_dir():
        raise BadInput(f"--kernel-src {tree}: no such directory")
    for needed in ("Makefile", "Kconfig", "scripts/kconfig/merge_config.sh", "mm/memory.c"):
        if not (tree / needed).exists():
            raise BadInput(f"--kernel-src {tree}: not a kernel tree (no {needed})")


def drop_debian_gitignore(tree: Path) -> None:
    """Debian's tarball ends .gitignore with a block that ignores everything
    at the top level (`/*`), so `git add -A` would add nothing: cut it."""
    gi = tree / ".gitignore"
    if not gi.exists():
        return
    text = gi.read_text()
    cut = text.find("# Debian packaging")
    if cut >= 0:
        start = text.rfind("\n#\n", 0, cut)
        gi.write_text(text[: start + 1 if start >= 0 else cut])


def git(tree: Path, *args: str, log: Path, what: str) -> None:
    run_logged(["git", *GIT_ID, "-C", str(tree), *args], log, what=what, timeout=1800)


def make_scratch_repo(tree: Path, message: str, log: Path) -> None:
    drop_debian_gitignore(tree)
    git(tree, "init", "-q", "-b", BASE_BRANCH, log=log, what="git init")
    git(tree, "add", "-A", log=log, what="git add")
    git(tree, "commit", "-q", "-m", message, log=log, what="git commit of the base tree")


def debian_source(package: str = DEFAULT_PACKAGE, suite: str = DEFAULT_SUITE) -> KernelTree:
    """Download and unpack Debian's kernel source once per exact version."""
    repo = AptRepo(suite, host_debian_arch())
    repo.update()
    version = repo.version(package)
    safe = re.sub(r"[^A-Za-z0-9.+~-]", "_", version)
    entry = cache_root() / "src" / f"{package}_{safe}"
    tree = entry / "linux"
    with locked(cache_root() / "src" / f".{package}_{safe}.lock"):
        if not (tree / ".git").is_dir():
            with step(f"source: fetching {package} {version} from {suite}"), \
                    publishing(entry) as tmp:
                log = tmp / "source.log"
                deb = repo.download(package, tmp / "deb")
                extract_deb(deb, tmp / "pkg")
                tarballs = sorted((tmp / "pkg" / "usr" / "src").glob("linux-source-*.tar.*"))
                if not tarballs:
                    raise BadInput(f"{deb.name}: no linux-source tarball inside")
                (tmp / "unpack").mkdir()
                run_logged(["tar", "-xf", str(tarballs[0]), "-C", str(tmp / "unpack")], log,
                           what=f"unpacking {tarballs[0].name}", timeout=1800)
                top = next((tmp / "unpack").iterdir())
                top.rename(tmp / "linux")
                shutil.rmtree(tmp / "pkg")
                shutil.rmtree(tmp / "unpack")
                make_scratch_repo(tmp / "linux", f"{package} {version}", log)
                (tmp / "VERSION").write_text(version + "\n")
    kver = kernel_version(tree)
    return KernelTree(path=tree, version=f"{kver} (Debian {package} {version})",
                      key=key_of(["debian", package, version]), scratch=True)


def local_source(path: Path) -> KernelTree:
    """A user's tree, used as it is (uncommitted changes included)."""
    tree = path.expanduser().resolve()
    check_kernel_tree(tree)
    kver = kernel_version(tree)
    desc = f"{kver} ({tree}"
    if (tree / ".git").exists():
        try:
            head = run_capture(["git", "-C", str(tree), "describe", "--always", "--dirty"],
                               what="git describe").strip()
            desc += f" at {head}"
        except Exception:
            pass
    return KernelTree(path=tree, version=desc + ")", key=key_of(["path", str(tree)]),
                      scratch=False)


def worktree_fingerprint(tree: Path) -> str | None:
    """What a user's git tree looks like now: HEAD, the diff against it and
    the untracked files, digested. None when it cannot be told (not git),
    in which case make runs and decides for itself."""
    if not (tree / ".git").exists():
        return None
    try:
        head = run_capture(["git", "-C", str(tree), "rev-parse", "HEAD"], what="git rev-parse")
        diff = proc.run(["git", "-C", str(tree), "diff", "HEAD", "--binary"],
                        what="git diff", timeout=300, text=False).stdout
        untracked = run_capture(["git", "-C", str(tree), "ls-files", "--others",
                                 "--exclude-standard", "-z"], what="git ls-files")
    except (HarnessError, OSError):
        return None
    parts: list[str | bytes] = [head, diff]
    for name in sorted(filter(None, untracked.split("\0"))):
        try:
            parts += [name, (tree / name).read_bytes()]
        except OSError:
            parts.append(name)
    return key_of(parts, 32)


def tree_file(tree: KernelTree, commit: str, path: str) -> str | None:
    """Contents of `path` as built: at `commit` in a harness tree, on disk
    in a user's tree; None if it does not exist."""
    if not tree.scratch:
        try:
            return (tree.path / path).read_text(errors="replace")
        except OSError:
            return None
    r = proc.run(["git", "-C", str(tree.path), "show", f"{commit}:{path}"],
                 what=f"git show {path}", check=False)
    return str(r.stdout) if r.returncode == 0 else None


def scratch_copy(tree: KernelTree, base_commit: str | None = None) -> KernelTree:
    """A harness-owned copy of a user's tree, for applying a series without
    writing into theirs: a `git clone --shared` (objects borrowed, nothing
    written to their repository) plus their uncommitted diff as one commit,
    or a plain copy for a tree that is not a git checkout.  With
    `base_commit` (`--range`), the copy's base is that commit instead, and
    the working tree's state does not matter."""
    if tree.scratch and base_commit is None:
        return tree
    if base_commit is not None:
        state = key_of(["commit", base_commit])
    else:
        state = worktree_fingerprint(tree.path) or key_of([str(tree.path), "copy"])
    entry = cache_root() / "src" / f"copy-{key_of([str(tree.path), state])}"
    dest = entry / "linux"
    with locked(cache_root() / "src" / f".{entry.name}.lock"):
        if not (dest / ".git").is_dir():
            with step(f"source: copying {tree.path} to apply a series"), \
                    publishing(entry) as tmp:
                log = tmp / "source.log"
                if (tree.path / ".git").exists():
                    run_logged(["git", "clone", "-q", "--shared", str(tree.path),
                                str(tmp / "linux")], log, what="git clone --shared")
                    diff = b"" if base_commit else proc.run(
                        ["git", "-C", str(tree.path), "diff", "HEAD", "--binary"],
                        what="git diff of the working tree", text=False).stdout
                    git(tmp / "linux", "checkout", "-q", "-B", BASE_BRANCH,
                        *([base_commit] if base_commit else []), log=log,
                        what="git checkout")
                    if diff:
                        proc.run(["git", "-C", str(tmp / "linux"), "apply", "--index"],
                                 what="git apply of the working tree's diff", input=diff,
                                 log=log)
                        git(tmp / "linux", "commit", "-q", "-m", "uncommitted changes",
                            log=log, what="git commit of the working tree")
                else:
                    shutil.copytree(tree.path, tmp / "linux", symlinks=True)
                    make_scratch_repo(tmp / "linux", f"copy of {tree.path}", log)
    return KernelTree(path=dest, version=tree.version, key=key_of([tree.key, state]),
                      scratch=True)
