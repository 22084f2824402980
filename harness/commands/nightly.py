"""`pt-harness nightly`: is the series still good, and what changed since
the last good night?

1. the series applies to tonight's base (else say so plainly: the base
   moved, and which patch no longer applies);
2. every patch: checkpatch.pl --strict, and an incremental build on each
   arch (bisectability: which patch broke which arch) with W=1 on the C
   files it touches: one suite, `<series>-patches/all`, saved in the run
   directory check by check like any other, so every report shows it;
3. the full matrix at the tip (base and patched kernels, modes, workloads),
   again with the debug config as a second config;
4. history: recorded in results/history.sqlite and compared with the last
   good run of the same series on the same base.

Exit status: 0 clean, 1 failures or regressions, 2 harness error.
"""

import os
import re
import time
from dataclasses import replace
from pathlib import Path

from .. import proc
from ..arches import Arch
from ..cache import cache_root, locked
from ..errors import EXIT_CHECKS_FAILED, TEST, HarnessError
from ..kernel.kbuild import build, check_out
from ..kernel.series import Series, apply
from ..kernel.source import BASE_BRANCH, KernelTree, tree_lock
from ..kernel.w1 import w1_check
from ..progress import say
from ..report.compare import compare
from ..report.history import last_good, open_db, record
from ..results import ALL_ARCHES, ERROR, FAILED, PASSED, Check, Suite, error_check
from .run import (
    CONFIGS,
    DEFAULT_SERIES,
    SERIES_FRAGMENT,
    Inputs,
    RunOptions,
    RunState,
    begin,
    finish,
    fragments_for,
    resolve_inputs,
    run_matrix,
)

_TOTAL = re.compile(r"total: (\d+) errors, (\d+) warnings(?:, (\d+) checks)?")


_FINDING = re.compile(r"^(ERROR|WARNING|CHECK):([A-Z0-9_]+):", re.M)
# Lines of a failed build's log kept in its check: the compiler's error and
# make's unwinding after it.
BUILD_EXCERPT_LINES = 40


def justified_types(patch_text: str) -> set[str]:
    """checkpatch types the commit message names (it explains them there):
    issue 3's "no warnings you cannot justify in the commit message"."""
    message = patch_text.split("\n---\n", 1)[0]
    return set(re.findall(r"\b[A-Z][A-Z0-9_]{3,}\b", message))


def checkpatch_verdict(name: str, output: str, patch_text: str) -> Check:
    """Pure: --strict clean, or every WARNING/CHECK justified by type in the
    commit message; an ERROR never is."""
    m = _TOTAL.search(output)
    if not m:
        return Check(name, ERROR, message="checkpatch.pl printed no total",
                     detail=output[-4000:])
    errors, warnings, checks = (int(g or 0) for g in m.groups())
    props = {"errors": str(errors), "warnings": str(warnings), "checks": str(checks)}
    findings = _FINDING.findall(output)
    justified = justified_types(patch_text)
    open_ = [f"{level}:{kind}" for level, kind in findings
             if level == "ERROR" or kind not in justified]
    accepted = sorted({kind for level, kind in findings if level != "ERROR" and kind in justified})
    if accepted:
        props["justified"] = " ".join(accepted)
    # Clean, or every finding justified (and every counted one parsed).
    if not open_ and len(findings) == errors + warnings + checks:
        return Check(name, PASSED, properties=props)
    return Check(name, FAILED, message=f"{errors} errors, {warnings} warnings, {checks} checks"
                 + (f" ({', '.join(sorted(set(open_)))})" if open_ else ""),
                 detail=output[-4000:], properties=props)


def checkpatch(tree: KernelTree, patch: Path, name: str, log: Path) -> Check:
    """checkpatch.pl --strict on one patch; its output is appended to `log`."""
    script = tree.path / "scripts" / "checkpatch.pl"
    # checkpatch runs scripts/spdxcheck.py with the first python3 on PATH; it
    # needs Debian's python3-ply and python3-git, which a pyenv or venv
    # python3 earlier on PATH would not have.
    env = dict(os.environ, PATH="/usr/bin:" + os.environ.get("PATH", ""))
    r = proc.run(["perl", str(script), "--strict", "--show-types", str(patch)],
                 what=f"checkpatch.pl {patch.name}", cwd=tree.path, timeout=300, env=env,
                 check=False)
    with open(log, "a") as f:
        f.write(f"### {name}: {patch}\n{r.stdout}{r.stderr}\n")
    return checkpatch_verdict(name, r.stdout + r.stderr, patch.read_text(errors="replace"))


def series_commits(tree: KernelTree, tip: str) -> list[str]:
    return proc.run_capture(["git", "-C", str(tree.path), "rev-list", "--reverse",
                             f"{BASE_BRANCH}..{tip}"], what="git rev-list").split()


def per_patch_suite(series: Series, tree: KernelTree) -> Suite:
    return Suite(f"{series.name}-patches", ALL_ARCHES, tree.version,
                 properties={"series": series.name,
                             "series_patches": str(len(series.patches))})


def per_patch(state: RunState, opts: RunOptions, tree: KernelTree, series: Series) -> bool:
    """The per-patch suite, saved in the run directory after every check
    (the reports are made from it); False when the series does not apply."""
    suite = per_patch_suite(series, tree)
    suite_dir = state.rundir.suite_dir(suite)

    def record(check: Check) -> None:
        suite.add(check)
        state.rundir.save_suite(suite)
        state.save()

    try:
        tip = apply(tree, series, state.rundir.path / f"apply-{series.name}.log")
    except Exception as e:   # noqa: BLE001 - reported as the check's error
        check = error_check("apply", e)
        check.message = f"the series no longer applies to {tree.version}: {check.message}"
        record(check)
        return False
    record(Check("apply", PASSED))
    labels = series.labels()
    for label, patch in zip(labels, series.patches, strict=True):
        record(checkpatch(tree, patch, f"checkpatch:{label}", suite_dir / "checkpatch.log"))
    commits = series_commits(tree, tip)
    for arch in opts.arches:
        walk_dir = cache_root() / "bisect" / f"{arch.name}-{series.key}"
        for n, (commit, label) in enumerate(zip(commits, labels, strict=False), 1):
            say(f"nightly: build:{label} on {arch.name}")
            built = _build(tree, commit, arch, n, f"{series.name}#{n}", walk_dir,
                           f"build:{label}/{arch.name}", suite_dir / f"build-{arch.name}.log")
            record(built)
            if built.status == PASSED:     # no W=1 on what did not build
                record(_w1(tree, commit, arch, walk_dir, f"w1:{label}/{arch.name}",
                           suite_dir / f"w1-{arch.name}.log"))
    return True


def _build(tree: KernelTree, commit: str, arch: Arch, n: int, label: str, walk_dir: Path,
           name: str, run_log: Path) -> Check:
    """Patch n's incremental build in the arch's walk directory; its log is
    appended to `run_log` in the run directory (the walk directory's own log
    is overwritten by the next patch), and a failure quotes its end."""
    start = time.monotonic()
    props = {"commit": commit}
    try:
        # The series' own options are merged but not required: the patches
        # before the one that adds an option cannot have it.
        k = build(tree, commit, arch, list(fragments_for(arch, (), patched=True)), label,
                  out=walk_dir, optional=(SERIES_FRAGMENT,))
    except HarnessError as e:     # which patch broke which arch
        log_text = _keep_log(getattr(e, "log", None), run_log, name, commit)
        excerpt = "\n".join(log_text.splitlines()[-BUILD_EXCERPT_LINES:]) or str(e)
        broke = e.cause == TEST      # not a missing compiler, a full disk
        return Check(name, FAILED if broke else ERROR, time.monotonic() - start,
                     f"patch {n} breaks the {arch.name} build" if broke
                     else f"cannot build patch {n} for {arch.name}: {str(e).splitlines()[0]}",
                     excerpt[-4000:], props, cause=e.cause)
    _keep_log(str(k.log), run_log, name, commit)
    return Check(name, PASSED, time.monotonic() - start,
                 properties={**props, "rebuilt": str(k.rebuilt)})


def _keep_log(build_log: str | None, run_log: Path, name: str, commit: str) -> str:
    """Append a patch's build log to the run directory's; return its text."""
    try:
        text = Path(build_log).read_text(errors="replace") if build_log else ""
    except OSError:
        text = ""
    with open(run_log, "a") as f:
        f.write(f"### {name} at {commit}\n{text}\n")
    return text


def _w1(tree: KernelTree, commit: str, arch: Arch, walk_dir: Path, name: str,
        log: Path) -> Check:
    """W=1 on the patch's files, with the patch's commit checked out (under
    the tree lock: another run may be switching the same tree). The walk
    only runs on a harness tree: the series was applied to it."""
    with open(log, "a") as f:
        f.write(f"### {name} at {commit}\n")
    with locked(tree_lock(tree)):
        check_out(tree, commit)
        return w1_check(name, tree, commit, arch, walk_dir, log)


def _series_inputs(opts: RunOptions, base: bool) -> tuple[RunOptions, Inputs]:
    """The series of a nightly (the default one unless told), and the
    kernels to run with it."""
    if opts.commit_range is None:
        opts = replace(opts, series=opts.series or DEFAULT_SERIES)
    return opts, resolve_inputs(replace(opts, base=base, apply_default=True))


def patches(opts: RunOptions) -> int:
    """The per-patch walk alone, on `opts.arches`: a CI cell of `pt-harness
    plan` (`run --job ARCH-patches-default`), which `merge` joins with the
    other arches' cells into one per-patch suite."""
    opts, inputs = _series_inputs(opts, base=False)
    series = inputs.kernels[-1]
    state = begin(opts, [series])
    try:
        per_patch(state, opts, inputs.tree(), series)
    finally:
        state.save()
    return finish(state, opts.screenshot)


def nightly(opts: RunOptions, with_debug: bool = True) -> int:
    opts, inputs = _series_inputs(opts, base=True)
    kernels = inputs.kernels
    series = kernels[-1]
    state = begin(opts, kernels)
    tree = inputs.tree()
    try:
        if per_patch(state, opts, tree, series):
            run_matrix(state, opts, tree, kernels)
            debug = CONFIGS / "debug.config"
            if with_debug and debug.exists():
                run_matrix(state, replace(opts, extra_fragments=(debug,)), tree, [series])
    finally:
        state.save()
    status = finish(state)
    return _history(state, series, tree, status)


def _history(state: RunState, series: Series, tree: KernelTree, status: int) -> int:
    db = open_db(state.rundir.path.parent / "history.sqlite")
    previous = last_good(db, state.rundir.path, tree.version)
    record(db, state.rundir.path, series.key)
    if previous is None:
        say("nightly: no earlier good run of this series on this base and suites "
            "to compare with")
        return status
    same = "the same patches" if previous.series_key == series.key else "other patches"
    say(f"nightly: comparing with {previous.path.name} ({same})")
    result = compare(previous.path, state.rundir.path)
    (state.rundir.path / "compare.txt").write_text(
        f"last good run: {previous.path} ({same})\n" + result.render() + "\n")
    print(result.render())
    if result.regressed:
        say(f"nightly: {len(result.regressions)} regression(s) since {previous.path.name}")
        return EXIT_CHECKS_FAILED
    return status
