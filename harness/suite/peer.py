"""Running the peer suite in a booted guest: the kernel's own mm selftests,
each program once in mode `never` and once in mode `always` (the scanner
at the pace data/peer.toml gives), one after the other, so both runs of a
program see the same guest; the verdict is peer_verdict's.

Before the first program the guest is given what the tests need where it
is cheap (swap on a disk of its own, huge pages, debugfs); what it got is
recorded on the whole check, so a case that fails in both modes for want
of it reads as the environment's.
"""

import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import proc
from ..arches import Arch
from ..errors import GuestError, HarnessError
from ..guest.guest import Guest
from ..kernel.kbuild import BuiltKernel
from ..kernel.selftests import PeerBuild, build_peer
from ..kernel.source import KernelTree
from ..results import ERROR, SKIPPED, Check
from .peer_plan import PeerMode, PeerPlan, PeerProgram
from .peer_verdict import (
    CHECK_PREFIX,
    WHOLE_CHECK,
    ModeRun,
    always_only,
    judge_program,
    not_built,
    whole,
)
from .workload_runner import KNOB_DIR, NO_MODES, SYSFS_MODE, has_modes, sysfs_command

GUEST_DIR = "/tmp/peer-mm"
RAW_DIR = "peer-mm"         # in the suite directory: every program's raw output
SETUP_TIMEOUT = 60.0


@dataclass(frozen=True)
class PreparedPeer:
    """The peer suite of one suite, built and with its swap disk made."""
    plan: PeerPlan
    build: PeerBuild
    swap: Path | None           # a raw disk for the guest, None: no swap asked for


def check_names(plan: PeerPlan, arch: str) -> list[str]:
    return [*(CHECK_PREFIX + p.name for p in plan.for_arch(arch)), WHOLE_CHECK]


def prepare_peer(plan: PeerPlan, tree: KernelTree, commit: str, kernel: BuiltKernel,
                 arch: Arch, suite_dir: Path) -> PreparedPeer:
    """Build the programs (cached) and make the swap disk, host side."""
    build = build_peer(tree, commit, kernel, arch, plan.binaries(arch.name))
    shutil.copyfile(build.log, suite_dir / "peer-build.log")
    swap = (make_swap_disk(suite_dir / "swap.img", plan.environment.swap_mb)
            if plan.environment.swap_mb else None)
    return PreparedPeer(plan, build, swap)


def make_swap_disk(path: Path, size_mb: int) -> Path:
    """A sparse raw image made swap on the host (util-linux mkswap works on
    a plain file, without root); the guest only runs swapon on it."""
    mkswap = shutil.which("mkswap") or shutil.which("mkswap", path="/usr/sbin:/sbin")
    if mkswap is None:
        raise HarnessError("mkswap not found (util-linux): no swap for the peer suite")
    with open(path, "wb") as f:
        f.truncate(size_mb << 20)
    proc.run([mkswap, "-L", "ptswap", str(path)], what=f"mkswap {path}", timeout=60)
    return path


def guest_device(drives: tuple[Path, ...], drive: Path) -> str:
    """virtio-blk disks appear as vda, vdb, ... in the order QEMU got them."""
    return "/dev/vd" + "abcdefgh"[drives.index(drive)]


def _sh(guest: Guest, command: str) -> tuple[int, str]:
    r = guest.run(command, timeout=SETUP_TIMEOUT)
    return r.exit_status, (r.stdout + r.stderr).strip()


def prepare(guest: Guest, plan: PeerPlan, swap_device: str | None) -> dict[str, str]:
    """Give the guest swap, huge pages and debugfs; say what it got."""
    got: dict[str, str] = {"peer_size": plan.size}
    rc, out = _sh(guest, "grep -qw debugfs /proc/filesystems || exit 3; "
                         "grep -q ' /sys/kernel/debug ' /proc/mounts || "
                         "mount -t debugfs debugfs /sys/kernel/debug")
    got["debugfs"] = {0: "mounted", 3: "not in the kernel (CONFIG_DEBUG_FS)"}.get(rc, out[:200])
    if swap_device is None:
        got["swap"] = "none asked for" if not plan.environment.swap_mb else "no swap disk"
    else:
        q = shlex.quote(swap_device)
        rc, out = _sh(guest, f"test -e /proc/swaps || exit 3; swapon {q} && "
                             f"grep SwapTotal /proc/meminfo")
        got["swap"] = {0: f"{swap_device}: {out}", 3: "not in the kernel (CONFIG_SWAP)"}.get(
            rc, f"swapon {swap_device} failed: {out[:200]}")
    if plan.environment.nr_hugepages:
        rc, out = _sh(guest, f"echo {plan.environment.nr_hugepages} > /proc/sys/vm/nr_hugepages"
                             "; cat /proc/sys/vm/nr_hugepages")
        got["nr_hugepages"] = out[:100] if rc == 0 else f"failed: {out[:200]}"
    rc, out = _sh(guest, f"rm -rf {GUEST_DIR} && mkdir -p {GUEST_DIR} && "
                         "grep MemTotal /proc/meminfo")
    got["memory"] = out
    return got


def mode_knobs(guest: Guest, mode: PeerMode) -> tuple[tuple[str, str], ...]:
    """The mode's knobs, and the first budget sysctl of its list that the
    kernel has (v2 names first, then v1's)."""
    if not mode.budget:
        return mode.knobs
    have = [b for b in mode.budget
            if guest.run(f"test -e {KNOB_DIR}/pt_reclaim_{b[0]}",
                         timeout=SETUP_TIMEOUT).exit_status == 0]
    if not have:
        names = ", ".join(f"pt_reclaim_{k}" for k, _ in mode.budget)
        raise GuestError(f"mode {mode.name}: the kernel has none of {names}")
    return (*mode.knobs, have[0])


def mode_commands(mode: PeerMode, knobs: tuple[tuple[str, str], ...]) -> list[str]:
    """The writes that put the guest in `mode`, each checked."""
    cmds = [sysfs_command(mode.sysfs)]
    for knob, value in knobs:
        path = f"{KNOB_DIR}/pt_reclaim_{knob}"
        cmds.append(f"echo {shlex.quote(value)} > {path} && "
                    f"test \"$(cat {path})\" = {shlex.quote(value)}")
    return cmds


def set_mode(guest: Guest, cmds: list[str]) -> None:
    for c in cmds:
        r = guest.run(c, timeout=SETUP_TIMEOUT)
        if r.exit_status != 0:
            raise GuestError(f"`{c}` failed: {r.stderr.strip()}")


def run_program(guest: Guest, prog: PeerProgram, mode: str, out_dir: Path,
                suffix: str = "") -> ModeRun:
    """One run in a fresh working directory (some programs write files in
    it); `exec`, so the guest's timeout kills the program itself."""
    work = f"{GUEST_DIR}/work"
    argv = " ".join(shlex.quote(a) for a in (f"{GUEST_DIR}/{prog.program}", *prog.args))
    try:
        r = guest.run(f"rm -rf {work} && mkdir -p {work} && cd {work} && exec {argv} 2>&1",
                      timeout=prog.timeout)
    except GuestError as e:
        return ModeRun(mode, -1, "", 0.0, error=str(e))
    (out_dir / f"{prog.name}-{mode}{suffix}.log").write_text(
        f"# {argv}\n# exit {r.exit_status}{' (timed out)' if r.timed_out else ''}, "
        f"{r.seconds:.1f}s\n{r.stdout}")
    return ModeRun(mode, r.exit_status, r.stdout, r.seconds, r.timed_out, prog.timeout)


def run_peer(guest: Guest, plan: PeerPlan, build: PeerBuild, arch: str, swap_device: str | None,
             suite_dir: Path, save: Callable[[Check], object], alive: Callable[[], bool]) -> None:
    """Every program of the plan for `arch`, both modes; each check saved as
    it is made, the whole one last."""
    programs = plan.for_arch(arch)
    names = [CHECK_PREFIX + p.name for p in programs]
    try:
        if not has_modes(guest):
            for n in [*names, WHOLE_CHECK]:
                save(Check(n, SKIPPED, message=NO_MODES))
            return
        setup = prepare(guest, plan, swap_device)
        knobs = {m.name: mode_knobs(guest, m) for m in plan.modes}
        modes = {m.name: mode_commands(m, knobs[m.name]) for m in plan.modes}
        saved_mode = guest.run(f"cat {SYSFS_MODE}", timeout=SETUP_TIMEOUT).stdout
    except GuestError as e:
        for n in [*names, WHOLE_CHECK]:
            save(Check(n, ERROR, message=f"peer suite set-up: {e}"))
        return
    for m in plan.modes:
        if knobs[m.name]:
            setup[f"{m.name}_knobs"] = " ".join(f"{k}={v}" for k, v in knobs[m.name])
    setup["left_out"] = ", ".join(k for k, _ in plan.left_out)
    raw = suite_dir / RAW_DIR
    raw.mkdir(exist_ok=True)
    checks = []
    for prog in programs:
        proc.check_interrupted()
        checks.append(_one_program(guest, prog, build, modes, raw, alive, plan.confirm_runs))
        save(checks[-1])
    try:        # put back what the guest had, for whatever runs after
        mode = saved_mode.split("[", 1)[1].split("]", 1)[0]
        guest.run(sysfs_command(mode), timeout=SETUP_TIMEOUT)
    except (GuestError, IndexError):
        pass
    setup["built"] = str(len(build.built))
    if build.failed:
        setup["not_built"] = ", ".join(build.failed)
    save(whole(checks, setup))


def _one_program(guest: Guest, prog: PeerProgram, build: PeerBuild,
                 modes: dict[str, list[str]], raw: Path, alive: Callable[[], bool],
                 confirm_runs: int) -> Check:
    if prog.program not in build.built:
        return not_built(prog.name, prog.program)
    if not alive():
        return Check(CHECK_PREFIX + prog.name, ERROR, message="guest is gone")
    runs: dict[str, ModeRun] = {}
    reruns: list[tuple[ModeRun, ModeRun]] = []
    try:
        guest.put(build.binary(prog.program).read_bytes(), f"{GUEST_DIR}/{prog.program}",
                  mode="0755")
        for mode, cmds in modes.items():
            set_mode(guest, cmds)
            runs[mode] = run_program(guest, prog, mode, raw)
            proc.check_interrupted()
        # A case failing only under always is run again in both modes: one
        # failing under never too in any run is flaky, not the series'.
        while len(reruns) < confirm_runs and always_only(
                [runs["never"], *(r[0] for r in reruns)],
                [runs["always"], *(r[1] for r in reruns)]):
            pair = []
            for mode, cmds in modes.items():
                set_mode(guest, cmds)
                pair.append(run_program(guest, prog, mode, raw, f"-{len(reruns) + 2}"))
                proc.check_interrupted()
            reruns.append((pair[0], pair[1]))
        guest.run(f"rm -rf {GUEST_DIR}/{shlex.quote(prog.program)} {GUEST_DIR}/work",
                  timeout=SETUP_TIMEOUT)
    except GuestError as e:
        for mode in modes:
            runs.setdefault(mode, ModeRun(mode, -1, "", 0.0, error=str(e)))
    return judge_program(prog.name, runs["never"], runs["always"], reruns)
