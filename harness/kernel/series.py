"""Stage 2, series: load a patch series and apply it on a scratch branch.

A series is a directory with a quilt-style `series` file naming its
patches in order (`git format-patch` output); a cover letter is skipped.
Applying never touches the base branch: each series gets its own branch,
named by the digest of its patches, so reapplying the same series is free.
"""

import email
import email.policy
import re
from dataclasses import dataclass
from pathlib import Path

from .. import proc
from ..cache import cache_root, key_of, locked, publishing
from ..errors import BadInput, CodeFailed, StageFailed
from ..proc import run_capture
from .source import BASE_BRANCH, GIT_ID, KernelTree, tree_lock

# One git command on a kernel tree (am, checkout, mailsplit): minutes at
# most, on a loaded host.
GIT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Series:
    name: str
    patches: tuple[Path, ...]
    key: str

    @property
    def empty(self) -> bool:
        return not self.patches

    def labels(self) -> list[str]:
        return [patch_label(n, p) for n, p in enumerate(self.patches, 1)]


EMPTY = Series(name="base", patches=(), key="empty")


# git format-patch's file names keep at most this much of the subject.
SLUG_MAX = 52
_SUBJECT_TAG = re.compile(r"^\s*(?:\[[^\]]*\]|re:)\s*", re.I)


def patch_subject(patch: Path) -> str:
    """The patch's subject line, unfolded and decoded, without its
    [PATCH v2 3/5] tags: the same whether the patch came from a series
    directory, an mbox or a range."""
    msg = email.message_from_bytes(patch.read_bytes(), policy=email.policy.default)
    subject = " ".join(str(msg.get("Subject", "")).split())
    while m := _SUBJECT_TAG.match(subject):
        subject = subject[m.end():]
    return subject


def subject_slug(subject: str) -> str:
    """The subject as git format-patch spells it in a file name: runs of
    anything but letters, digits, '.' and '_' become one '-'."""
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", subject)
    slug = re.sub(r"\.\.+", ".", slug).strip(".-")
    return slug[:SLUG_MAX].rstrip(".-")


def patch_label(n: int, patch: Path) -> str:
    """`<nn>-<subject slug>`, the name of patch n (from 1) in every check
    and report; a mail with no subject falls back to its file name."""
    slug = subject_slug(patch_subject(patch)) or subject_slug(
        re.sub(r"^\d+-?", "", patch.stem)) or "patch"
    return f"{n:02d}-{slug}"


def is_cover_letter(patch: Path) -> bool:
    return patch.name.startswith("0000-") or "cover-letter" in patch.name


def load_series(directory: Path) -> Series:
    """Read DIR/series (or, lacking one, DIR/*.patch in name order); a file
    is read as an mbox (`b4 am`, `git format-patch --stdout`)."""
    d = directory.expanduser().resolve()
    if d.is_file():
        return load_mbox(d)
    if not d.is_dir():
        raise BadInput(f"--series {directory}: no such directory")
    listing = d / "series"
    if listing.exists():
        names = []
        for lineno, line in enumerate(listing.read_text().splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name = line.split()[0]
            if not (d / name).is_file():
                raise BadInput(f"{listing}:{lineno}: patch {name} does not exist")
            names.append(name)
        patches = [d / n for n in names]
    else:
        patches = sorted(d.glob("*.patch"))
    patches = [p for p in patches if not is_cover_letter(p)]
    if not patches and not listing.exists():
        raise BadInput(f"--series {directory}: no series file and no *.patch")
    key = key_of([p.read_bytes() for p in patches])
    return Series(name=d.name, patches=tuple(patches), key=key)


_SUBJECT_N = re.compile(r"^Subject:.*\[[^\]]*?\b(\d+)/(\d+)\]", re.M)


def load_mbox(path: Path) -> Series:
    """Split an mbox into one file per mail (git mailsplit) in the cache;
    the cover letter ([PATCH 0/N], or a mail with no diff) is dropped."""
    data = path.read_bytes()
    if not data.startswith(b"From ") or b"\ndiff --git " not in data:
        raise BadInput(f"--series {path}: not an mbox of patches (no 'From ' header or no diff)")
    key = key_of([data])
    out = cache_root() / "mbox" / key
    with locked(out.parent / f".{key}.lock"):
        if not out.is_dir():
            with publishing(out) as tmp:
                r = proc.run(["git", "mailsplit", "-b", "-d4", f"-o{tmp}", str(path)],
                             what="git mailsplit", timeout=GIT_TIMEOUT, check=False)
                if r.returncode != 0:
                    raise BadInput(f"--series {path}: git mailsplit failed: {r.stderr.strip()}")
                for mail in sorted(tmp.iterdir()):
                    mail.rename(mail.with_name(mail.name + ".patch"))
    patches = []
    for mail in sorted(out.glob("*.patch")):
        text = mail.read_text(errors="replace")
        m = _SUBJECT_N.search(text)
        if (m and m.group(1).lstrip("0") == "") or "\ndiff --git " not in text:
            continue
        patches.append(mail)
    if not patches:
        raise BadInput(f"--series {path}: the mbox holds no patch")
    return Series(name=path.stem, patches=tuple(patches), key=key_of([p.read_bytes()
                                                                       for p in patches]))


def load_range(tree: Path, spec: str) -> tuple[Series, str]:
    """`--range BASE..TIP` in a git tree: its commits as a series (`git
    format-patch`, into the cache; the tree is only read) and the full id of
    BASE, which the series is then applied on."""
    base_ref, sep, tip_ref = spec.partition("..")
    if not sep or not base_ref or not tip_ref or tip_ref.startswith("."):
        raise BadInput(f"--range {spec!r}: expected BASE..TIP (two dots)")
    if not (tree / ".git").exists():
        raise BadInput(f"--range {spec}: {tree} is not a git checkout")
    ids = []
    for ref in (base_ref, tip_ref):
        commit = rev_parse(tree, ref)
        if commit is None:
            raise BadInput(f"--range {spec}: {ref!r} is not a commit in {tree}")
        ids.append(commit)
    base, tip = ids
    git = ["git", "-C", str(tree)]
    commits = run_capture([*git, "rev-list", "--reverse", f"{base}..{tip}"],
                          what="git rev-list").split()
    if not commits:
        raise BadInput(f"--range {spec}: no commits between {base_ref} and {tip_ref}")
    merges = run_capture([*git, "rev-list", "--merges", f"{base}..{tip}"], what="git rev-list")
    if merges.strip():
        raise BadInput(f"--range {spec}: contains merge commits; give a linear range")
    out = cache_root() / "range" / key_of([base, tip])
    with locked(out.parent / f".{out.name}.lock"):
        if not out.is_dir():
            with publishing(out) as tmp:
                run_capture([*git, "format-patch", "-q", "--no-cover-letter", "--no-signature",
                             "-o", str(tmp), f"{base}..{tip}"], what="git format-patch")
                names = sorted(p.name for p in tmp.glob("*.patch"))
                (tmp / "series").write_text("".join(f"{n}\n" for n in names))
    series = load_series(out)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", tip_ref).strip("_") or "range"
    return Series(name=name, patches=series.patches, key=series.key), base


def branch_name(series: Series) -> str:
    return f"pt-harness-series-{series.key}"


def rev_parse(tree: Path, ref: str) -> str | None:
    try:
        return run_capture(["git", "-C", str(tree), "rev-parse", "--verify", "-q",
                            f"{ref}^{{commit}}"], what="git rev-parse").strip()
    except StageFailed:
        return None


def failed_patch_detail(output: str) -> str:
    """The lines of `git am` output that name the rejected file and hunk."""
    keep = [ln for ln in output.splitlines()
            if ln.startswith(("error:", "Patch failed", "Applying:"))]
    return "\n".join("    " + ln for ln in keep[-6:])


def apply(tree: KernelTree, series: Series, log: Path) -> str:
    """Apply `series` on its own branch from the base; return the tip commit."""
    base = rev_parse(tree.path, BASE_BRANCH)
    if series.empty:
        if base is None:
            raise StageFailed(f"{tree.path}: no {BASE_BRANCH} branch")
        return base
    if not tree.scratch:
        raise BadInput("applying a series needs a harness-owned tree; "
                       "use the default Debian source or see README (--kernel-src)")
    branch = branch_name(series)
    # Applied before: reading a ref needs no lock, and another run may hold
    # the tree lock for a whole kernel build.
    tip = rev_parse(tree.path, branch)
    if tip is not None:
        return tip
    with locked(tree_lock(tree)):
        tip = rev_parse(tree.path, branch)
        if tip is not None:
            return tip
        git = ["git", *GIT_ID, "-C", str(tree.path)]

        def run_git(*args: str, check: bool = True) -> proc.Completed:
            return proc.run([*git, *args], what=f"git {args[0]}", timeout=GIT_TIMEOUT,
                            check=check)

        run_git("am", "--abort", check=False)
        run_git("checkout", "-q", "-f", BASE_BRANCH)
        run_git("checkout", "-q", "-B", f"{branch}-wip")
        with open(log, "a") as out:
            for n, patch in enumerate(series.patches, 1):
                r = run_git("am", "-q", "--keep-cr", str(patch), check=False)
                out.write(f"$ git am {patch}\n{r.stdout}{r.stderr}")
                if r.returncode != 0:
                    run_git("am", "--abort", check=False)
                    run_git("checkout", "-q", "-f", BASE_BRANCH, check=False)
                    # The code under test failed (exit 1), unlike a git that
                    # could not run at all.
                    raise CodeFailed(
                        f"series {series.name}: patch {n}/{len(series.patches)} "
                        f"{patch.name} does not apply to {tree.version}\n"
                        f"{failed_patch_detail(r.stdout + r.stderr)}", str(log))
        run_git("branch", "-q", "-M", f"{branch}-wip", branch)
        tip = rev_parse(tree.path, branch)
        assert tip is not None
        return tip
