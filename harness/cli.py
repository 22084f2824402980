"""The `pt-harness` command line."""

import argparse
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn

from . import proc, progress
from .arches import ARCHES, DEFAULT_ARCHES, get_arch
from .commands.nightly import nightly, patches
from .commands.plan import CONFIG_SETS, PATCHES, dry_run, jobs, merge, parse_job, plan_json
from .commands.run import RunOptions, run
from .commands.shell import shell
from .errors import EXIT_CHECKS_FAILED, EXIT_HARNESS_ERROR, EXIT_INTERRUPTED, BadInput, HarnessError
from .kernel.source import DEFAULT_PACKAGE
from .report.kcidb import KcidbSettings, write_kcidb
from .report.render import compare, render_all
from .report.run_data import load_run
from .suite.catalog import load_catalog, select
from .suite.modes import knob_names, load_modes
from .suite.peer_plan import SIZES as PEER_SIZES


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other bad input, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_HARNESS_ERROR,
                  f"pt-harness: error: {message} (`{self.prog} --help` lists the options)\n")


def _data(what: Callable[[], str]) -> str:
    """Help text from a data file; a broken file is reported when it is
    used, not by every --help."""
    try:
        return what()
    except HarnessError:
        return "see `pt-harness list`"


def _names(names: Iterable[str]) -> str:
    return ", ".join(names)


def _arch(name: str) -> str:
    try:
        return get_arch(name).name
    except BadInput as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _mode(name: str) -> str:
    try:
        modes = load_modes()
    except HarnessError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if name not in modes:
        raise argparse.ArgumentTypeError(f"unknown mode {name}; known: {_names(modes)}")
    return name


def _knob(item: str) -> tuple[str, str]:
    """NAME=NUMBER, NAME one of the knobs of data/knobs.toml."""
    try:
        knobs = knob_names()
    except HarnessError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    name, sep, value = item.partition("=")
    if not sep or name not in knobs or not value.isdigit():
        raise argparse.ArgumentTypeError(f"{item!r}: expected NAME=NUMBER with NAME one of "
                                         f"{_names(knobs)}")
    return name, value


def _at_least_one(what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            n = 0
        if n < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: expected {what}, 1 or more")
        return n
    parse.__name__ = what      # argparse names the type in some messages
    return parse


def _options() -> dict[str, tuple[tuple[str, ...], dict[str, Any]]]:
    """Every option of every subcommand, defined once: name -> (flags,
    add_argument keywords). Subcommands pick theirs (COMMANDS) and may
    override a keyword (a default, a help text)."""
    arches = _names(ARCHES)
    return {
        "debug": (("--debug",), dict(action="store_true", default=argparse.SUPPRESS,
                                     help="show tracebacks")),
        "dry_run": (("--dry-run",), dict(action="store_true",
                                         help="print the plan (kernels, builds, boots, "
                                              "workloads) and the make and QEMU command "
                                              "lines; build and boot nothing")),
        "arch": (("--arch",), dict(action="append", type=_arch, metavar="ARCH",
                                   help=f"one of {arches} (repeatable; default: "
                                        f"{' '.join(DEFAULT_ARCHES)})")),
        "kernel_src": (("--kernel-src",), dict(type=Path, metavar="PATH",
                                               help="a kernel tree to use instead of "
                                                    f"Debian's {DEFAULT_PACKAGE}")),
        "series": (("--series",), dict(type=Path, metavar="DIR|MBOX",
                                       help="the patch series: a directory with a series "
                                            "file, or an mbox (default: "
                                            "kernel-patches/pt-reclaim if it has a series "
                                            "file)")),
        "range": (("--range",), dict(dest="commit_range", metavar="BASE..TIP",
                                     help="the commits BASE..TIP of --kernel-src as the "
                                          "series, on BASE")),
        "job": (("--job",), dict(metavar="ID", help="run one cell of `pt-harness plan`")),
        "base_only": (("--base-only",), dict(action="store_true",
                                             help="run only the unpatched base kernel")),
        "no_base": (("--no-base",), dict(action="store_true",
                                         help="do not also run the unpatched base kernel")),
        "workload": (("--workload",), dict(
            action="append", metavar="NAME",
            help="workload to run (repeatable; default: "
                 + _data(lambda: _names(w.name for w in load_catalog().values() if w.default))
                 + "; all: `pt-harness list workloads`)")),
        "mode": (("--mode",), dict(action="append", default=[], type=_mode, metavar="MODE",
                                   help="run only these modes (repeatable): "
                                        + _data(lambda: _names(load_modes())))),
        "knob": (("--knob",), dict(action="append", default=[], type=_knob,
                                   metavar="NAME=VALUE",
                                   help="pt_reclaim sysctl for patched kernels, NAME one of "
                                        + _data(lambda: _names(knob_names()))
                                        + " (repeatable), e.g. scan_delay_ms=50")),
        "config": (("--config",), dict(action="append", type=Path, default=[],
                                       metavar="FRAGMENT",
                                       help="extra kconfig fragment (repeatable)")),
        "repeat": (("--repeat",), dict(type=_at_least_one("a number of rounds"), default=1,
                                       metavar="N",
                                       help="run every mode's workloads N times in the same "
                                            "boot (soak)")),
        "no_overhead": (("--no-overhead",), dict(
            action="store_true", help="skip the scanner-cost benchmark (on by default for "
                                      "patched kernels unless --mode narrows the modes)")),
        "overhead": (("--overhead",), dict(action="store_true",
                                           help="also run the scanner-cost benchmark "
                                                "(about 40 s per arch)")),
        "parallel": (("--parallel",), dict(type=_at_least_one("a number of suites"),
                                           metavar="N",
                                           help="suites (arches) of one kernel run at once "
                                                "(default: 1, whose scanner-cost figures "
                                                "want the host to themselves)")),
        "peer": (("--peer",), dict(choices=PEER_SIZES, metavar="|".join(PEER_SIZES),
                                   help="the kernel's mm selftests in modes never and always "
                                        "on patched kernels (harness/data/peer.toml): none, "
                                        "the subset or the full set (default: subset)")),
        "catalog": (("--catalog",), dict(type=Path, metavar="TOML",
                                         help="workload catalog (default: "
                                              "harness/data/workloads.toml)")),
        "results": (("--results",), dict(type=Path, metavar="DIR",
                                         help="parent directory for the run directory "
                                              "(default: results/)")),
        "no_debug": (("--no-debug",), dict(action="store_true",
                                           help="leave out the debug-config matrix")),
    }


# Which options each command takes, and what it says differently.
_SUITE = ("arch", "workload", "mode", "knob", "repeat", "parallel", "peer", "catalog",
          "results", "dry_run", "debug")
_Names = tuple[str | tuple[str, dict[str, Any]], ...]
COMMANDS: dict[str, tuple[str, _Names]] = {
    "run": ("build, boot and measure on each arch", (
        "kernel_src", "series", "range", "job", ("base_only", {"group": "kernels"}),
        ("no_base", {"group": "kernels"}), "config", "no_overhead", *_SUITE)),
    "check": ("a developer's own tree: build, boot, measure", (
        ("kernel_src", {"required": True, "help": "your kernel tree, used as it is "
                                                  "(uncommitted changes included)"}),
        ("series", {"help": "apply this series (directory or mbox) on a copy first "
                            "(default: nothing applied)"}),
        "config", "overhead",
        ("base", {"help": "your tree does not carry the series: run it as the base kernel"}),
        *_SUITE,
        ("parallel", {"help": "suites (arches) run at once (default: all of them)"}),
        ("peer", {"help": f"the kernel's mm selftests: {'|'.join(PEER_SIZES)} "
                          "(default: none)"}))),
    "nightly": ("per-patch checks, the full matrix, history, regressions", (
        "kernel_src", ("series", {"help": "the series (default: kernel-patches/pt-reclaim)"}),
        "range", "no_debug", "no_overhead", *_SUITE,
        ("peer", {"help": f"the kernel's mm selftests: {'|'.join(PEER_SIZES)} "
                          "(default: full)"}))),
    "plan": ("the CI job matrix (arch x kernel x config) as JSON", (
        ("format", {}), "arch", ("no_debug", {"help": "leave out the debug config"}),
        "debug")),
    "shell": ("boot a kernel and open a shell in the guest", (
        ("arch", {"action": "store", "default": "x86_64",
                  "help": f"one of {_names(ARCHES)} (default x86_64)"}),
        "kernel_src", "series", ("base", {}), ("keep", {}), "results", "debug")),
}
# Options only one command has.
_OWN: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "format": (("--format",), dict(default="github", choices=("github", "gitlab"),
                                   help="github (default) or gitlab")),
    "base": (("--base",), dict(action="store_true", help="boot the unpatched base kernel")),
    "keep": (("--keep",), dict(action="store_true",
                               help="leave the VM running and print how to connect")),
}


def _compose(p: argparse.ArgumentParser, names: _Names,
             options: dict[str, tuple[tuple[str, ...], dict[str, Any]]]) -> None:
    """Add the named options to `p`; a (name, keywords) entry overrides
    keywords, and a later entry for a name one before it."""
    chosen: dict[str, dict[str, Any]] = {}
    for item in names:
        name, override = (item, {}) if isinstance(item, str) else item
        chosen[name] = {**chosen.get(name, {}), **override}
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for name, override in chosen.items():
        flags, kwargs = options.get(name) or _OWN[name]
        kwargs = {**kwargs, **override}
        if "group" in kwargs:
            name = kwargs.pop("group")
            if name not in groups:
                groups[name] = p.add_mutually_exclusive_group()
            groups[name].add_argument(*flags, **kwargs)
        else:
            p.add_argument(*flags, **kwargs)


LISTS = ("arches", "workloads", "modes")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="pt-harness", description=__doc__)
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    options = _options()
    for command, (summary, names) in COMMANDS.items():
        _compose(sub.add_parser(command, help=summary, description=summary), names, options)

    mg = sub.add_parser("merge", help="join the run directories of CI cells into one run")
    mg.add_argument("runs", type=Path, nargs="+", metavar="RUN_DIR")
    _compose(mg, ("results", "debug"), options)
    rp = sub.add_parser("report", help="regenerate every report of a run from its raw JSON")
    rp.add_argument("run_dir", type=Path, metavar="RESULTS_DIR")
    _compose(rp, ("debug",), options)
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
    _compose(kc, ("debug",), options)
    cp = sub.add_parser("compare", help="two runs side by side; exit 1 if B regressed")
    cp.add_argument("run_a", type=Path, metavar="RUN_A")
    cp.add_argument("run_b", type=Path, metavar="RUN_B")
    cp.add_argument("--thresholds", type=Path, metavar="TOML",
                    help="regression thresholds (default: harness/data/thresholds.toml)")
    _compose(cp, ("debug",), options)
    ls = sub.add_parser("list", help=f"what the data offers: {', '.join(LISTS)}")
    ls.add_argument("what", choices=LISTS)
    _compose(ls, ("catalog", "debug"), options)
    return p


def list_text(what: str, catalog: Path | None = None) -> str:
    """`pt-harness list WHAT`, from the data: the arch records, the workload
    catalog, modes.toml."""
    rows: list[tuple[str, ...]]
    if what == "arches":
        rows = [("arch", "ARCH=", "cross compiler", "QEMU", "machine", "default")]
        rows += [(a.name, a.kernel_arch, a.cc, a.qemu_binary, " ".join(a.qemu_machine),
                  "yes" if a.name in DEFAULT_ARCHES else "no") for a in ARCHES.values()]
    elif what == "workloads":
        rows = [("workload", "default", "modes", "description")]
        rows += [(w.name, "yes" if w.default else "no", " ".join(w.modes) or "(all)",
                  w.description)
                 for w in (load_catalog(catalog) if catalog else load_catalog()).values()]
    elif what == "modes":
        rows = [("mode", "kernel", "enabled", "prctl", "knobs", "description")]
        rows += [(m.name, m.kernel, m.sysfs or "-", m.prctl or "-",
                  " ".join(f"{k}={v}" for k, v in m.knobs)
                  or ("(boot values)" if m.default_knobs else "-"),
                  m.description + (" [opt-in]" if m.opt_in else ""))
                 for m in load_modes().values()]
    else:
        raise BadInput(f"list {what!r}: one of {', '.join(LISTS)}")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]])
                     .rstrip() for r in rows)


def _parallel(given: int | None, check: bool) -> int:
    """--parallel (1 or more: argparse checked it), else the command's default."""
    return given or (len(DEFAULT_ARCHES) if check else 1)


def _run_dir(path: Path) -> Path:
    if not (path / "run.json").is_file():
        raise BadInput(f"{path}: not a run directory (no run.json)")
    return path


def _options_of(args: argparse.Namespace, check: bool = False) -> RunOptions:
    """RunOptions of run, check or nightly from their parsed options."""
    nightly_ = args.command == "nightly"
    return RunOptions(
        arches=tuple(get_arch(a) for a in (args.arch or DEFAULT_ARCHES)),
        workloads=tuple(select(args.workload, load_catalog(args.catalog)
                               if args.catalog else None)),
        kernel_src=args.kernel_src, series=args.series,
        commit_range=getattr(args, "commit_range", None),
        base=not check and not getattr(args, "no_base", False),
        apply_default=not check and not getattr(args, "base_only", False),
        results=args.results.resolve() if args.results else None,
        extra_fragments=tuple(p.resolve() for p in getattr(args, "config", [])),
        modes=tuple(args.mode), knobs=tuple(args.knob),
        repeat=args.repeat,
        # The developer loop leaves the 40 s benchmark out unless asked.
        overhead=(args.overhead if check else not args.no_overhead) and not args.mode,
        parallel=_parallel(args.parallel, check),
        screenshot=not check,     # Chromium costs seconds of the loop
        debuginfo=check,
        # Minutes per arch: the developer loop asks for it.
        peer=args.peer or ("none" if check else "full" if nightly_ else "subset"),
        # check's own tree is the series under development, unless --base.
        own_tree_patched=check and not args.base)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    progress.start()
    signal.signal(signal.SIGTERM, proc.interrupt)
    signal.signal(signal.SIGINT, proc.interrupt)
    try:
        if args.command == "list":
            print(list_text(args.what, args.catalog))
            return 0
        if args.command == "nightly":
            opts = _options_of(args)
            if args.dry_run:
                print(dry_run(opts, "nightly", with_debug=not args.no_debug))
                return 0
            return nightly(opts, with_debug=not args.no_debug)
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
            opts = _options_of(args, check)
            per_patch = bool(getattr(args, "job", None)) and parse_job(args.job).kernel == PATCHES
            if args.dry_run:
                print(dry_run(opts, PATCHES if per_patch else args.command))
                return 0
            if per_patch:
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
