"""One suite: build, image, boot and workloads for one (kernel, arch).

Every step becomes a Check saved as soon as it ends; a step that fails
marks the steps that depend on it as skipped, never as passed.
"""

import json
import re
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from . import console, figures
from .arches import Arch
from .catalog import Workload
from .errors import GuestError, HarnessError
from .guest import Guest
from .image import build_image, run_overlay, write_run_initrd
from .kbuild import BuiltKernel, build
from .keys import make_keys
from .parsers import parse_records
from .progress import say, step
from .results import ERROR, FAILED, PASSED, SKIPPED, Check, RunDir, Suite
from .source import KernelTree
from .vm import VM, VMSpec, choose_accel

SSH_TIMEOUT = 120.0


@dataclass(frozen=True)
class SuitePlan:
    tree: KernelTree
    commit: str | None          # None: the series did not apply
    arch: Arch
    fragments: tuple[Path, ...]
    workloads: tuple[Workload, ...]


def _timed(suite: Suite, run: RunDir, name: str) -> "_CheckTimer":
    return _CheckTimer(suite, run, name)


class _CheckTimer:
    """Times a check and saves the suite when it is recorded."""

    def __init__(self, suite: Suite, run: RunDir, name: str) -> None:
        self.suite, self.run, self.name = suite, run, name
        self.start = time.monotonic()

    def record(self, status: str, message: str = "", detail: str = "",
               properties: dict[str, str] | None = None) -> Check:
        c = self.suite.add(Check(self.name, status, time.monotonic() - self.start,
                                 message, detail, properties or {}))
        self.run.save_suite(self.suite)
        return c


def skip_rest(suite: Suite, run: RunDir, names: list[str], why: str) -> None:
    for n in names:
        suite.add(Check(n, SKIPPED, message=why))
    run.save_suite(suite)


def run_suite(plan: SuitePlan, suite: Suite, run: RunDir) -> None:
    later = ["boot", *(f"workload:{w.name}" for w in plan.workloads), "console"]
    if plan.commit is None:
        skip_rest(suite, run, ["build", *later], "series did not apply")
        return
    out = run.suite_dir(suite)
    t = _timed(suite, run, "build")
    try:
        kernel = build(plan.tree, plan.commit, plan.arch, list(plan.fragments), suite.kernel)
    except HarnessError as e:
        _copy_log(Path(getattr(e, "log", "") or "/nonexistent"), out / "build.log")
        t.record(ERROR, str(e).splitlines()[0], str(e))
        skip_rest(suite, run, later, "build failed")
        return
    _copy_log(kernel.log, out / "build.log")
    t.record(PASSED, properties={"rebuilt": str(kernel.rebuilt), "build_key": kernel.key})

    t = _timed(suite, run, "image")
    try:
        image = build_image(plan.arch)
    except HarnessError as e:
        t.record(ERROR, str(e).splitlines()[0], str(e))
        skip_rest(suite, run, later, "guest image failed")
        return
    t.record(PASSED, properties={"image_key": image.key})
    keys = make_keys()
    initrd = write_run_initrd(image, run_overlay(keys.host_key_dropbear,
                                                 keys.client_public_line),
                              out / "initrd.cpio.gz")
    accel = choose_accel(plan.arch, kernel.image, out)
    spec = VMSpec(plan.arch, kernel.image, initrd, out / "console.log")
    with VM(spec, accel) as vm:
        _boot_and_run(plan, suite, run, vm, Guest(vm, keys), kernel)
    initrd.unlink(missing_ok=True)
    _console_check(suite, run, spec.console_log)


def _boot_and_run(plan: SuitePlan, suite: Suite, run: RunDir, vm: VM, guest: Guest,
                  kernel: BuiltKernel) -> None:
    t = _timed(suite, run, "boot")
    try:
        with step(f"boot {suite.name} ({vm.accel})"):
            seconds = guest.wait_ssh(SSH_TIMEOUT)
    except GuestError as e:
        t.record(ERROR, str(e), console.tail(vm.spec.console_log))
        skip_rest(suite, run, [f"workload:{w.name}" for w in plan.workloads],
                  "guest did not boot")
        return
    props = {"boot_to_ssh_s": f"{seconds:.2f}", "accel": vm.accel}
    m = re.search(r"pt-harness: init up ([\d.]+)s", vm.console())
    if m:
        props["kernel_to_init_s"] = m.group(1)
    t.record(PASSED, properties=props)
    say(f"{suite.name}: SSH up {seconds:.1f}s after QEMU start")
    try:
        for i, w in enumerate(plan.workloads):
            if not vm.alive():
                skip_rest(suite, run, [f"workload:{x.name}" for x in plan.workloads[i:]],
                          "guest is gone")
                return
            _run_workload(w, suite, run, vm, guest)
    finally:
        guest.close()


def _run_workload(w: Workload, suite: Suite, run: RunDir, vm: VM, guest: Guest) -> None:
    t = _timed(suite, run, f"workload:{w.name}")
    cmd = " ".join(shlex.quote(a) for a in w.guest_argv())
    say(f"{suite.name}: workload {w.name}")
    try:
        r = guest.run(cmd, timeout=w.timeout)
    except GuestError as e:
        t.record(ERROR, str(e), console.tail(vm.spec.console_log))
        return
    records = parse_records(r.stdout)
    raw = {"workload": w.name, "command": cmd, "exit_status": r.exit_status,
           "timed_out": r.timed_out, "seconds": r.seconds, "records": records,
           "stdout": r.stdout, "stderr": r.stderr}
    (run.suite_dir(suite) / f"samples-{w.name}.json").write_text(json.dumps(raw, indent=2))
    if r.timed_out:
        t.record(ERROR, f"workload {w.name} timed out after {w.timeout:.0f}s",
                 console.tail(vm.spec.console_log))
        return
    failed = [rec.get("what", "") for rec in records if rec["phase"] == "check-failed"]
    if r.exit_status != 0 or failed:
        t.record(FAILED, f"workload {w.name} exited {r.exit_status}"
                 + (f": {failed[0]}" if failed else ""), r.stdout[-3000:] + r.stderr[-2000:])
        return
    try:
        fig = figures.compute(records)
    except KeyError as e:
        t.record(FAILED, str(e), r.stdout[-3000:])
        return
    problems = plausibility(fig)
    t.record(FAILED if problems else PASSED, "; ".join(problems), "", fig.properties())


def plausibility(fig: figures.Figures) -> list[str]:
    """Sanity of the figures themselves: the workload must have made tables
    and the guest-wide counter must have seen them."""
    out = []
    if fig.populated_pagetables_kb <= fig.baseline_pagetables_kb:
        out.append("PageTables did not grow while populating")
    if fig.tables_populated <= 0:
        out.append("VmPTE did not grow while populating")
    return out


def _console_check(suite: Suite, run: RunDir, log: Path) -> None:
    t = _timed(suite, run, "console")
    splats = console.scan_file(log)
    if splats:
        first = splats[0]
        t.record(FAILED, f"{len(splats)} splat(s) in console, first: {first.kind} at line "
                 f"{first.line_no}", "\n\n".join(s.excerpt for s in splats[:3]),
                 {"splats": str(len(splats))})
    else:
        t.record(PASSED, properties={"splats": "0"})


def _copy_log(src: Path, dst: Path) -> None:
    try:
        shutil.copyfile(src, dst)
    except OSError:
        pass
