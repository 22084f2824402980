"""One suite: build, image, boot, then every mode x workload for one
(kernel, arch), all in one boot (modes are switched in the guest).

The suite is a list of declared stages (suite_stages(), run by
stages.run_stages): each names the stages it needs and the checks it
records. Every check is saved as soon as it ends; a stage that fails has
the stages that need it recorded as skipped, never as passed.

What the stages call to build, boot and drive the guest is one
Collaborators record, the real functions by default, so a unit test runs
the whole suite's logic with fakes (tests/test_suite_stages.py), as
kunit's tests do with a mocked LinuxSourceTree.
"""

import datetime as dt
import re
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import proc
from ..arches import Arch
from ..errors import HOST, GuestError
from ..guest import console
from ..guest.boot import booted
from ..guest.guest import SSH_TIMEOUT, Guest
from ..guest.image import GuestImage, build_image
from ..guest.vm import VM
from ..kernel.kbuild import BuiltKernel, build
from ..kernel.kconfig import compiler_text
from ..kernel.selftests import PeerBuild, build_selftest, has_selftest
from ..kernel.source import KernelTree
from ..progress import say, step
from ..reproducer import BUILD_RECORD, add_build
from ..results import ERROR, FAILED, PASSED, SKIPPED, Check, RunDir, Suite, error_check
from .catalog import Workload
from .modes import Expectation, Mode
from .neighbours import NeighbourPlan, run_neighbour
from .overhead import ICOUNT_CLOCK, WALL_CLOCK, OverheadPlan, run_overhead
from .peer import PreparedPeer, check_names, guest_device, prepare_peer, run_peer
from .peer_plan import PeerPlan
from .selftest import CHECK_NAME as SELFTEST_CHECK
from .selftest import run_selftest
from .stages import Stage, StageContext, Stop, run_stages, skipped
from .workload_runner import NO_MODES, case_name, has_modes, read_knobs, run_workload, setup_mode

CPU_ONLINE = "/sys/devices/system/cpu/online"
DISK_MB = 256


def cpu_list_count(text: str) -> int:
    """CPUs in a kernel CPU list such as /sys/devices/system/cpu/online
    ("0-1", "0,2-3", "0"); 0 for an empty or malformed list."""
    count = 0
    for part in text.strip().split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip())
        if not m:
            return 0
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if last < first:
            return 0
        count += last - first + 1
    return count


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

    def check(self, status: str, message: str = "", detail: str = "",
              properties: dict[str, str] | None = None, cause: str = "") -> Check:
        return Check(self.name, status, time.monotonic() - self.start, message, detail,
                     properties or {}, self.started, cause)

    def record(self, status: str, message: str = "", detail: str = "",
               properties: dict[str, str] | None = None) -> Check:
        return save(self.suite, self.run, self.check(status, message, detail, properties))


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
    for c in skipped(names, why):
        suite.add(c)
    run.save_suite(suite)


def make_disk(path: Path) -> Path:
    """A small ext4 image for file-backed workloads, made without root."""
    proc.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "ptdata", str(path), f"{DISK_MB}M"],
             what=f"mke2fs {path}", timeout=120)
    return path


@dataclass(frozen=True)
class Collaborators:
    """Everything a suite calls outside its own logic, as plain callables:
    the builder, the imager, the booter and what runs in the guest. The
    defaults are the real ones; a test passes fakes."""
    # builder
    build: Callable[..., BuiltKernel] = build
    has_selftest: Callable[[KernelTree, str], bool] = has_selftest
    build_selftest: Callable[[KernelTree, str, BuiltKernel, Arch], Path] = build_selftest
    prepare_peer: Callable[..., PreparedPeer] = prepare_peer
    # imager
    build_image: Callable[[Arch], GuestImage] = build_image
    make_disk: Callable[[Path], Path] = make_disk
    # booter: a context manager yielding (VM, Guest)
    boot: Callable[..., AbstractContextManager[tuple[VM, Guest]]] = booted
    # the guest side
    read_knobs: Callable[[Guest], dict[str, str]] = read_knobs
    has_modes: Callable[[Guest], bool] = has_modes
    setup_mode: Callable[..., str] = setup_mode
    run_workload: Callable[..., Check] = run_workload
    run_overhead: Callable[..., Check] = run_overhead
    run_neighbour: Callable[..., Check] = run_neighbour
    run_selftest: Callable[..., list[Check]] = run_selftest
    run_peer: Callable[..., Any] = run_peer
    # the console's splats through decode_stacktrace.sh
    decode: Callable[..., str | None] = console.decode


REAL = Collaborators()


@dataclass(frozen=True)
class Booted:
    """The boot stage's result: the guest the in-guest stages share."""
    vm: VM
    guest: Guest
    knobs: dict[str, str]        # the kernel's own knob values, right after boot


@dataclass(frozen=True)
class Image:
    """The image stage's result: the initramfs and the drives it made."""
    image: GuestImage
    disk: Path | None


class SuiteRun:
    """One suite being run: its plan, where it is saved, what it calls.
    The stage functions are its methods; suite_stages() declares them."""

    def __init__(self, plan: SuitePlan, suite: Suite, run: RunDir,
                 collab: Collaborators = REAL) -> None:
        self.plan, self.suite, self.run, self.c = plan, suite, run, collab
        self.out = run.suite_dir(suite)
        self.with_selftest = plan.commit is not None and collab.has_selftest(plan.tree,
                                                                            plan.commit)

    def save(self, check: Check) -> Check:
        return save(self.suite, self.run, check)

    def skip(self, names: list[str], why: str) -> None:
        skip_rest(self.suite, self.run, names, why)

    def timer(self, name: str) -> _CheckTimer:
        return _CheckTimer(self.suite, self.run, name)

    def stages(self) -> list[Stage]:
        """The suite, in order. A stage is left out when the plan has
        nothing for it (no selftest in the tree, no peer suite asked for)."""
        plan = self.plan
        workload_cases = [case_name(w, m, r) for m in plan.modes for r in range(plan.repeat)
                          for w in plan.workloads_in(m)]
        wall = tuple(o.check for o in plan.overheads(WALL_CLOCK))
        icount = tuple(o.check for o in plan.overheads(ICOUNT_CLOCK))
        out = [
            Stage("apply", self.apply),
            Stage("build", self.build, needs=("apply",), checks=("build",),
                  failed="build failed"),
        ]
        if self.with_selftest:
            out.append(Stage("selftest-build", self.build_selftest, needs=("build",),
                             failed="selftest did not build"))
        if plan.peer is not None:
            out.append(Stage("peer-build", self.build_peer, needs=("build",),
                             failed="peer suite did not build"))
        # The image needs no kernel, but without one there is nothing to boot.
        out += [
            Stage("image", self.image, needs=("build",), checks=("image",),
                  failed="guest image failed"),
            Stage("boot", self.boot, needs=("build", "image"),
                  uses=("build", "image", *(("peer-build",) if plan.peer else ())),
                  checks=("boot",), failed="guest did not boot"),
            Stage("workloads", self.workloads, needs=("boot",),
                  checks=tuple(workload_cases)),
            Stage("overhead", self.overhead, needs=("boot",), checks=wall),
            Stage("neighbours", self.neighbours, needs=("boot",),
                  checks=tuple(n.check for n in plan.neighbours)),
        ]
        if self.with_selftest:
            out.append(Stage("kselftest", self.kselftest, needs=("boot", "selftest-build"),
                             checks=(SELFTEST_CHECK,)))
        if plan.peer is not None:
            out.append(Stage("peer", self.peer, needs=("boot", "peer-build"),
                             uses=("boot", "peer-build", "image"),
                             checks=tuple(check_names(plan.peer, plan.arch.name))))
        out += [
            # Its own guest, once the suite's is gone: reads the kernel and
            # the image, not the first boot, which it only needs to have
            # come up.
            Stage("icount", self.icount, needs=("boot",), uses=("build", "image"),
                  checks=icount),
            # The console is read whatever the boot came to (a panic at boot
            # is its finding), once every guest is stopped.
            Stage("console", self.console, needs=("build", "image"), checks=("console",)),
        ]
        return out

    # -- the stages, in order ------------------------------------------

    def apply(self, ctx: StageContext) -> str:
        if self.plan.commit is None:      # commands/run.py recorded the apply check
            raise Stop("series did not apply")
        return self.plan.commit

    def build(self, ctx: StageContext) -> BuiltKernel:
        plan = self.plan
        t = self.timer("build")
        try:
            kernel = self.c.build(plan.tree, ctx["apply"], plan.arch, list(plan.fragments),
                                  self.suite.kernel)
        except Exception as e:
            failed_log = Path(getattr(e, "log", None) or "/nonexistent")
            _copy(failed_log, self.out / "build.log")
            # The commands of the build that failed, for reproducer.sh.
            add_build(self.out, failed_log.with_name(BUILD_RECORD))
            ctx.record(error_check("build", e, time.monotonic() - t.start))
            raise Stop("build failed") from None
        _copy(kernel.log, self.out / "build.log")
        add_build(self.out, kernel.build_dir / BUILD_RECORD)
        _copy(kernel.build_dir / ".config", self.out / "kernel.config")
        ctx.record(t.check(PASSED, properties={
            "rebuilt": str(kernel.rebuilt), "build_key": kernel.key,
            "compiler": compiler_text(kernel.build_dir / ".config"),
            "fragments": " ".join(f.name for f in plan.fragments)}))
        return kernel

    def build_selftest(self, ctx: StageContext) -> Path:
        return self.c.build_selftest(self.plan.tree, ctx["apply"], ctx["build"],
                                     self.plan.arch)

    def build_peer(self, ctx: StageContext) -> PreparedPeer:
        assert self.plan.peer is not None
        peer = self.c.prepare_peer(self.plan.peer, self.plan.tree, ctx["apply"], ctx["build"],
                                   self.plan.arch, self.out)
        if peer.swap is not None:
            ctx.callback(peer.swap.unlink, missing_ok=True)
        return peer

    def image(self, ctx: StageContext) -> Image:
        t = self.timer("image")
        image = self.c.build_image(self.plan.arch)
        disk = None
        if any("disk" in w.needs for w in self.plan.workloads):
            disk = self.c.make_disk(self.out / "disk.img")
            ctx.callback(disk.unlink, missing_ok=True)
        peer: PreparedPeer | None = ctx.get("peer-build")
        build: PeerBuild | None = peer.build if peer else None
        ctx.record(t.check(PASSED, properties={
            "image_key": image.key, "selftest": "yes" if ctx.get("selftest-build") else "no",
            **({"peer_built": str(len(build.built))} if build else {})}))
        return Image(image, disk)

    def drives(self, ctx: StageContext) -> tuple[Path, ...]:
        peer: PreparedPeer | None = ctx.get("peer-build")
        return tuple(d for d in (ctx["image"].disk, peer.swap if peer else None) if d)

    def boot(self, ctx: StageContext) -> Booted:
        log = self.out / "console.log"
        t = self.timer("boot")
        try:
            vm, guest = ctx.enter(self.c.boot(ctx["build"], ctx["image"].image, self.out,
                                              drives=self.drives(ctx)))
        except GuestError as e:       # QEMU did not start at all: the host's
            ctx.record(t.check(ERROR, str(e), console.tail(log), cause=HOST))
            raise Stop("guest did not boot") from None
        try:
            with step(f"boot {self.suite.name} ({vm.accel})"):
                seconds = guest.wait_ssh(SSH_TIMEOUT)
        except GuestError as e:
            ctx.record(t.check(ERROR, str(e), console.tail(vm.spec.console_log)))
            raise Stop("guest did not boot") from None
        props = {"boot_to_ssh_s": f"{seconds:.2f}", "accel": vm.accel}
        m = re.search(r"pt-harness: init up ([\d.]+)s", vm.console())
        if m:
            props["kernel_to_init_s"] = m.group(1)
        # The kernel's own knob values, before any mode sets test knobs: what a
        # default_knobs mode writes back, and what the report says it measured.
        try:
            boot_knobs = self.c.read_knobs(guest)
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
            ctx.record(t.check(
                FAILED, f"{cpu_list_count(online)} CPU(s) online ({CPU_ONLINE}: {online!r}), "
                f"QEMU gave the guest {vm.spec.cpus}", console.tail(vm.spec.console_log),
                props))
            raise Stop("guest runs fewer CPUs than it was given")
        ctx.record(t.check(PASSED, properties=props))
        return Booted(vm, guest, boot_knobs)

    def workloads(self, ctx: StageContext) -> None:
        for mode in self.plan.modes:
            self._mode(ctx, mode, ctx["boot"])

    def _mode(self, ctx: StageContext, mode: Mode, b: Booted) -> None:
        plan = self.plan
        workloads = plan.workloads_in(mode)
        if not workloads:
            return
        names = [case_name(w, mode, r) for r in range(plan.repeat) for w in workloads]
        try:
            problem = self.c.setup_mode(b.guest, mode, plan.knobs, b.knobs)
        except GuestError as e:
            problem = str(e)
        if problem:
            status = SKIPPED if problem == NO_MODES else ERROR
            for n in names:
                ctx.record(Check(n, status, message=problem))
            return
        for r in range(plan.repeat):
            for w in workloads:
                name = case_name(w, mode, r)
                proc.check_interrupted()     # the other suite's thread saw Ctrl-C
                if not b.vm.alive():
                    ctx.record(_gone(name, b.vm))
                    continue
                say(f"{self.suite.name}: {name}")
                check = self.c.run_workload(b.guest, w, mode, list(plan.expectations),
                                            self.out, b.vm.spec.console_log, r)
                # Cut short by Ctrl-C (its guest killed under it): not a result,
                # as in a run without threads, where the interrupt unwinds first.
                proc.check_interrupted()
                ctx.record(check)

    def overhead(self, ctx: StageContext) -> None:
        for o in self.plan.overheads(WALL_CLOCK):
            self._overhead(ctx, o, ctx["boot"])

    def _overhead(self, ctx: StageContext, o: OverheadPlan, b: Booted,
                  props: dict[str, str] | None = None) -> None:
        if not self._scanner_ready(ctx, o.check, b):
            return
        say(f"{self.suite.name}: {o.check} ({o.rounds} rounds of "
            f"{'/'.join(m.name for m in o.modes)}, {o.clock} clock)")
        t = self.timer(o.check)
        c = self.c.run_overhead(b.guest, o, self.out)
        ctx.record(t.check(c.status, c.message, c.detail, {**(props or {}), **c.properties}))

    def neighbours(self, ctx: StageContext) -> None:
        """Each neighbour benchmark in the suite's boot; --knob values
        replace its own."""
        b: Booted = ctx["boot"]
        for n in self.plan.neighbours:
            if not self._scanner_ready(ctx, n.check, b):
                continue
            say(f"{self.suite.name}: {n.check} ({n.rounds} rounds of never/always)")
            t = self.timer(n.check)
            c = self.c.run_neighbour(b.guest, n, self.plan.knobs, self.out)
            ctx.record(t.check(c.status, c.message, c.detail, c.properties))

    def _scanner_ready(self, ctx: StageContext, check: str, b: Booted) -> bool:
        """Whether a scanner benchmark can run: the guest is alive and its
        kernel has the scanner's modes. If not, `check` is recorded (an error
        for a dead guest or a failed probe, a skip without the modes)."""
        if not b.vm.alive():
            ctx.record(_gone(check, b.vm))
            return False
        try:
            scanner = self.c.has_modes(b.guest)
        except GuestError as e:
            ctx.record(Check(check, ERROR, message=str(e)))
            return False
        if not scanner:
            ctx.record(Check(check, SKIPPED, message=NO_MODES))
            return False
        return True

    def kselftest(self, ctx: StageContext) -> None:
        b: Booted = ctx["boot"]
        if not b.vm.alive():
            ctx.record(_gone(SELFTEST_CHECK, b.vm))
            return
        say(f"{self.suite.name}: kselftest pt_reclaim")
        for check in self.c.run_selftest(b.guest, ctx["selftest-build"],
                                         b.vm.spec.console_log, self.out):
            ctx.record(check)

    def peer(self, ctx: StageContext) -> None:
        """The kernel's mm selftests, after the series' own kselftest."""
        b: Booted = ctx["boot"]
        peer: PreparedPeer = ctx["peer-build"]
        names = check_names(peer.plan, self.suite.arch)
        if not b.vm.alive():
            for n in names:
                ctx.record(_gone(n, b.vm))
            return
        say(f"{self.suite.name}: peer suite mm ({peer.plan.size}, {len(names) - 1} programs, "
            f"never and always)")
        swap = guest_device(self.drives(ctx), peer.swap) if peer.swap else None
        self.c.run_peer(b.guest, peer.plan, peer.build, self.suite.arch, swap, self.out,
                        ctx.record, b.vm.alive)

    def icount(self, ctx: StageContext) -> Path | None:
        """The icount benchmarks in a guest of their own (see VMSpec.icount):
        its clocks count instructions, so their figures do not move with the
        host's load. Returns the guest's console log, for the console check."""
        overheads = self.plan.overheads(ICOUNT_CLOCK)
        if not overheads:
            return None
        log = self.out / "console-icount.log"

        def fail_all(e: GuestError, cause: str = "") -> None:
            for o in overheads:
                if o.check not in ctx.recorded:
                    ctx.record(Check(o.check, ERROR, message=f"icount guest: {e}",
                                               detail=console.tail(log), cause=cause))
        try:
            vm, guest = ctx.enter(self.c.boot(ctx["build"], ctx["image"].image, self.out,
                                              icount=True))
        except GuestError as e:      # QEMU did not start at all: the host's
            fail_all(e, HOST)
            return log
        log = vm.spec.console_log
        try:
            with step(f"boot {self.suite.name} for the icount benchmark"):
                seconds = guest.wait_ssh(SSH_TIMEOUT)
        except GuestError as e:
            fail_all(e)
            return log
        # Not boot_to_ssh_s, which the reports read as the suite's boot.
        props = {"icount_boot_to_ssh_s": f"{seconds:.2f}", "cpus": str(vm.spec.cpus)}
        b = Booted(vm, guest, {})
        for o in overheads:
            self._overhead(ctx, o, b, props)
        return log

    def console(self, ctx: StageContext) -> None:
        logs = [self.out / "console.log", *([ctx["icount"]] if ctx.get("icount") else [])]
        kernel: BuiltKernel = ctx["build"]
        t = self.timer("console")
        found = [(log, s) for log in logs for s in console.scan_file(log)]
        splats = [s for _, s in found]
        if splats:
            first_log, first = found[0]
            excerpts = "\n\n".join(s.excerpt for s in splats[:3])
            decoded = self.c.decode(excerpts, kernel.build_dir / "vmlinux",
                                    self.plan.tree.path, self.plan.arch.cross_compile)
            if decoded:
                (self.out / "splats-decoded.txt").write_text(decoded)
            ctx.record(t.check(FAILED, f"{len(splats)} splat(s) in console, first: "
                                f"{first.kind} at line {first.line_no} of {first_log.name}",
                                decoded or excerpts, {"splats": str(len(splats))}))
        else:
            ctx.record(t.check(PASSED, properties={"splats": "0"}))


def run_suite(plan: SuitePlan, suite: Suite, run: RunDir,
              collab: Collaborators = REAL) -> None:
    """Every stage of one (kernel, arch) suite, each check saved as it ends."""
    r = SuiteRun(plan, suite, run, collab)
    run_stages(r.stages(), r.save, r.skip)


def _gone(name: str, vm: VM) -> Check:
    """The check for a step the guest did not live to run."""
    return Check(name, ERROR, message="guest is gone", detail=console.tail(vm.spec.console_log))


def _copy(src: Path, dst: Path) -> None:
    try:
        shutil.copyfile(src, dst)
    except OSError:
        pass
