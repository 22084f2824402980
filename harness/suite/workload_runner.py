"""Running one workload in one mode in a booted guest, and its verdict.

The workload runs under the guest-side sampler (ptsample), which records
PageTables, the workload's VmPTE and the pt_reclaim counters every 20 ms;
the samples and the workload's own phase records are saved raw, so any
report can be rebuilt from them.
"""

import json
import shlex
from pathlib import Path

from ..errors import GuestError
from ..guest import console
from ..guest.guest import Guest
from ..results import ERROR, FAILED, PASSED, SKIPPED, Check
from . import figures
from .catalog import GUEST_BIN, Workload
from .figures import parse_records
from .modes import Expectation, Mode, judge, pagetables_noise_kb

SAMPLE_INTERVAL_MS = 20
SYSFS_MODE = "/sys/kernel/mm/pt_reclaim/enabled"
KNOB_DIR = "/proc/sys/vm"


def case_name(w: Workload, mode: Mode, round_: int = 0) -> str:
    """workload:NAME[MODE], with #N from the second round of a --repeat."""
    return f"workload:{w.name}[{mode.name}]" + (f"#{round_ + 1}" if round_ else "")


def guest_command(w: Workload, mode: Mode, samples: str) -> str:
    argv = [f"{GUEST_BIN}/ptsample", "--interval-ms", str(SAMPLE_INTERVAL_MS),
            "--out", samples]
    if mode.prctl:
        argv += ["--prctl", mode.prctl]
    argv += ["--", *w.guest_argv()]
    if w.reclaim:
        argv += list(mode.workload_args)
    return " ".join(shlex.quote(a) for a in argv)


NO_MODES = "kernel has no /sys/kernel/mm/pt_reclaim (MADV_PT_RECLAIM only)"


def has_modes(guest: Guest) -> bool:
    """Whether the guest's kernel has the scanner and its modes."""
    return guest.run(f"test -e {SYSFS_MODE}", timeout=30).exit_status == 0


KNOB_PREFIX = "pt_reclaim_"


def read_knobs(guest: Guest) -> dict[str, str]:
    """Every /proc/sys/vm/pt_reclaim_* knob and its value, by the name
    modes.toml uses (the part after the prefix): read once right after
    boot, these are the kernel's defaults, whatever the series calls them."""
    r = guest.run(f"for f in {KNOB_DIR}/{KNOB_PREFIX}*; do [ -f \"$f\" ] && "
                  f"echo \"${{f#{KNOB_DIR}/{KNOB_PREFIX}}}=$(cat \"$f\")\"; done; true",
                  timeout=30)
    return parse_knobs(r.stdout)


def parse_knobs(text: str) -> dict[str, str]:
    """`name=value` lines, as read_knobs prints them."""
    out = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() and value.strip():
            out[name.strip()] = value.strip()
    return out


def sysfs_command(value: str) -> str:
    """The guest command that puts the kernel in mode `value` (a mode's
    `sysfs` in modes.toml) and fails unless the kernel took it."""
    return (f"echo {shlex.quote(value)} > {SYSFS_MODE} && "
            f"grep -q {shlex.quote('[' + value + ']')} {SYSFS_MODE}")


def setup_mode(guest: Guest, mode: Mode, knobs: dict[str, str],
               boot_knobs: dict[str, str] | None = None) -> str:
    """Put the guest in `mode`; return "" or what went wrong (NO_MODES when
    the kernel carries MADV_PT_RECLAIM but not the scanner and its modes).
    `boot_knobs` are the values read_knobs() found right after boot, which
    a default_knobs mode writes back."""
    if mode.kernel == "patched" and not has_modes(guest):
        # The synchronous advice needs no mode; everything else does.
        return "" if mode.sysfs == "madvise" and not mode.prctl else NO_MODES
    if mode.default_knobs and not boot_knobs:
        return (f"mode {mode.name} wants the kernel's default knobs, but none "
                f"({KNOB_DIR}/{KNOB_PREFIX}*) were read at boot")
    mode_knobs = dict(boot_knobs or {}) if mode.default_knobs else dict(mode.knobs)
    cmds = []
    if mode.sysfs:
        cmds.append(sysfs_command(mode.sysfs))
    if mode.kernel == "patched":
        for knob, value in {**mode_knobs, **knobs}.items():
            path = f"{KNOB_DIR}/{KNOB_PREFIX}{knob}"
            cmds.append(f"echo {shlex.quote(value)} > {path} && "
                        f"test \"$(cat {path})\" = {shlex.quote(value)}")
    for c in cmds:
        r = guest.run(c, timeout=30)
        if r.exit_status != 0:
            return f"could not set up mode {mode.name}: `{c}` failed: {r.stderr.strip()}"
    return ""


def run_workload(guest: Guest, w: Workload, mode: Mode, expectations: list[Expectation],
                 out_dir: Path, console_log: Path, round_: int = 0) -> Check:
    name = case_name(w, mode, round_)
    samples_path = "/tmp/pt-samples.jsonl"
    cmd = guest_command(w, mode, samples_path)
    try:
        r = guest.run(cmd, timeout=w.timeout)
        samples_raw = guest.run(f"cat {samples_path}; rm -f {samples_path}", timeout=60).stdout
    except GuestError as e:
        return Check(name, ERROR, message=str(e), detail=console.tail(console_log))
    records = parse_records(r.stdout)
    samples = [json.loads(ln) for ln in samples_raw.splitlines() if ln.startswith("{")]
    raw = {"workload": w.name, "mode": mode.name, "command": cmd,
           "exit_status": r.exit_status, "timed_out": r.timed_out, "seconds": r.seconds,
           "records": records, "samples": samples, "stdout": r.stdout, "stderr": r.stderr}
    suffix = f"-{round_ + 1}" if round_ else ""
    (out_dir / f"samples-{w.name}-{mode.name}{suffix}.json").write_text(json.dumps(raw, indent=1))
    check = verdict(name, w, mode, r.exit_status, r.timed_out, records, r.stdout + r.stderr,
                    expectations, console_log, r.seconds)
    if check.properties:
        check.properties.update(counter_deltas(samples))
        check.properties.update({f"published_{k}": v for k, v in w.published})
        check.properties.update(cpu_figures(records))
    return check


def cpu_figures(records: list[dict]) -> dict[str, str]:  # type: ignore[type-arg]
    """The CPUs a racing workload's threads really ran on, as it reports
    them (cpus_seen of cpus_online): a race on one CPU tested nothing."""
    out = {}
    for r in records:
        for key in ("cpus_online", "cpus_seen"):
            if key in r:
                out[key] = str(r[key])
    return out


def counter_deltas(samples: list[dict]) -> dict[str, str]:  # type: ignore[type-arg]
    """How far /proc/vmstat's pt_reclaim_{scanned,freed} moved while the
    workload ran (the sampler writes -1 where the kernel has no counters):
    tables the series' paths freed, told apart from MADV_DONTNEED's."""
    out = {}
    for key in ("scanned", "freed"):
        values = [int(s[key]) for s in samples if isinstance(s.get(key), int) and s[key] >= 0]
        if len(values) >= 2:
            out[f"vmstat_pt_reclaim_{key}"] = str(values[-1] - values[0])
    return out


def verdict(name: str, w: Workload, mode: Mode, exit_status: int, timed_out: bool,
            records: list[dict], output: str,  # type: ignore[type-arg]
            expectations: list[Expectation], console_log: Path, seconds: float) -> Check:
    """Pure: the check for one workload run from what it printed."""
    if timed_out:
        return Check(name, ERROR, seconds, f"{w.name} timed out after {w.timeout:.0f}s",
                     console.tail(console_log))
    skipped = [r for r in records if r["phase"] == "skipped"]
    if exit_status == 0 and skipped:
        return Check(name, SKIPPED, seconds, str(skipped[0].get("why", "skipped")))
    failed = [str(r.get("what", "")) for r in records if r["phase"] == "check-failed"]
    if exit_status != 0 or failed:
        why = failed[0] if failed else f"exit status {exit_status}"
        return Check(name, FAILED, seconds, f"{w.name}: {why}", output[-4000:])
    try:
        fig = figures.compute(records)
    except KeyError:
        # A correctness workload without table figures: its exit status is
        # the verdict, unless data expects figures of it.
        if any(e.workload == w.name and mode.name in e.modes for e in expectations):
            return Check(name, FAILED, seconds, f"{w.name} printed no table figures")
        return Check(name, PASSED, seconds)
    problems = plausibility(fig) + judge(w.name, mode.name, fig, expectations)
    return Check(name, FAILED if problems else PASSED, seconds, "; ".join(problems), "",
                 fig.properties())


def plausibility(fig: figures.Figures, noise_kb: int | None = None) -> list[str]:
    """The figures must show the workload made tables and the guest-wide
    counter saw them; anything else means the measurement is broken.
    `noise_kb`: how far PageTables moves on its own (default: data,
    expectations.toml [plausibility])."""
    noise = pagetables_noise_kb() if noise_kb is None else noise_kb
    out = []
    if fig.baseline_vmpte_kb <= 0:
        out.append("VmPTE unreadable (no VmPTE line in /proc/self/status)")
    if fig.tables_populated <= 0:
        out.append("VmPTE did not grow while populating")
    # By what VmPTE showed, not by the tables made: a workload whose tables
    # come and go as it makes them (rfc-loop) may never hold many at once.
    if fig.populated_vmpte_kb - fig.baseline_vmpte_kb >= noise and \
            fig.populated_pagetables_kb <= fig.baseline_pagetables_kb:
        out.append("PageTables did not grow while populating")
    return out
