"""The whole suite's logic (harness/suite/runner.py) with fake collaborators:
no kernel, no QEMU, no SSH. What a stage's failure does to the stages that
need it, "guest is gone" mid-suite, an interrupt, and the exit status each
cause gives (errors.py)."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from harness.arches import get_arch
from harness.errors import (
    EXIT_CHECKS_FAILED,
    EXIT_HARNESS_ERROR,
    EXIT_OK,
    HOST,
    TEST,
    CodeFailed,
    GuestError,
    StageFailed,
    ToolMissing,
)
from harness.guest.guest import CommandResult
from harness.guest.image import GuestImage
from harness.kernel.kbuild import BuiltKernel
from harness.kernel.selftests import PeerBuild
from harness.kernel.source import KernelTree
from harness.results import ERROR, FAILED, PASSED, SKIPPED, Check, RunDir, Suite, load_suite
from harness.results import run_exit_status as exit_of
from harness.suite.catalog import Workload
from harness.suite.modes import Mode
from harness.suite.neighbours import NeighbourPlan
from harness.suite.overhead import ICOUNT_CLOCK, WALL_CLOCK, OverheadPlan
from harness.suite.peer import PreparedPeer, check_names
from harness.suite.peer_plan import PeerEnvironment, PeerPlan, PeerProgram
from harness.suite.runner import Collaborators, SuitePlan, run_suite
from harness.suite.selftest import CHECK_NAME as SELFTEST
from harness.suite.workload_runner import NO_MODES, case_name

ARCH = get_arch("x86_64")
NEVER = Mode("never", "patched", "no scanner", sysfs="never")
ALWAYS = Mode("always", "patched", "scanner for all", sysfs="always")
SMALL = Workload("dontneed-small", "", ("dontneed", "--small"), 60.0, True)
FILE = Workload("pageout-file", "", ("pageout",), 60.0, True, needs=("disk",))
WALL = OverheadPlan("overhead:scanner-wall", WALL_CLOCK, "defaults", "fault-loop", (), 2, 60.0,
                    {}, 1.05)
ICOUNT = OverheadPlan("overhead:scanner", ICOUNT_CLOCK, "defaults", "fault-loop", (), 2, 60.0,
                      {}, 1.005)
NEIGHBOUR = NeighbourPlan(Workload("neighbour-latency", "", ("neighbour",), 60.0, False), 2, 2,
                          {}, (), (), ())
PEER = PeerPlan("subset", (PeerProgram("mremap_test", "mremap_test", subset=True),),
                (), PeerEnvironment(swap_mb=16), ())


class FakeVM:
    def __init__(self, console_log: Path, cpus: int = 2) -> None:
        self.spec = type("Spec", (), {"console_log": console_log, "cpus": cpus})()
        self.accel = "tcg"
        self.dead = False
        self.stopped = False
        console_log.write_text("pt-harness: init up 0.61s\n")

    def alive(self) -> bool:
        return not self.dead and not self.stopped

    def console(self) -> str:
        return self.spec.console_log.read_text()


class FakeGuest:
    def __init__(self, vm: FakeVM, host: "FakeHost") -> None:
        self.vm, self.host = vm, host

    def wait_ssh(self, timeout: float) -> float:
        if self.host.no_ssh:
            raise GuestError("x86_64: no SSH within 120s (no answer)")
        return 1.5

    def run(self, command: str, timeout: float) -> CommandResult:
        if "cpu/online" in command:
            return CommandResult(command, 0, self.host.cpus_online + "\n", "", 0.01)
        return CommandResult(command, 0, "", "", 0.01)


@dataclass
class FakeHost:
    """Fake builder, imager, booter and guest side, and what they were asked."""
    tmp: Path
    events: list[Any] = field(default_factory=list)
    fail: dict[str, BaseException] = field(default_factory=dict)
    no_ssh: bool = False
    cpus_online: str = "0-1"
    no_modes: bool = False
    die_after: str | None = None       # the guest dies after this check
    splat: bool = False
    vms: list[FakeVM] = field(default_factory=list)

    def _maybe_fail(self, what: str) -> None:
        if what in self.fail:
            raise self.fail[what]

    def build(self, tree: KernelTree, commit: str, arch: Any, fragments: list[Path],
              label: str) -> BuiltKernel:
        self.events.append("build")
        self._maybe_fail("build")
        d = self.tmp / "kbuild"
        d.mkdir(exist_ok=True)
        (d / ".config").write_text("CONFIG_CC_VERSION_TEXT=\"gcc (Debian 12.2.0-14) 12.2.0\"\n")
        (d / "build.log").write_text("make: done\n")
        return BuiltKernel(arch, d / "bzImage", d, "k123", d / "build.log", rebuilt=True)

    def has_selftest(self, tree: KernelTree, commit: str) -> bool:
        return True

    def build_selftest(self, tree: KernelTree, commit: str, kernel: BuiltKernel,
                       arch: Any) -> Path:
        self.events.append("selftest-build")
        self._maybe_fail("selftest-build")
        return self.tmp / "pt_reclaim"

    def prepare_peer(self, plan: PeerPlan, tree: KernelTree, commit: str, kernel: BuiltKernel,
                     arch: Any, out: Path) -> PreparedPeer:
        self.events.append("peer-build")
        self._maybe_fail("peer-build")
        swap = out / "swap.img"
        swap.write_bytes(b"")
        return PreparedPeer(plan, PeerBuild(self.tmp / "peer", ("mremap_test",), ()), swap)

    def build_image(self, arch: Any) -> GuestImage:
        self.events.append("image")
        self._maybe_fail("image")
        return GuestImage(arch, self.tmp / "base.cpio", "img1")

    def make_disk(self, path: Path) -> Path:
        path.write_bytes(b"")
        return path

    @contextmanager
    def boot(self, kernel: BuiltKernel, image: GuestImage, out: Path,
             drives: tuple[Path, ...] = (), keep: bool = False,
             icount: bool = False) -> Iterator[tuple[FakeVM, FakeGuest]]:
        self.events.append(("start-icount" if icount else "start", [d.name for d in drives]))
        self._maybe_fail("boot-icount" if icount else "boot")
        vm = FakeVM(out / ("console-icount.log" if icount else "console.log"))
        if self.splat and not icount:
            with open(vm.spec.console_log, "a") as f:
                f.write("[    3.1] BUG: Bad page state in process dontneed\n")
        self.vms.append(vm)
        try:
            yield vm, FakeGuest(vm, self)
        finally:
            vm.stopped = True
            self.events.append("stop-icount" if icount else "stop")

    def read_knobs(self, guest: FakeGuest) -> dict[str, str]:
        return {"scan_delay_ms": "1000"}

    def has_modes(self, guest: FakeGuest) -> bool:
        return not self.no_modes

    def setup_mode(self, guest: FakeGuest, mode: Mode, knobs: dict[str, str],
                   boot_knobs: dict[str, str]) -> str:
        return NO_MODES if self.no_modes else ""

    def _ran(self, guest: FakeGuest, name: str) -> None:
        self.events.append(name)
        self._maybe_fail(name)
        if name == self.die_after:
            guest.vm.dead = True

    def run_workload(self, guest: FakeGuest, w: Workload, mode: Mode, expectations: list[Any],
                     out: Path, console_log: Path, r: int) -> Check:
        name = case_name(w, mode, r)
        self._ran(guest, name)
        return Check(name, PASSED, 1.0, properties={"coverage": "1.000"})

    def run_overhead(self, guest: FakeGuest, plan: OverheadPlan, out: Path) -> Check:
        self._ran(guest, plan.check)
        return Check(plan.check, PASSED, properties={"median_ratio": "1.001"})

    def run_neighbour(self, guest: FakeGuest, plan: NeighbourPlan, knobs: dict[str, str],
                      out: Path) -> Check:
        self._ran(guest, plan.check)
        return Check(plan.check, PASSED)

    def run_selftest(self, guest: FakeGuest, binary: Path, console_log: Path,
                     out: Path) -> list[Check]:
        self._ran(guest, SELFTEST)
        return [Check(f"{SELFTEST}:reclaim_empty", PASSED), Check(SELFTEST, PASSED)]

    def run_peer(self, guest: FakeGuest, plan: PeerPlan, build: PeerBuild, arch: str,
                 swap: str | None, out: Path, record: Any, alive: Any) -> None:
        self._ran(guest, "peer")
        self.events.append(("peer-swap", swap))
        for n in check_names(plan, arch):
            record(Check(n, PASSED))

    def decode(self, excerpt: str, vmlinux: Path, srctree: Path, cross: str) -> str:
        return "decoded: " + excerpt

    def collaborators(self) -> Collaborators:
        names = ["build", "has_selftest", "build_selftest", "prepare_peer", "build_image",
                 "make_disk", "boot", "read_knobs", "has_modes", "setup_mode", "run_workload",
                 "run_overhead", "run_neighbour", "run_selftest", "run_peer", "decode"]
        return Collaborators(**{n: getattr(self, n) for n in names})


def make_plan(tmp: Path, **kw: Any) -> SuitePlan:
    plan = SuitePlan(KernelTree(tmp / "linux", "7.3.4 (test)", "t1", True), "c0ffee", ARCH,
                     (tmp / "base.config",), (SMALL, FILE), (NEVER, ALWAYS),
                     overhead=(WALL, ICOUNT), neighbours=(NEIGHBOUR,), peer=PEER)
    return replace(plan, **kw)


def run(tmp_path: Path, host: FakeHost | None = None,
        **plan: Any) -> tuple[dict[str, Check], Suite, FakeHost, RunDir]:
    host = host or FakeHost(tmp_path)
    suite = Suite("pt-reclaim", "x86_64", "7.3.4")
    rundir = RunDir(tmp_path / "results")
    run_suite(make_plan(tmp_path, **plan), suite, rundir, host.collaborators())
    return {c.name: c for c in suite.checks}, suite, host, rundir


CASES = [case_name(w, m) for m in (NEVER, ALWAYS) for w in (SMALL, FILE)]
PEER_CHECKS = check_names(PEER, "x86_64")
AFTER_BOOT = [*CASES, WALL.check, NEIGHBOUR.check, SELFTEST, *PEER_CHECKS, ICOUNT.check]


def test_everything_passes_in_order(tmp_path: Path) -> None:
    checks, suite, host, rundir = run(tmp_path)
    names = [c.name for c in suite.checks]
    assert names == ["build", "image", "boot", *CASES, WALL.check, NEIGHBOUR.check,
                     f"{SELFTEST}:reclaim_empty", SELFTEST, *PEER_CHECKS, ICOUNT.check,
                     "console"]
    assert all(c.status == PASSED for c in suite.checks), [(c.name, c.message)
                                                           for c in suite.checks]
    assert exit_of([suite]) == EXIT_OK
    # One boot for the suite, its guest gone before the icount guest starts;
    # the disk and the swap given to the first, and the swap told to the peer.
    starts = [e for e in host.events if isinstance(e, tuple) and e[0].startswith("start")]
    assert starts == [("start", ["disk.img", "swap.img"]), ("start-icount", [])]
    assert host.events.index("stop") < host.events.index(("start-icount", []))
    assert ("peer-swap", "/dev/vdb") in host.events
    assert not (rundir.suite_dir(suite) / "disk.img").exists()
    assert not (rundir.suite_dir(suite) / "swap.img").exists()
    boot = checks["boot"].properties
    assert boot["boot_to_ssh_s"] == "1.50" and boot["kernel_to_init_s"] == "0.61"
    assert boot["knob_scan_delay_ms"] == "1000" and boot["cpus_online"] == "0-1"
    assert checks["image"].properties == {"image_key": "img1", "selftest": "yes",
                                          "peer_built": "1"}
    assert checks["build"].properties["build_key"] == "k123"
    assert checks[ICOUNT.check].properties["icount_boot_to_ssh_s"] == "1.50"
    assert checks["console"].properties == {"splats": "0"}
    # Saved as it went: the result.json holds the same.
    saved = load_suite(rundir.suite_dir(suite) / "result.json")
    assert [c.name for c in saved.checks] == names
    assert all(c.started for c in saved.checks)


def test_series_that_did_not_apply_skips_everything(tmp_path: Path) -> None:
    checks, suite, host, _ = run(tmp_path, commit=None)
    assert host.events == []
    assert {c.status for c in suite.checks} == {SKIPPED}
    assert {c.message for c in suite.checks} == {"series did not apply"}
    assert {"build", "image", "boot", *CASES, "console"} <= set(checks)


def test_build_that_breaks_skips_what_needs_it(tmp_path: Path) -> None:
    log = tmp_path / "failed-build.log"
    log.write_text("mm/memory.c:12: error: expected ';'\n")
    host = FakeHost(tmp_path, fail={"build": CodeFailed("kbuild: exit status 2", str(log))})
    checks, suite, host, rundir = run(tmp_path, host)
    assert checks["build"].status == ERROR and checks["build"].cause == TEST
    assert "expected ';'" in (rundir.suite_dir(suite) / "build.log").read_text()
    for name in ["image", "boot", *AFTER_BOOT, "console"]:
        assert checks[name].status == SKIPPED and checks[name].message == "build failed", name
    assert host.events == ["build"]
    assert exit_of([suite]) == EXIT_CHECKS_FAILED


@pytest.mark.parametrize("stage, error, skipped, reason", [
    ("build", ToolMissing("ccache not found; install the Debian package ccache"),
     ["image", "boot", "console"], "build failed"),
    ("image", StageFailed("apt-get download busybox-static: exit status 100: "
                          "Temporary failure resolving 'deb.debian.org'"),
     ["boot", *CASES, "console"], "guest image failed"),
    ("boot", ToolMissing("dropbearkey not found; install the Debian package dropbear-bin"),
     AFTER_BOOT, "guest did not boot"),
    ("boot", GuestError("x86_64: QEMU exited at start: could not open kernel"),
     AFTER_BOOT, "guest did not boot"),
])
def test_host_errors_exit_2(tmp_path: Path, stage: str, error: Exception,
                            skipped: list[str], reason: str) -> None:
    """A missing ccache and a missing dropbearkey alike, an unreachable
    mirror, QEMU that does not start: the host's, exit 2, JUnit error."""
    checks, suite, _, _ = run(tmp_path, FakeHost(tmp_path, fail={stage: error}))
    assert checks[stage].status == ERROR and checks[stage].cause == HOST, checks[stage]
    assert checks[stage].message == str(error).splitlines()[0]
    for name in skipped:
        assert checks[name].status == SKIPPED and checks[name].message == reason, name
    assert exit_of([suite]) == EXIT_HARNESS_ERROR


def test_no_ssh_is_the_kernels_failure(tmp_path: Path) -> None:
    checks, suite, host, _ = run(tmp_path, FakeHost(tmp_path, no_ssh=True))
    assert checks["boot"].status == ERROR and checks["boot"].failure_cause == TEST
    assert "init up" in checks["boot"].detail            # the console's tail
    for name in AFTER_BOOT:
        assert checks[name].status == SKIPPED and checks[name].message == "guest did not boot"
    assert checks["console"].status == PASSED           # read whatever the boot came to
    assert "stop" in host.events
    assert exit_of([suite]) == EXIT_CHECKS_FAILED


def test_fewer_cpus_fails_the_boot(tmp_path: Path) -> None:
    checks, suite, _, _ = run(tmp_path, FakeHost(tmp_path, cpus_online="0"))
    assert checks["boot"].status == FAILED
    assert "1 CPU(s) online" in checks["boot"].message
    assert checks[CASES[0]].message == "guest runs fewer CPUs than it was given"
    assert exit_of([suite]) == EXIT_CHECKS_FAILED


def test_guest_gone_mid_suite(tmp_path: Path) -> None:
    """The guest dies under the first workload: every later step in that
    guest is an error "guest is gone"; the icount guest is a boot of its
    own and still runs; the console is read."""
    host = FakeHost(tmp_path, die_after=CASES[0])
    checks, suite, host, _ = run(tmp_path, host)
    assert checks[CASES[0]].status == PASSED
    for name in [*CASES[1:], WALL.check, NEIGHBOUR.check, SELFTEST, *PEER_CHECKS]:
        assert checks[name].status == ERROR and checks[name].message == "guest is gone", name
    assert checks[ICOUNT.check].status == PASSED
    assert checks["console"].status == PASSED
    assert exit_of([suite]) == EXIT_CHECKS_FAILED


def test_interrupt_unwinds_and_keeps_what_was_saved(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, fail={CASES[1]: KeyboardInterrupt()})
    suite = Suite("pt-reclaim", "x86_64", "7.3.4")
    rundir = RunDir(tmp_path / "results")
    with pytest.raises(KeyboardInterrupt):
        run_suite(make_plan(tmp_path), suite, rundir, host.collaborators())
    assert host.vms[0].stopped and host.events[-1] == "stop"
    assert not (rundir.suite_dir(suite) / "disk.img").exists()
    saved = json.loads((rundir.suite_dir(suite) / "result.json").read_text())
    assert [c["name"] for c in saved["checks"]] == ["build", "image", "boot", CASES[0]]


def test_selftest_that_does_not_build_skips_only_the_kselftest(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, fail={"selftest-build": CodeFailed("pt_reclaim.c: error")})
    checks, suite, _, _ = run(tmp_path, host)
    assert checks["selftest-build"].status == ERROR
    assert checks["selftest-build"].cause == TEST
    assert checks["image"].properties["selftest"] == "no"
    assert checks[SELFTEST].status == SKIPPED
    assert checks[SELFTEST].message == "selftest did not build"
    assert all(checks[n].status == PASSED for n in [*CASES, *PEER_CHECKS, "console"])


def test_peer_suite_that_does_not_build(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, fail={"peer-build": StageFailed("mkswap: not found")})
    checks, suite, host, _ = run(tmp_path, host)
    assert checks["peer-build"].status == ERROR and checks["peer-build"].cause == HOST
    assert all(checks[n].message == "peer suite did not build" for n in PEER_CHECKS)
    assert ("start", ["disk.img"]) in host.events          # no swap disk to give
    assert exit_of([suite]) == EXIT_HARNESS_ERROR


def test_internal_error_in_a_stage(tmp_path: Path) -> None:
    """A bug in one stage is that stage's error (the host's, with the
    traceback), and the suite goes on."""
    host = FakeHost(tmp_path, fail={WALL.check: ValueError("bad median")})
    checks, suite, _, _ = run(tmp_path, host)
    c = checks[WALL.check]
    assert c.status == ERROR and c.cause == HOST
    assert c.message == "internal error: ValueError: bad median"
    assert "Traceback" in c.detail
    assert checks[NEIGHBOUR.check].status == PASSED
    assert exit_of([suite]) == EXIT_HARNESS_ERROR


def test_a_stage_error_skips_the_rest_of_its_checks(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, fail={CASES[1]: StageFailed("guest upload: no space")})
    checks, _, _, _ = run(tmp_path, host)
    assert checks[CASES[0]].status == PASSED
    assert checks[CASES[1]].status == ERROR and checks[CASES[1]].cause == HOST
    assert all(checks[n].status == SKIPPED and checks[n].message == "workloads failed"
               for n in CASES[2:])
    assert checks[WALL.check].status == PASSED


def test_kernel_without_modes(tmp_path: Path) -> None:
    checks, suite, _, _ = run(tmp_path, FakeHost(tmp_path, no_modes=True))
    for name in [*CASES, WALL.check, NEIGHBOUR.check, ICOUNT.check]:
        assert checks[name].status == SKIPPED and checks[name].message == NO_MODES, name
    assert exit_of([suite]) == EXIT_OK


def test_icount_guest_that_does_not_start(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, fail={"boot-icount": GuestError("QEMU exited at start")})
    checks, suite, _, _ = run(tmp_path, host)
    c = checks[ICOUNT.check]
    assert c.status == ERROR and c.cause == HOST and c.message.startswith("icount guest: ")
    assert exit_of([suite]) == EXIT_HARNESS_ERROR


def test_splat_in_console_is_decoded(tmp_path: Path) -> None:
    checks, suite, _, rundir = run(tmp_path, FakeHost(tmp_path, splat=True))
    c = checks["console"]
    assert c.status == FAILED and c.properties == {"splats": "1"}
    assert "of console.log" in c.message
    assert c.detail.startswith("decoded: ")
    assert (rundir.suite_dir(suite) / "splats-decoded.txt").exists()
    assert exit_of([suite]) == EXIT_CHECKS_FAILED


def test_a_plan_without_selftest_peer_or_benchmarks(tmp_path: Path) -> None:
    host = FakeHost(tmp_path)
    host.has_selftest = lambda tree, commit: False  # type: ignore[method-assign]
    checks, suite, host, _ = run(tmp_path, host, peer=None, overhead=(), neighbours=(),
                                 workloads=(SMALL,), repeat=2)
    assert [c.name for c in suite.checks] == [
        "build", "image", "boot", case_name(SMALL, NEVER), case_name(SMALL, NEVER, 1),
        case_name(SMALL, ALWAYS), case_name(SMALL, ALWAYS, 1), "console"]
    assert checks["image"].properties == {"image_key": "img1", "selftest": "no"}
    assert ("start", []) in host.events
