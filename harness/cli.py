"""The `pt-harness` command line."""

import argparse
import signal
import sys
from pathlib import Path

from . import proc
from .arches import DEFAULT_ARCHES, get_arch
from .catalog import load_catalog, select
from .errors import EXIT_CHECKS_FAILED, EXIT_HARNESS_ERROR, EXIT_INTERRUPTED, BadInput, HarnessError
from .job import RunOptions, run
from .kcidb import KcidbSettings, write_kcidb
from .modes import knob_names
from .nightly import nightly, patches
from .peer_plan import SIZES as PEER_SIZES
from .plan import CONFIG_SETS, PATCHES, jobs, merge, parse_job, plan_json
from .report_data import load_run
from .reports import compare, render_all
from .session import shell


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pt-harness", description=__doc__)
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="build, boot and measure on each arch")
    r.add_argument("--arch", action="append", metavar="ARCH",
                   help=f"x86_64 or arm64 (repeatable; default: {' '.join(DEFAULT_ARCHES)})")
    r.add_argument("--kernel-src", type=Path, metavar="PATH",
                   help="a kernel tree to use instead of Debian's linux-source-7.3")
    r.add_argument("--series", type=Path, metavar="DIR",
                   help="patch series directory (default: kernel-patches/pt-reclaim "
                        "if it has a series file)")
    r.add_argument("--range", dest="commit_range", metavar="BASE..TIP",
                   help="the commits BASE..TIP of --kernel-src as the series, on BASE")
    r.add_argument("--job", metavar="ID", help="run one cell of `pt-harness plan`")
    r.add_argument("--base-only", action="store_true",
                   help="run only the unpatched base kernel")
    r.add_argument("--no-base", action="store_true",
                   help="do not also run the unpatched base kernel")
    r.add_argument("--workload", action="append", metavar="NAME",
                   help="workload to run (repeatable; default: the default set)")
    r.add_argument("--mode", action="append", default=[], metavar="MODE",
                   help="run only these modes (repeatable): base, never, madvise, "
                        "madvise-prctl, always")
    r.add_argument("--knob", action="append", default=[], metavar="NAME=VALUE",
                   help="pt_reclaim sysctl for patched kernels, e.g. scan_delay_ms=50")
    r.add_argument("--config", action="append", type=Path, default=[], metavar="FRAGMENT",
                   help="extra kconfig fragment (repeatable)")
    r.add_argument("--results", type=Path, metavar="DIR",
                   help="parent directory for the run directory (default: results/)")
    c = sub.add_parser("check", help="a developer's own tree: build, boot, measure")
    c.add_argument("--kernel-src", type=Path, metavar="PATH", required=True,
                   help="your kernel tree, used as it is (uncommitted changes included)")
    c.add_argument("--series", type=Path, metavar="DIR",
                   help="apply this series on a copy first (default: nothing applied)")
    c.add_argument("--overhead", action="store_true",
                   help="also run the scanner-cost benchmark (about 40 s per arch)")
    c.add_argument("--base", action="store_true",
                   help="your tree does not carry the series: run it as the base kernel")
    for opt in (r, c):
        _common(opt, with_arch=opt is c)

    nt = sub.add_parser("nightly", help="per-patch checks, the full matrix, history, "
                        "regressions")
    nt.add_argument("--kernel-src", type=Path, metavar="PATH")
    nt.add_argument("--series", type=Path, metavar="DIR|MBOX",
                    help="the series (default: kernel-patches/pt-reclaim)")
    nt.add_argument("--range", dest="commit_range", metavar="BASE..TIP",
                    help="the commits BASE..TIP of --kernel-src as the series, on BASE")
    nt.add_argument("--no-debug", action="store_true", help="skip the debug-config matrix")
    _common(nt, with_arch=True)

    pl = sub.add_parser("plan", help="the CI job matrix (arch x kernel x config) as JSON")
    pl.add_argument("--format", default="github", help="github (default) or gitlab")
    pl.add_argument("--arch", action="append", metavar="ARCH")
    pl.add_argument("--no-debug", action="store_true", help="leave out the debug config")
    mg = sub.add_parser("merge", help="join the run directories of CI cells into one run")
    mg.add_argument("runs", type=Path, nargs="+", metavar="RUN_DIR")
    mg.add_argument("--results", type=Path, metavar="DIR")

    rp = sub.add_parser("report", help="regenerate every report of a run from its raw JSON")
    rp.add_argument("run_dir", type=Path, metavar="RESULTS_DIR")
    kc = sub.add_parser("kcidb", help="write RUN_DIR/kcidb.json, the run in KCIDB's JSON")
    kc.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    kc.add_argument("--origin", help="KCIDB origin of the IDs (default: "
                    "$PT_HARNESS_KCIDB_ORIGIN or pt_harness)")
    kc.add_argument("--artifacts-url", metavar="URL",
                    help="URL where the results/ directory is published, for log URLs "
                         "(default: $PT_HARNESS_KCIDB_ARTIFACTS_URL)")
    kc.add_argument("--tree-name", help="the base tree's name, e.g. mainline "
                    "(default: $PT_HARNESS_KCIDB_TREE)")
    kc.add_argument("--git-url", metavar="URL", help="https:// URL of the repository of "
                    "the base commit (default: $PT_HARNESS_KCIDB_GIT_URL)")
    cp = sub.add_parser("compare", help="two runs side by side; exit 1 if B regressed")
    cp.add_argument("run_a", type=Path, metavar="RUN_A")
    cp.add_argument("run_b", type=Path, metavar="RUN_B")
    cp.add_argument("--thresholds", type=Path, metavar="TOML",
                    help="regression thresholds (default: harness/data/thresholds.toml)")

    sh = sub.add_parser("shell", help="boot a kernel and open a shell in the guest")
    sh.add_argument("--arch", default="x86_64", help="x86_64 or arm64 (default x86_64)")
    sh.add_argument("--kernel-src", type=Path, metavar="PATH")
    sh.add_argument("--series", type=Path, metavar="DIR")
    sh.add_argument("--base", action="store_true", help="boot the unpatched base kernel")
    sh.add_argument("--keep", action="store_true",
                    help="leave the VM running and print how to connect")
    sh.add_argument("--results", type=Path, metavar="DIR")
    return p


def _common(p: argparse.ArgumentParser, with_arch: bool) -> None:
    """Options `run` and `check` share."""
    if with_arch:
        p.add_argument("--arch", action="append", metavar="ARCH",
                       help="x86_64 or arm64 (repeatable; default: both)")
        p.add_argument("--workload", action="append", metavar="NAME")
        p.add_argument("--mode", action="append", default=[], metavar="MODE")
        p.add_argument("--knob", action="append", default=[], metavar="NAME=VALUE")
        p.add_argument("--config", action="append", type=Path, default=[])
        p.add_argument("--results", type=Path, metavar="DIR")
    p.add_argument("--no-overhead", action="store_true",
                   help="skip the scanner-cost benchmark (on by default for patched "
                        "kernels unless --mode narrows the modes)")
    p.add_argument("--parallel", type=int, metavar="N",
                   help="suites (arches) of one kernel run at once (default: all of "
                        "them for check, 1 for run and nightly, whose scanner-cost "
                        "figures want the host to themselves)")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="run every mode's workloads N times in the same boot (soak)")
    p.add_argument("--peer", choices=PEER_SIZES, metavar="|".join(PEER_SIZES),
                   help="the kernel's mm selftests in modes never and always on patched "
                        "kernels (harness/data/peer.toml): none, the subset or the full "
                        "set (default: subset for run, none for check, full for nightly)")
    p.add_argument("--catalog", type=Path, metavar="TOML",
                   help="workload catalog (default: harness/data/workloads.toml)")


def parse_knobs(items: list[str]) -> tuple[tuple[str, str], ...]:
    out = []
    knobs = knob_names() if items else ()
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in knobs or not value.isdigit():
            raise BadInput(f"--knob {item!r}: expected NAME=NUMBER with NAME one of "
                           f"{', '.join(knobs)}")
        out.append((name, value))
    return tuple(out)


def _parallel(given: int | None, check: bool) -> int:
    if given is not None and given < 1:
        raise BadInput(f"--parallel {given}: expected a number of suites, 1 or more")
    return given or (len(DEFAULT_ARCHES) if check else 1)


def _run_dir(path: Path) -> Path:
    if not (path / "run.json").is_file():
        raise BadInput(f"{path}: not a run directory (no run.json)")
    return path


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, proc.interrupt)
    signal.signal(signal.SIGINT, proc.interrupt)
    try:
        if args.command == "nightly":
            return nightly(RunOptions(
                arches=tuple(get_arch(a) for a in (args.arch or DEFAULT_ARCHES)),
                workloads=tuple(select(args.workload, load_catalog(args.catalog)
                                       if args.catalog else None)),
                kernel_src=args.kernel_src, series=args.series,
                commit_range=args.commit_range,
                results=args.results.resolve() if args.results else None,
                modes=tuple(args.mode), knobs=parse_knobs(args.knob),
                overhead=not args.no_overhead and not args.mode,
                parallel=_parallel(args.parallel, False), peer=args.peer or "full"),
                with_debug=not args.no_debug)
        if args.command == "plan":
            arches = tuple(get_arch(a).name for a in (args.arch or DEFAULT_ARCHES))
            print(plan_json(jobs(arches, with_debug=not args.no_debug), args.format))
            return 0
        if args.command == "merge":
            out = merge([p.resolve() for p in args.runs],
                        args.results.resolve() if args.results else None)
            for path in render_all(out):
                print(path)
            return 0
        if args.command == "run" and args.job:
            job = parse_job(args.job)
            args.arch = [job.arch]
            args.base_only = job.kernel == "base"
            args.no_base = job.kernel == "patched"
            args.config = [*args.config, *CONFIG_SETS[job.config]]
        if args.command in ("run", "check"):
            check = args.command == "check"
            opts = RunOptions(
                arches=tuple(get_arch(a) for a in (args.arch or DEFAULT_ARCHES)),
                workloads=tuple(select(args.workload, load_catalog(args.catalog)
                                       if args.catalog else None)),
                kernel_src=args.kernel_src, series=args.series,
                commit_range=getattr(args, "commit_range", None),
                base=not check and not args.no_base,
                apply_default=not check and not args.base_only,
                results=args.results.resolve() if args.results else None,
                extra_fragments=tuple(p.resolve() for p in args.config),
                modes=tuple(args.mode), knobs=parse_knobs(args.knob),
                repeat=max(1, args.repeat),
                # The developer loop leaves the 40 s benchmark out unless asked.
                overhead=(args.overhead if check else not args.no_overhead)
                and not args.mode,
                parallel=_parallel(args.parallel, check),
                screenshot=not check,     # Chromium costs seconds of the loop
                debuginfo=check,
                # Minutes per arch: the developer loop asks for it.
                peer=args.peer or ("none" if check else "subset"),
                own_tree_patched=check and not args.base)
            if getattr(args, "job", None) and parse_job(args.job).kernel == PATCHES:
                return patches(opts)        # the nightly's per-patch walk, one arch
            return run(opts)
        if args.command == "report":
            for path in render_all(_run_dir(args.run_dir)):
                print(path)
            return 0
        if args.command == "kcidb":
            settings = KcidbSettings.from_env().overridden(
                origin=args.origin, artifacts_url=args.artifacts_url,
                tree_name=args.tree_name, git_url=args.git_url)
            run_dir = _run_dir(args.run_dir)
            print(write_kcidb(load_run(run_dir), run_dir / "kcidb.json", settings))
            return 0
        if args.command == "compare":
            extra = {"thresholds": args.thresholds} if args.thresholds else {}
            result = compare(_run_dir(args.run_a), _run_dir(args.run_b), **extra)
            print(result.render())
            return EXIT_CHECKS_FAILED if result.regressed else 0
        if args.command == "shell":
            return shell(get_arch(args.arch), args.kernel_src, args.series, args.base,
                         args.keep, args.results.resolve() if args.results else None)
        raise AssertionError(args.command)
    except HarnessError as e:
        if args.debug:
            raise
        print(f"pt-harness: error: {e}", file=sys.stderr)
        return e.exit_status
    except OSError as e:     # e.g. the results disk full: name the file, keep the rest
        if args.debug:
            raise
        print(f"pt-harness: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    except Exception as e:   # a bug: say so in one line, traceback on --debug
        if args.debug:
            raise
        print(f"pt-harness: internal error: {type(e).__name__}: {e} "
              "(run with --debug for the traceback)", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    except KeyboardInterrupt:
        print("pt-harness: interrupted; QEMU stopped, results so far kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        proc.kill_all()


if __name__ == "__main__":
    sys.exit(main())
