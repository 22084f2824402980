"""What a run will do, before it does it.

Fan-out on the CI people already run: `plan` prints the job matrix
(arch x kernel x config, and the nightly's per-patch walk per arch) for a
GitHub Actions `strategy.matrix` or a GitLab `parallel:matrix`; `run --job
ID` runs one cell; `merge` joins the cells' run directories into one run
with one JUnit file and one report.

`--dry-run` of run, check and nightly: the kernels, builds, boots and
workloads of every suite and the make and QEMU command lines, formed by
the same functions a run uses (kbuild.build_commands, vm.qemu_argv),
with nothing built, booted, fetched or written.
"""

import json
import os
import platform
import shlex
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import REPO_ROOT
from ..arches import DEFAULT_ARCHES, Arch
from ..cache import cache_root
from ..errors import BadInput
from ..guest.boot import ICOUNT_CPUS
from ..guest.vm import VMSpec, qemu_argv
from ..guest.vm import _boot_id as boot_id
from ..kernel.kbuild import build_commands
from ..kernel.selftests import SELFTEST
from ..kernel.series import EMPTY, Series
from ..kernel.source import (
    DEFAULT_PACKAGE,
    DEFAULT_SUITE,
    KernelTree,
    check_kernel_tree,
    kernel_version,
)
from ..results import ERROR, FAILED, SKIPPED, RunDir, Suite, load_suite
from ..suite.modes import load_expectations
from ..suite.overhead import ICOUNT_CLOCK
from ..suite.peer import check_names
from ..suite.runner import SuitePlan
from .run import (
    CONFIGS,
    DEFAULT_SERIES,
    SERIES_FRAGMENT,
    RunOptions,
    fragments_for,
    kernel_kind,
    kernels_to_run,
    suite_label,
    suite_plan,
    validate,
)

CONFIG_SETS = {"default": (), "debug": (CONFIGS / "debug.config",)}
# The kernel of a per-patch cell: the series walked patch by patch (with
# the default config only, as the nightly's walk).
PATCHES = "patches"
KERNELS = ("base", "patched", PATCHES)


@dataclass(frozen=True)
class Job:
    arch: str
    kernel: str      # "base", "patched" or PATCHES
    config: str      # a CONFIG_SETS key

    @property
    def id(self) -> str:
        return f"{self.arch}-{self.kernel}-{self.config}"


def jobs(arches: tuple[str, ...] = DEFAULT_ARCHES, with_debug: bool = True) -> list[Job]:
    series = (DEFAULT_SERIES / "series").exists()
    kernels = ["base"] + (["patched"] if series else [])
    configs = ["default"] + (["debug"] if with_debug and
                             (CONFIGS / "debug.config").exists() else [])
    return [Job(a, k, c) for a in arches for k in kernels for c in configs] + \
        [Job(a, PATCHES, "default") for a in arches if series]


def parse_job(job_id: str) -> Job:
    parts = job_id.split("-")
    if len(parts) != 3 or parts[1] not in KERNELS or parts[2] not in CONFIG_SETS:
        raise BadInput(f"--job {job_id!r}: expected ARCH-{{{','.join(KERNELS)}}}-"
                       f"{{{','.join(CONFIG_SETS)}}}, as `pt-harness plan` prints")
    if parts[1] == PATCHES and parts[2] != "default":
        raise BadInput(f"--job {job_id!r}: the per-patch walk builds the default config "
                       f"only; ARCH-{PATCHES}-default")
    return Job(*parts)


def plan_json(js: list[Job], fmt: str) -> str:
    if fmt == "github":
        doc: Any = {"include": [{"job": j.id, "arch": j.arch, "kernel": j.kernel,
                                 "config": j.config} for j in js]}
    elif fmt == "gitlab":
        doc = [{"PT_HARNESS_JOB": [j.id for j in js]}]
    else:
        raise BadInput(f"--format {fmt!r}: github or gitlab")
    return json.dumps(doc, indent=2)


def merge(runs: list[Path], parent: Path | None) -> Path:
    """A new run directory holding every suite of `runs`. A (kernel, arch)
    suite present in two runs is an error (two cells ran the same thing);
    the per-patch suites of cells that walked different arches are joined
    into one, as the nightly would have written it."""
    if not runs:
        raise BadInput("merge: no run directories given")
    metas = []
    for r in runs:
        if not (r / "run.json").is_file():
            raise BadInput(f"merge: {r} is not a run directory (no run.json)")
        metas.append(json.loads((r / "run.json").read_text()))
    out = RunDir(parent)
    seen: dict[str, Path] = {}
    for r in runs:
        for suite_dir in sorted(p.parent for p in r.glob("*/result.json")):
            if suite_dir.name in seen:
                if load_suite(suite_dir / "result.json").per_patch:
                    join_suite(out, out.path / suite_dir.name, suite_dir)
                    continue
                raise BadInput(f"merge: suite {suite_dir.name} is in both {seen[suite_dir.name]} "
                               f"and {r}")
            seen[suite_dir.name] = r
            shutil.copytree(suite_dir, out.path / suite_dir.name)
        for log in r.glob("apply-*.log"):
            shutil.copyfile(log, out.path / log.name)
    meta: dict[str, Any] = {
        "run_id": out.run_id, "merged_from": [m.get("run_id") for m in metas],
        "started": min(str(m.get("started", "")) for m in metas),
        "host": ",".join(sorted({str(m.get("host", "")) for m in metas})),
        "arches": sorted({a for m in metas for a in m.get("arches", [])}),
        "workloads": sorted({w for m in metas for w in m.get("workloads", [])}),
        "kernels": sorted({k for m in metas for k in m.get("kernels", [])}),
        "qemu": {k: v for m in metas for k, v in m.get("qemu", {}).items()},
        "kernel_version": metas[0].get("kernel_version", ""),
        # Each cell built some of the kernels: together, every checkout.
        "sources": {k: v for m in metas for k, v in m.get("sources", {}).items()},
        "seconds": round(sum(float(m.get("seconds", 0)) for m in metas), 1),
    }
    out.save_meta(meta)
    return out.path


# A check in two cells is kept once, the worse of the two: a failure is
# never hidden by the cell where it passed.
_BADNESS = {SKIPPED: 1, FAILED: 2, ERROR: 3}


def join_suite(out: RunDir, into: Path, other: Path) -> None:
    """Add the checks and logs of suite directory `other` to `into`."""
    joined, extra = load_suite(into / "result.json"), load_suite(other / "result.json")
    by_name = {c.name: i for i, c in enumerate(joined.checks)}
    for c in extra.checks:
        if c.name not in by_name:
            by_name[c.name] = len(joined.checks)
            joined.checks.append(c)
        elif _BADNESS.get(c.status, 0) > _BADNESS.get(joined.checks[by_name[c.name]].status, 0):
            joined.checks[by_name[c.name]] = c
    for f in other.iterdir():
        if f.is_file() and f.name != "result.json" and not (into / f.name).exists():
            shutil.copyfile(f, into / f.name)
    out.save_suite(joined)


# --dry-run ------------------------------------------------------------------

# What a run knows only once it runs (a commit made by `git am`, a build
# key digesting the tree, the run id, a free port), shown as these words.
COMMIT, BUILD_KEY, RUN_ID, PORT = "COMMIT", "BUILDKEY", "RUN_ID", "PORT"


def _planned_tree(opts: RunOptions, kernels: list[Series]) -> tuple[KernelTree, str]:
    """The tree a run would build from and where it comes from, without
    fetching, copying or running git."""
    if opts.kernel_src is not None:
        path = opts.kernel_src.expanduser().resolve()
        check_kernel_tree(path)
        version = kernel_version(path)
        if opts.commit_range is None and all(k.empty for k in kernels):
            return (KernelTree(path, version, "local", scratch=False),
                    f"{path}, Linux {version}, built as it is (uncommitted changes included)")
        copy = cache_root() / "src" / f"copy-{BUILD_KEY}" / "linux"
        return (KernelTree(copy, version, "copy", scratch=True),
                f"{copy}: a copy of {path} (Linux {version}) to apply the series on")
    unpacked = sorted((cache_root() / "src").glob(f"{DEFAULT_PACKAGE}_*/linux"))
    path = unpacked[-1] if unpacked else (cache_root() / "src" / f"{DEFAULT_PACKAGE}_VERSION"
                                          / "linux")
    how = "unpacked in the cache" if unpacked else "fetched with apt-get download at run time"
    return (KernelTree(path, DEFAULT_PACKAGE, "debian", scratch=True),
            f"{path}: Debian {DEFAULT_PACKAGE} from {DEFAULT_SUITE}, {how}")


def _planned_kernels(opts: RunOptions) -> list[Series]:
    if opts.commit_range is None:
        return kernels_to_run(opts)
    if opts.kernel_src is None:
        raise BadInput("--range BASE..TIP needs --kernel-src (the git tree holding it)")
    if opts.series is not None:
        raise BadInput("--range and --series both name the series; give one")
    tip = Series(opts.commit_range.split("..")[-1] or "range", (), "range")
    return [EMPTY, tip] if opts.base else [tip]


def _describe(series: Series, opts: RunOptions) -> str:
    if opts.commit_range is not None and series is not EMPTY:
        return f"the commits {opts.commit_range} of {opts.kernel_src}, on BASE"
    if series.empty:
        return "the tree as it is (no series)"
    where = series.patches[0].parent
    return f"{len(series.patches)} patches of {where}, applied with git am"


def _planned_accel(arch: Arch) -> tuple[str, str]:
    """The accelerator vm.choose_accel would pick, from its answer cached
    for this host boot when there is one (the probe itself boots a guest)."""
    if platform.machine() != arch.kvm_host_machine or not os.access("/dev/kvm", os.W_OK):
        return "tcg", ""
    memo = cache_root() / "accel" / f"{arch.name}-{boot_id()}"
    if memo.exists():
        return memo.read_text().strip(), " (the KVM probe's answer on this host boot)"
    return "kvm", " if the KVM probe boots a guest under it, else tcg"


def _qemu_line(spec: VMSpec, accel: str) -> str:
    line = shlex.join(qemu_argv(spec, accel, 0))
    return line.replace("127.0.0.1:0-", f"127.0.0.1:{PORT}-")


def _suite_lines(plan: SuitePlan, suite: Suite, series: Series, run_dir: Path) -> list[str]:
    arch = plan.arch
    out = cache_root() / "build" / f"{arch.name}-{BUILD_KEY}"
    suite_dir = run_dir / suite.dirname
    commit = COMMIT if plan.tree.scratch else "worktree"
    lines = [f"suite {suite.name}",
             f"  build   {', '.join(f.name for f in plan.fragments)} in {out}"]
    lines += [f"    $ {c.shell()}"
              for c in build_commands(plan.tree, commit, arch, list(plan.fragments), out)]
    disk = any("disk" in w.needs for w in plan.workloads)
    swap = plan.peer is not None and plan.peer.environment.swap_mb > 0
    drives = tuple(d for d, wanted in ((suite_dir / "disk.img", disk),
                                       (suite_dir / "swap.img", swap)) if wanted)
    accel, accel_note = _planned_accel(arch)
    spec = VMSpec(arch, out / arch.kernel_image, suite_dir / "initrd.cpio",
                  suite_dir / "console.log", drives=drives)
    lines.append(f"  boot    {accel}{accel_note}, {spec.cpus} CPUs, {spec.memory_mb} MiB"
                 + (f", disks: {', '.join(d.name for d in drives)}" if drives else ""))
    lines.append(f"    $ {_qemu_line(spec, accel)}")
    cases = modes = 0
    for mode in plan.modes:
        names = [w.name for w in plan.workloads_in(mode)]
        if names:
            cases += len(names) * plan.repeat
            modes += 1
            rounds = f" x {plan.repeat} rounds" if plan.repeat > 1 else ""
            lines.append(f"  mode {mode.name:<22} {' '.join(names)}{rounds}")
    lines.append(f"          {_plural(cases, 'workload run')} in "
                 f"{_plural(modes, 'mode')}")
    for o in plan.overhead:
        lines.append(f"  {o.check:<27} {o.workload}, {o.rounds} rounds of "
                     f"{'/'.join(m.name for m in o.modes)}, {o.clock} clock")
    for n in plan.neighbours:
        lines.append(f"  neighbour:{n.workload.name:<17} {n.rounds} rounds of never/always")
    if plan.overheads(ICOUNT_CLOCK):
        icount = VMSpec(arch, spec.kernel, suite_dir / "initrd-icount.cpio",
                        suite_dir / "console-icount.log", icount=True, cpus=ICOUNT_CPUS)
        lines.append(f"  boot    tcg, icount, {icount.cpus} CPU, for "
                     + ", ".join(o.check for o in plan.overheads(ICOUNT_CLOCK)))
        lines.append(f"    $ {_qemu_line(icount, 'tcg')}")
    if any(SELFTEST in p.read_text(errors="replace") for p in series.patches) or (
            not plan.tree.scratch and (plan.tree.path / SELFTEST).is_file()):
        lines.append("  kselftest:pt_reclaim, its KTAP cases as checks")
    if plan.peer is not None:
        programs = len(check_names(plan.peer, arch.name)) - 1
        lines.append(f"  peer:mm ({plan.peer.size}) {programs} programs of "
                     "tools/testing/selftests/mm in modes never and always")
    lines.append("  console: splats in the console logs")
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def dry_run(opts: RunOptions, command: str = "run", with_debug: bool = False) -> str:
    """The plan of `run`/`check`; of the nightly (command "nightly": the
    per-patch walk, the matrix and, with_debug, its debug matrix); of the
    walk alone (command PATCHES, `run --job ARCH-patches-default`)."""
    walk = command in ("nightly", PATCHES)
    if walk and opts.commit_range is None:      # as nightly._series_inputs
        opts = replace(opts, series=opts.series or DEFAULT_SERIES)
    if walk:
        opts = replace(opts, base=command == "nightly", apply_default=True)
    validate(opts)
    kernels = _planned_kernels(opts)
    tree, where = _planned_tree(opts, kernels)
    run_dir = (opts.results or REPO_ROOT / "results") / RUN_ID
    expectations = tuple(load_expectations())
    arches = " ".join(a.name for a in opts.arches)
    lines = [f"pt-harness {command} --dry-run: nothing is built, booted or written",
             f"tree     {where}",
             f"results  {run_dir}",
             f"kernels  {', '.join(k.name for k in kernels)} on {arches}"
             f" ({_plural(len(kernels) * len(opts.arches), 'suite')}, up to"
             f" {opts.parallel} at a time)"]
    lines += [f"  {k.name}: {_describe(k, opts)}" for k in kernels]
    lines.append(f"words    {COMMIT}, {BUILD_KEY}, {RUN_ID}, {PORT}: known once the run "
                 "makes them (git am, the build key, the run id, a free port)")
    if walk:
        lines += ["", *_walk_lines(opts, tree, kernels[-1])]
    matrices = [(opts, kernels)] if command != PATCHES else []
    debug = CONFIGS / "debug.config"
    if with_debug and debug.exists():
        matrices.append((replace(opts, extra_fragments=(debug,)), kernels[-1:]))
    for matrix_opts, matrix_kernels in matrices:
        for series in matrix_kernels:
            for arch in matrix_opts.arches:
                suite = Suite(suite_label(series, matrix_opts), arch.name)
                commit = COMMIT if tree.scratch else "worktree"
                # As run_matrix decides it: from the input (job.kernel_kind).
                plan = suite_plan(matrix_opts, tree, commit, arch,
                                  kernel_kind(series, commit, matrix_opts.own_tree_patched),
                                  expectations)
                lines += ["", *_suite_lines(plan, suite, series, run_dir)]
    return "\n".join(lines)


def _walk_lines(opts: RunOptions, tree: KernelTree, series: Series) -> list[str]:
    """The nightly's per-patch suite, as nightly.per_patch runs it."""
    labels = series.labels() if series.patches else [f"{opts.commit_range} (each commit)"]
    lines = [f"suite {series.name}-patches/all",
             "  apply, then per patch: checkpatch.pl --strict, an incremental build per arch,"
             " W=1 on the C files it touches"]
    for arch in opts.arches:
        walk = cache_root() / "bisect" / f"{arch.name}-{series.key}"
        frags = fragments_for(arch, (), patched=True)
        lines.append(f"  {arch.name}: builds in {walk} ({', '.join(f.name for f in frags)};"
                     f" {SERIES_FRAGMENT.name} not required to stick)")
        lines += [f"    build:{label}/{arch.name}" for label in labels]
        lines += [f"    $ {c.shell()}" for c in build_commands(tree, COMMIT, arch,
                                                              list(frags), walk)]
    return lines
