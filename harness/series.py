"""Stage 2, series: load a patch series and apply it on a scratch branch.

A series is a directory with a quilt-style `series` file naming its
patches in order (`git format-patch` output); a cover letter is skipped.
Applying never touches the base branch: each series gets its own branch,
named by the digest of its patches, so reapplying the same series is free.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .cache import key_of, locked
from .errors import BadInput, StageFailed
from .proc import run_capture
from .source import BASE_BRANCH, GIT_ID, KernelTree


@dataclass(frozen=True)
class Series:
    name: str
    patches: tuple[Path, ...]
    key: str

    @property
    def empty(self) -> bool:
        return not self.patches


EMPTY = Series(name="base", patches=(), key="empty")


def is_cover_letter(patch: Path) -> bool:
    return patch.name.startswith("0000-") or "cover-letter" in patch.name


def load_series(directory: Path) -> Series:
    """Read DIR/series (or, lacking one, DIR/*.patch in name order)."""
    d = directory.expanduser().resolve()
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
    with locked(tree.path.parent / ".git-tree.lock"):
        tip = rev_parse(tree.path, branch)
        if tip is not None:
            return tip
        git = ["git", *GIT_ID, "-C", str(tree.path)]
        subprocess.run([*git, "am", "--abort"], capture_output=True)
        subprocess.run([*git, "checkout", "-q", "-f", BASE_BRANCH], check=True,
                       capture_output=True)
        subprocess.run([*git, "checkout", "-q", "-B", f"{branch}-wip"], check=True,
                       capture_output=True)
        with open(log, "a") as out:
            for n, patch in enumerate(series.patches, 1):
                r = subprocess.run([*git, "am", "-q", "--keep-cr", str(patch)],
                                   capture_output=True, text=True)
                out.write(f"$ git am {patch}\n{r.stdout}{r.stderr}")
                if r.returncode != 0:
                    subprocess.run([*git, "am", "--abort"], capture_output=True)
                    subprocess.run([*git, "checkout", "-q", "-f", BASE_BRANCH],
                                   capture_output=True)
                    raise StageFailed(
                        f"series {series.name}: patch {n}/{len(series.patches)} "
                        f"{patch.name} does not apply to {tree.version}\n"
                        f"{failed_patch_detail(r.stdout + r.stderr)}", str(log))
        subprocess.run([*git, "branch", "-q", "-M", f"{branch}-wip", branch], check=True,
                       capture_output=True)
        tip = rev_parse(tree.path, branch)
        assert tip is not None
        return tip
