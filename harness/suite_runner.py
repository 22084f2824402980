"""One suite: build, image, boot, then every mode x workload for one
(kernel, arch), all in one boot (modes are switched in the guest).

Every step becomes a Check saved as soon as it ends; a step that fails
marks the steps that depend on it as skipped, never as passed.
"""

import datetime as dt
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import console, proc
from .arches import Arch
from .boot import booted
from .catalog import Workload
from .errors import GuestError, HarnessError
from .guest import Guest
from .image import GuestImage, build_image
from .kbuild import BuiltKernel, build
from .kconfig import compiler_text
from .modes import Expectation, Mode
from .neighbours import NeighbourPlan, run_neighbour
from .overhead import ICOUNT_CLOCK, WALL_CLOCK, OverheadPlan, run_overhead
from .parsers import cpu_list_count
from .peer import PreparedPeer, check_names, guest_device, prepare_peer, run_peer
from .peer_plan import PeerPlan
from .progress import say, step
from .results import ERROR, FAILED, PASSED, SKIPPED, Check, RunDir, Suite
from .selftest import CHECK_NAME as SELFTEST_CHECK
from .selftest import build_selftest, has_selftest, run_selftest
from .source import KernelTree
from .vm import VM
from .workload_runner import (
    NO_MODES,
    case_name,
    has_modes,
    read_knobs,
    run_workload,
    setup_mode,
)

SSH_TIMEOUT = 120.0
CPU_ONLINE = "/sys/devices/system/cpu/online"
DISK_MB = 256


@dataclass(frozen=True)
class SuitePlan:
    tree: KernelTree
    commit: str | None          # None: the series did not apply
    arch: Arch
    fragments: tuple[Path, ...]
    workloads: tuple[Workload, ...]
    modes: tuple[Mode, ...]
    expectations: tuple[Expectation, ...] = ()
    knobs: dict[str, str] = field(default_factory=dict)
    repeat: int = 1             # rounds of every mode's workloads (soak)
    overhead: tuple[OverheadPlan, ...] = ()   # the scanner-cost benchmarks, patched only
    neighbours: tuple[NeighbourPlan, ...] = ()   # the neighbour benchmarks, patched only
    peer: PeerPlan | None = None    # the kernel's mm selftests, patched only

    def workloads_in(self, mode: Mode) -> list[Workload]:
        """The workloads that run in `mode` (the catalog may restrict one)."""
        return [w for w in self.workloads if w.runs_in(mode)]

    def case_names(self) -> list[str]:
        return [*(case_name(w, m, r) for m in self.modes for r in range(self.repeat)
                  for w in self.workloads_in(m)),
                *(o.check for o in self.overhead),
                *(n.check for n in self.neighbours),
                *(check_names(self.peer, self.arch.name) if self.peer else [])]

    def overheads(self, clock: str) -> list[OverheadPlan]:
        return [o for o in self.overhead if o.clock == clock]


class _CheckTimer:
    """Times a check and saves the suite when it is recorded."""

    def __init__(self, suite: Suite, run: RunDir, name: str) -> None:
        self.suite, self.run, self.name = suite, run, name
        self.start = time.monotonic()
        self.started = dt.datetime.now(dt.UTC).isoformat()

    def record(self, status: str, message: str = "", detail: str = "",
               properties: dict[str, str] | None = None) -> Check:
        return save(self.suite, self.run, Check(self.name, status, time.monotonic() - self.start,
                                                message, detail, properties or {}, self.started))


def save(suite: Suite, run: RunDir, check: Check) -> Check:
    if not check.started:
        # Saved the moment it ends (a workload, a KTAP case): it began its
        # duration ago.
        began = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=check.seconds)
        check.started = began.isoformat()
    suite.add(check)
    run.save_suite(suite)
    return check


def skip_rest(suite: Suite, run: RunDir, names: list[str], why: str) -> None:
    for n in names:
        suite.add(Check(n, SKIPPED, message=why))
    run.save_suite(suite)


def run_suite(plan: SuitePlan, suite: Suite, run: RunDir) -> None:
    later = ["boot", *plan.case_names(), "console"]
    if plan.commit is None:
        skip_rest(suite, run, ["build", *later], "series did not apply")
        return
    out = run.suite_dir(suite)
    t = _CheckTimer(suite, run, "build")
    try:
        kernel = build(plan.tree, plan.commit, plan.arch, list(plan.fragments), suite.kernel)
    except HarnessError as e:
        _copy(Path(getattr(e, "log", None) or "/nonexistent"), out / "build.log")
        t.record(ERROR, str(e).splitlines()[0], str(e))
        skip_rest(suite, run, later, "build failed")
        return
    _copy(kernel.log, out / "build.log")
    _copy(kernel.build_dir / ".config", out / "kernel.config")
    t.record(PASSED, properties={"rebuilt": str(kernel.rebuilt), "build_key": kernel.key,
                                 "compiler": compiler_text(kernel.build_dir / ".config"),
                                 "fragments": " ".join(f.name for f in plan.fragments)})

    t = _CheckTimer(suite, run, "image")
    try:
        image = build_image(plan.arch)
        disk = make_disk(out / "disk.img") if any("disk" in w.needs
                                                   for w in plan.workloads) else None
    except HarnessError as e:
        t.record(ERROR, str(e).splitlines()[0], str(e))
        skip_rest(suite, run, later, "guest image failed")
        return
    selftest = None
    if has_selftest(plan.tree, plan.commit):
        try:
            selftest = build_selftest(plan.tree, plan.commit, kernel, plan.arch)
        except HarnessError as e:
            t.record(ERROR, str(e).splitlines()[0], str(e))
            skip_rest(suite, run, later, "selftest did not build")
            return
    peer = None
    if plan.peer is not None:
        try:
            peer = prepare_peer(plan.peer, plan.tree, plan.commit, kernel, plan.arch, out)
        except HarnessError as e:
            t.record(ERROR, str(e).splitlines()[0], str(e))
            skip_rest(suite, run, later, "peer suite did not build")
            return
    t.record(PASSED, properties={"image_key": image.key,
                                 "selftest": "yes" if selftest else "no",
                                 **({"peer_built": str(len(peer.build.built))} if peer else {})})
    console_log = out / "console.log"
    drives = tuple(d for d in (disk, peer.swap if peer else None) if d)
    try:
        with booted(kernel, image, out, drives=drives) as (vm, guest):
            _boot_and_run(plan, suite, run, vm, guest, selftest)
            if peer is not None:
                _run_peer(peer, drives, suite, run, vm, guest)
    except GuestError as e:      # QEMU did not start at all
        save(suite, run, Check("boot", ERROR, message=str(e), detail=console.tail(console_log)))
        skip_rest(suite, run, plan.case_names(), "guest did not boot")
    finally:
        for d in drives:
            d.unlink(missing_ok=True)
    logs = [console_log]
    icount = plan.overheads(ICOUNT_CLOCK)
    # A suite whose first guest did not come up has these skipped already.
    if icount and any(c.name == "boot" and c.status == PASSED for c in suite.checks):
        logs.append(_icount_boot(icount, suite, run, kernel, image))
    _console_check(suite, run, logs, kernel, plan)


def make_disk(path: Path) -> Path:
    """A small ext4 image for file-backed workloads, made without root."""
    proc.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "ptdata", str(path), f"{DISK_MB}M"],
             what=f"mke2fs {path}", timeout=120)
    return path


def _boot_and_run(plan: SuitePlan, suite: Suite, run: RunDir, vm: VM, guest: Guest,
                  selftest: Path | None) -> None:
    t = _CheckTimer(suite, run, "boot")
    try:
        with step(f"boot {suite.name} ({vm.accel})"):
            seconds = guest.wait_ssh(SSH_TIMEOUT)
    except GuestError as e:
        t.record(ERROR, str(e), console.tail(vm.spec.console_log))
        skip_rest(suite, run, plan.case_names(), "guest did not boot")
        return
    props = {"boot_to_ssh_s": f"{seconds:.2f}", "accel": vm.accel}
    m = re.search(r"pt-harness: init up ([\d.]+)s", vm.console())
    if m:
        props["kernel_to_init_s"] = m.group(1)
    # The kernel's own knob values, before any mode sets test knobs: what a
    # default_knobs mode writes back, and what the report says it measured.
    try:
        boot_knobs = read_knobs(guest)
    except GuestError:
        boot_knobs = {}
    props.update({f"knob_{k}": v for k, v in boot_knobs.items()})
    # Concurrency figures need the vCPUs QEMU was given: an SMP kernel that
    # cannot see them (x86 without ACPI reads only the boot CPU from the MP
    # table) would race nothing, and every race check would pass.
    try:
        online = guest.run(f"cat {CPU_ONLINE}", timeout=30).stdout.strip()
    except GuestError as e:
        online = f"unreadable: {e}"
    props["cpus_online"] = online
    if cpu_list_count(online) < vm.spec.cpus:
        t.record(FAILED, f"{cpu_list_count(online)} CPU(s) online ({CPU_ONLINE}: {online!r}), "
                 f"QEMU gave the guest {vm.spec.cpus}", console.tail(vm.spec.console_log),
                 props)
        skip_rest(suite, run, plan.case_names(), "guest runs fewer CPUs than it was given")
        return
    t.record(PASSED, properties=props)
    for mode in plan.modes:
        _run_mode(plan, mode, suite, run, vm, guest, boot_knobs)
    for overhead in plan.overheads(WALL_CLOCK):
        _run_overhead(overhead, suite, run, vm, guest)
    for neighbour in plan.neighbours:
        _run_neighbour(neighbour, plan.knobs, suite, run, vm, guest)
    if selftest is not None and not vm.alive():
        save(suite, run, _gone(SELFTEST_CHECK, vm))
    elif selftest is not None:
        say(f"{suite.name}: kselftest pt_reclaim")
        for check in run_selftest(guest, selftest, vm.spec.console_log, run.suite_dir(suite)):
            save(suite, run, check)


def _run_peer(peer: PreparedPeer, drives: tuple[Path, ...], suite: Suite, run: RunDir,
              vm: VM, guest: Guest) -> None:
    """The kernel's mm selftests, after the series' own kselftest."""
    names = check_names(peer.plan, suite.arch)
    if not any(c.name == "boot" and c.status == PASSED for c in suite.checks):
        return      # skipped already, with the reason
    if not vm.alive():
        for n in names:
            save(suite, run, _gone(n, vm))
        return
    say(f"{suite.name}: peer suite mm ({peer.plan.size}, {len(names) - 1} programs, "
        f"never and always)")
    swap = guest_device(drives, peer.swap) if peer.swap else None
    run_peer(guest, peer.plan, peer.build, suite.arch, swap, run.suite_dir(suite),
             lambda c: save(suite, run, c), vm.alive)


def _run_mode(plan: SuitePlan, mode: Mode, suite: Suite, run: RunDir, vm: VM,
              guest: Guest, boot_knobs: dict[str, str]) -> None:
    workloads = plan.workloads_in(mode)
    if not workloads:
        return
    names = [case_name(w, mode, r) for r in range(plan.repeat) for w in workloads]
    try:
        problem = setup_mode(guest, mode, plan.knobs, boot_knobs)
    except GuestError as e:
        problem = str(e)
    if problem:
        status = SKIPPED if problem == NO_MODES else ERROR
        for n in names:
            save(suite, run, Check(n, status, message=problem))
        return
    for r in range(plan.repeat):
        for w in workloads:
            name = case_name(w, mode, r)
            proc.check_interrupted()     # the other suite's thread saw Ctrl-C
            if not vm.alive():
                save(suite, run, _gone(name, vm))
                continue
            say(f"{suite.name}: {name}")
            check = run_workload(guest, w, mode, list(plan.expectations),
                                 run.suite_dir(suite), vm.spec.console_log, r)
            # Cut short by Ctrl-C (its guest killed under it): not a result,
            # as in a run without threads, where the interrupt unwinds first.
            proc.check_interrupted()
            save(suite, run, check)


def _gone(name: str, vm: VM) -> Check:
    """The check for a step the guest did not live to run."""
    return Check(name, ERROR, message="guest is gone", detail=console.tail(vm.spec.console_log))


def _scanner_ready(check: str, suite: Suite, run: RunDir, vm: VM, guest: Guest) -> bool:
    """Whether a scanner benchmark can run: the guest is alive and its
    kernel has the scanner's modes. If not, `check` is recorded (an error
    for a dead guest or a failed probe, a skip without the modes)."""
    if not vm.alive():
        save(suite, run, _gone(check, vm))
        return False
    try:
        scanner = has_modes(guest)
    except GuestError as e:
        save(suite, run, Check(check, ERROR, message=str(e)))
        return False
    if not scanner:
        save(suite, run, Check(check, SKIPPED, message=NO_MODES))
        return False
    return True


def _run_overhead(overhead: OverheadPlan, suite: Suite, run: RunDir, vm: VM,
                  guest: Guest, props: dict[str, str] | None = None) -> None:
    props = props or {}
    if not _scanner_ready(overhead.check, suite, run, vm, guest):
        return
    say(f"{suite.name}: {overhead.check} ({overhead.rounds} rounds of never/always, "
        f"{overhead.clock} clock)")
    t = _CheckTimer(suite, run, overhead.check)
    c = run_overhead(guest, overhead, run.suite_dir(suite))
    t.record(c.status, c.message, c.detail, {**props, **c.properties})


def _run_neighbour(neighbour: NeighbourPlan, knobs: dict[str, str], suite: Suite,
                   run: RunDir, vm: VM, guest: Guest) -> None:
    """One neighbour benchmark in the suite's boot; `knobs` (--knob)
    replace its own."""
    if not _scanner_ready(neighbour.check, suite, run, vm, guest):
        return
    say(f"{suite.name}: {neighbour.check} ({neighbour.rounds} rounds of never/always)")
    t = _CheckTimer(suite, run, neighbour.check)
    c = run_neighbour(guest, neighbour, knobs, run.suite_dir(suite))
    t.record(c.status, c.message, c.detail, c.properties)


def _icount_boot(overheads: list[OverheadPlan], suite: Suite, run: RunDir,
                 kernel: BuiltKernel, image: GuestImage) -> Path:
    """The icount benchmarks in a guest of their own (see VMSpec.icount):
    its clocks count instructions, so their figures do not move with the
    host's load. Returns the guest's console log, for the console check."""
    out = run.suite_dir(suite)
    log = out / "console-icount.log"
    try:
        with booted(kernel, image, out, icount=True) as (vm, guest):
            log = vm.spec.console_log
            with step(f"boot {suite.name} for the icount benchmark"):
                try:
                    seconds = guest.wait_ssh(SSH_TIMEOUT)
                except GuestError as e:
                    for o in overheads:
                        save(suite, run, Check(o.check, ERROR, message=f"icount guest: {e}",
                                               detail=console.tail(log)))
                    return log
            # Not boot_to_ssh_s, which the reports read as the suite's boot.
            props = {"icount_boot_to_ssh_s": f"{seconds:.2f}", "cpus": str(vm.spec.cpus)}
            for o in overheads:
                _run_overhead(o, suite, run, vm, guest, props)
    except GuestError as e:      # QEMU did not start at all
        done = {c.name for c in suite.checks}
        for o in overheads:
            if o.check not in done:
                save(suite, run, Check(o.check, ERROR, message=f"icount guest: {e}",
                                       detail=console.tail(log)))
    return log


def _console_check(suite: Suite, run: RunDir, logs: list[Path], kernel: BuiltKernel,
                   plan: SuitePlan) -> None:
    t = _CheckTimer(suite, run, "console")
    found = [(log, s) for log in logs for s in console.scan_file(log)]
    splats = [s for _, s in found]
    if splats:
        first_log, first = found[0]
        excerpts = "\n\n".join(s.excerpt for s in splats[:3])
        decoded = console.decode(excerpts, kernel.build_dir / "vmlinux", plan.tree.path,
                                 plan.arch.cross_compile)
        if decoded:
            (run.suite_dir(suite) / "splats-decoded.txt").write_text(decoded)
        t.record(FAILED, f"{len(splats)} splat(s) in console, first: {first.kind} at line "
                 f"{first.line_no} of {first_log.name}", decoded or excerpts,
                 {"splats": str(len(splats))})
    else:
        t.record(PASSED, properties={"splats": "0"})


def _copy(src: Path, dst: Path) -> None:
    try:
        shutil.copyfile(src, dst)
    except OSError:
        pass
