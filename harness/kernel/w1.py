"""W=1 on the files a patch touches (issue 3: "with W=1 adds no warning in
files it touches"): after the patch's build in the nightly's walk
directory, the objects of its .c files that the config builds are rebuilt
with W=1 and every compiler warning in them is reported.

Only those objects: W=1 over the whole tree would drown the patch's own
warnings in the base kernel's, which are not the series' business.
"""

import re
from pathlib import Path

from .. import proc
from ..arches import Arch
from ..errors import TEST, HarnessError
from ..results import ERROR, FAILED, PASSED, Check, error_check
from .kbuild import kbuild_command
from .source import KernelTree

W1_TIMEOUT = 1800.0
_WARNING = re.compile(r"^(\S+?):(\d+):(\d+:)? warning: (.*)$", re.M)


def touched_objects(tree: KernelTree, commit: str, out: Path) -> list[str]:
    """Objects of the .c files `commit` changes that the last build made."""
    changed = proc.run_capture(["git", "-C", str(tree.path), "diff-tree", "--no-commit-id",
                                "--name-only", "--diff-filter=AM", "-r", commit],
                               what=f"git diff-tree {commit[:12]}")
    objects = []
    for path in changed.split():
        if path.endswith(".c") and not path.startswith(("tools/", "Documentation/")):
            obj = path[:-2] + ".o"
            if (out / obj).exists():
                objects.append(obj)
    return objects


def warnings_in(output: str, files: list[str]) -> list[str]:
    """Pure: the compiler warnings of `output` located in one of `files`
    (paths as in the tree: headers a touched file includes do not count)."""
    out = []
    for m in _WARNING.finditer(output):
        where = m.group(1)
        if any(where == f or where.endswith("/" + f) for f in files):
            out.append(m.group(0).strip())
    return out


def w1_check(name: str, tree: KernelTree, commit: str, arch: Arch, out: Path,
             log: Path) -> Check:
    objects = touched_objects(tree, commit, out)
    if not objects:
        return Check(name, PASSED, message="no C file of this patch is built",
                     properties={"objects": "0"})
    env, make = kbuild_command(tree, out, arch)
    # In the child registry like every build: an interrupt kills it.
    props = {"objects": " ".join(objects)}
    try:
        r = proc.run([*make, "W=1", *objects], what=f"make W=1 for {arch.name}", env=env,
                     timeout=W1_TIMEOUT, check=False)
    except HarnessError as e:       # timed out, make missing: the host's
        return error_check(name, e)
    text = r.stdout + r.stderr
    with open(log, "a") as f:
        f.write(f"$ make W=1 {' '.join(objects)}\n{text}\n")
    if r.returncode != 0:
        return Check(name, ERROR, message=f"make W=1 failed (exit {r.returncode})",
                     detail=text[-4000:], properties=props,
                     cause=proc.failure_cause(text, TEST))
    found = warnings_in(text, [o[:-2] + ".c" for o in objects])
    if found:
        return Check(name, FAILED, message=f"{len(found)} W=1 warning(s), first: {found[0]}",
                     detail="\n".join(found[:40]), properties=props)
    return Check(name, PASSED, properties=props)
