"""`pt-harness run`: the whole pipeline for every (kernel, arch).

source -> series -> (per arch) kconfig/kbuild -> image -> vm -> guest ->
results; JUnit is rewritten after every suite so an interrupted run still
leaves a valid report of what it did. Each suite saves its own result.json
as it goes; JUnit, the reports and the exit status are all made from those
files, so what a run says is what its directory holds.
"""

import datetime as dt
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from .. import REPO_ROOT, proc
from ..arches import Arch
from ..cache import file_digest
from ..errors import BadInput, HarnessError
from ..kernel.series import EMPTY, Series, apply, load_range, load_series, rev_parse
from ..kernel.source import BASE_BRANCH, KernelTree, debian_source, local_source, scratch_copy
from ..progress import say
from ..report.junit import write_junit
from ..report.render import render_all, screenshot
from ..results import RunDir, Suite, error_check, load_suites, run_exit_status
from ..suite.catalog import Workload, idle_workloads
from ..suite.fanout import run_all, save_lock
from ..suite.modes import BASE, PATCHED, Expectation, load_expectations, load_modes, modes_for
from ..suite.neighbours import benchmark_names, load_neighbours
from ..suite.overhead import load_overhead
from ..suite.peer_plan import load_peer
from ..suite.runner import SuitePlan, run_suite

CONFIGS = REPO_ROOT / "kernel-patches" / "configs"
DEFAULT_SERIES = REPO_ROOT / "kernel-patches" / "pt-reclaim"


@dataclass(frozen=True)
class RunOptions:
    arches: tuple[Arch, ...]
    workloads: tuple[Workload, ...]
    kernel_src: Path | None = None
    series: Path | None = None       # None: the default series if it exists
    commit_range: str | None = None  # --range BASE..TIP in kernel_src, instead of series
    base: bool = True                # also run the unpatched base kernel
    apply_default: bool = True       # no --series: use kernel-patches/pt-reclaim
    results: Path | None = None
    extra_fragments: tuple[Path, ...] = ()
    modes: tuple[str, ...] = ()          # narrow the modes run; empty: all
    knobs: tuple[tuple[str, str], ...] = ()
    repeat: int = 1                      # rounds of the workloads per mode (soak)
    overhead: bool = True                # scanner-cost benchmark on patched kernels
    parallel: int = 1                    # suites (arches) of one kernel run at once
    screenshot: bool = True              # report.png by headless Chromium (seconds)
    debuginfo: bool = False              # DWARF line tables for decoded splats (check)
    peer: str = "subset"                 # the mm selftests: none, subset or full (peer.toml)
    # The tree as given, with no series applied, carries the series (check:
    # a developer's own tree is the series under development; check --base
    # says it is not).
    own_tree_patched: bool = False


SERIES_FRAGMENT = CONFIGS / "pt-reclaim.config"


def fragments_for(arch: Arch, extra: tuple[Path, ...], debuginfo: bool = False,
                  patched: bool = False) -> tuple[Path, ...]:
    """The kconfig fragments of a build. `debuginfo` (the developer's
    check) adds line tables, so a splat decodes to a line of their source;
    the default job does without, its builds being the ones paid cold.
    `patched` adds the options the series itself adds (the base kernel
    does not know them)."""
    return (CONFIGS / "base.config", CONFIGS / arch.config_fragment,
            *((SERIES_FRAGMENT,) if patched else ()),
            *((CONFIGS / "debuginfo.config",) if debuginfo else ()), *extra)


@dataclass(frozen=True)
class Inputs:
    """What a run builds: the kernels (base and/or series) and, for
    `--range`, the commit of the user's tree they sit on."""
    kernels: list[Series]
    local: KernelTree | None
    base_commit: str | None = None

    def tree(self) -> KernelTree:
        """The tree to build from, fetched or copied as needed (slow: called
        once the run directory exists, so a failure here is recorded)."""
        tree = self.local or debian_source()
        if self.base_commit is not None:
            return scratch_copy(tree, self.base_commit)
        if any(not k.empty for k in self.kernels):
            tree = scratch_copy(tree)     # a series is applied on a copy, never theirs
        return tree


def resolve_inputs(opts: RunOptions) -> Inputs:
    local = local_source(opts.kernel_src) if opts.kernel_src else None
    if opts.commit_range is None:
        return Inputs(kernels_to_run(opts), local)
    if local is None:
        raise BadInput("--range BASE..TIP needs --kernel-src (the git tree holding it)")
    if opts.series is not None:
        raise BadInput("--range and --series both name the series; give one")
    series, base = load_range(local.path, opts.commit_range)
    return Inputs([EMPTY, series] if opts.base else [series], local, base)


def kernels_to_run(opts: RunOptions) -> list[Series]:
    out: list[Series] = [EMPTY] if opts.base else []
    path = opts.series
    if path is None and opts.apply_default and (DEFAULT_SERIES / "series").exists():
        path = DEFAULT_SERIES
    if path is not None:
        out.append(load_series(path))
    if not out:
        out.append(EMPTY)
    return out


def qemu_versions(arches: tuple[Arch, ...]) -> dict[str, str]:
    out = {}
    for a in arches:
        try:
            first = proc.run([a.qemu_binary, "--version"], what=f"{a.qemu_binary} --version",
                             timeout=20, check=False).stdout.splitlines()
            out[a.name] = first[0] if first else "unknown"
        except (OSError, HarnessError):
            out[a.name] = "not installed"
    return out


@dataclass
class RunState:
    """A run in progress: its directory and metadata. Its suites are the
    result.json files each suite saves in the directory, not kept here."""
    rundir: RunDir
    meta: dict[str, Any]
    started: float = field(default_factory=time.monotonic)

    def save(self) -> None:
        """run.json, and junit.xml from every suite saved so far."""
        with save_lock:           # suites may finish in parallel (fanout)
            write_junit(load_suites(self.rundir.path), self.rundir.path / "junit.xml")
            self.meta["seconds"] = round(time.monotonic() - self.started, 1)
            self.rundir.save_meta(self.meta)


def validate(opts: RunOptions) -> None:
    """What can be validated without downloads (also by --dry-run)."""
    modes_for(BASE, list(opts.modes))          # unknown --mode: an error now
    idle = idle_workloads(list(opts.workloads), [m for m in load_modes().values()
                                                 if m.name in opts.modes]) if opts.modes else []
    if idle:
        raise BadInput(f"nothing to run for workload {'; '.join(idle)} in mode "
                       f"{', '.join(opts.modes)}")


def begin(opts: RunOptions, kernels: list[Series]) -> RunState:
    """Validate what can be validated without downloads, then make the run
    directory; bad input never leaves an empty run behind."""
    validate(opts)
    rundir = RunDir(opts.results)
    say(f"run {rundir.run_id}: results in {rundir.path}")
    meta: dict[str, Any] = {
        "run_id": rundir.run_id, "argv": sys.argv,
        "started": dt.datetime.now(dt.UTC).isoformat(), "host": platform.node(),
        "arches": [a.name for a in opts.arches], "workloads": [w.name for w in opts.workloads],
        "qemu": qemu_versions(opts.arches), "kernels": [k.name for k in kernels]}
    rundir.save_meta(meta)
    return RunState(rundir, meta)


def run_matrix(state: RunState, opts: RunOptions, tree: KernelTree,
               kernels: list[Series]) -> None:
    """Every (kernel, arch) suite; JUnit and run.json rewritten after each.
    The arches of one kernel run `opts.parallel` at a time; kernels one after
    the other (a harness tree holds one commit at a time)."""
    expectations = tuple(load_expectations())
    state.meta["kernel_version"] = tree.version
    for series in kernels:
        commit, apply_error = _apply(tree, series, state.rundir)
        state.meta.setdefault("sources", {})[series.name] = source_record(tree, series)
        tasks: list[Callable[[], None]] = []
        for arch in opts.arches:
            suite = Suite(suite_label(series, opts), arch.name, tree.version,
                          properties={"series_patches": str(len(series.patches))})
            if apply_error:
                suite.add(error_check("apply", apply_error))
            kind = kernel_kind(series, commit, opts.own_tree_patched)
            plan = suite_plan(opts, tree, commit, arch, kind, expectations)
            tasks.append(partial(_run_and_save, plan, suite, state))
        run_all(tasks, opts.parallel)


def suite_label(series: Series, opts: RunOptions) -> str:
    return series.name + "".join(f"+{f.stem}" for f in opts.extra_fragments)


def suite_plan(opts: RunOptions, tree: KernelTree, commit: str | None, arch: Arch, kind: str,
               expectations: tuple[Expectation, ...] = ()) -> SuitePlan:
    """What one (kernel, arch) suite builds and runs; `kind` is BASE or
    PATCHED (the patched kernel's modes and benchmarks)."""
    # The neighbour benchmarks run as checks of their own (neighbours.py),
    # not per mode; a base kernel has no scanner for them to measure.
    neighbours = benchmark_names()
    per_mode = tuple(w for w in opts.workloads if w.name not in neighbours)
    modes = modes_for(kind, list(opts.modes)) or modes_for(kind)
    return SuitePlan(tree, commit, arch,
                     fragments_for(arch, opts.extra_fragments, opts.debuginfo,
                                   patched=kind == PATCHED),
                     per_mode, tuple(modes), expectations, dict(opts.knobs), opts.repeat,
                     load_overhead() if kind == PATCHED and opts.overhead else (),
                     load_neighbours(opts.workloads) if kind == PATCHED else (),
                     peer=load_peer(opts.peer) if kind == PATCHED else None)


def kernel_kind(series: Series, commit: str | None, own_tree_patched: bool = False) -> str:
    """PATCHED or BASE, from the input alone: a series given and applied (or
    a tree declared to carry it) makes the patched kernel, whose modes then
    apply; nothing applied, or a series that did not apply, the base one."""
    if commit is None:
        return BASE
    return PATCHED if not series.empty or own_tree_patched else BASE


def _run_and_save(plan: SuitePlan, suite: Suite, state: RunState) -> None:
    run_suite(plan, suite, state.rundir)
    state.save()


def finish(state: RunState, with_screenshot: bool = True) -> int:
    """The reports, the summary on the terminal (summary.txt, the one
    summary of a run) and the exit status, all from the suites saved in the
    run directory."""
    state.save()
    _reports(state.rundir, with_screenshot)
    suites = load_suites(state.rundir.path)
    text = state.rundir.path / "summary.txt"
    if text.exists():
        print(text.read_text(encoding="utf-8"), end="")
    print(f"junit: {state.rundir.path / 'junit.xml'}")
    return run_exit_status(suites)


def run(opts: RunOptions) -> int:
    inputs = resolve_inputs(opts)
    state = begin(opts, inputs.kernels)
    try:
        run_matrix(state, opts, inputs.tree(), inputs.kernels)
    finally:
        state.save()
    return finish(state, opts.screenshot)


def _reports(rundir: RunDir, with_screenshot: bool) -> None:
    """HTML, text and a screenshot of the HTML; a report failure must not
    turn a finished run into a harness error, so it is only said."""
    try:
        paths = render_all(rundir.path)
        shot = screenshot(rundir.path) if with_screenshot else None
        say("reports: " + ", ".join(p.name for p in [*paths, *([shot] if shot else [])]))
    except Exception as e:   # noqa: BLE001 - reported, the raw results are kept
        say(f"reports: could not render ({type(e).__name__}: {e}); "
            f"`pt-harness report {rundir.path}` retries")


def source_record(tree: KernelTree, series: Series) -> dict[str, Any]:
    """run.json's record of what a kernel was built from (KCIDB's checkout):
    the base commit of a harness tree (for a user's tree used as it is,
    none: its uncommitted changes are in the build) and every patch file
    with its sha256, in order of application."""
    base = rev_parse(tree.path, BASE_BRANCH) if tree.scratch else None
    return {"base_commit": base or "",
            "patches": [{"name": p.name, "sha256": file_digest(p)} for p in series.patches]}


def _apply(tree: KernelTree, series: Series,
           rundir: RunDir) -> tuple[str | None, HarnessError | None]:
    """The commit to build, or None and why the series did not apply (a
    patch that does not apply, CodeFailed, or a git that failed)."""
    if series.empty and not tree.scratch:
        return "worktree", None
    try:
        return apply(tree, series, rundir.path / f"apply-{series.name}.log"), None
    except HarnessError as e:
        say(str(e).splitlines()[0])
        return None, e
