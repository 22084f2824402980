"""Modes and expected outcomes, both data (data/modes.toml,
data/expectations.toml), and the verdict that compares figures with them."""

import functools
from dataclasses import dataclass
from pathlib import Path

from .. import schema
from ..errors import BadInput
from .figures import Figures

DATA = schema.DATA
BASE, PATCHED = "base", "patched"


@dataclass(frozen=True)
class Mode:
    name: str
    kernel: str                     # BASE or PATCHED
    description: str
    sysfs: str | None = None        # value for /sys/kernel/mm/pt_reclaim/enabled
    prctl: str | None = None        # ptsample --prctl value
    workload_args: tuple[str, ...] = ()
    knobs: tuple[tuple[str, str], ...] = ()   # pt_reclaim sysctls; --knob overrides
    # Write back the knob values the kernel had right after boot: the other
    # modes' test knobs persist in the guest, so "the defaults" must be
    # restored, and read from the kernel rather than written down here.
    default_knobs: bool = False
    # Run only the workloads whose catalog entry lists this mode.
    opt_in: bool = False
    colour: str | None = None       # its line in the charts (svgchart.py)


@dataclass(frozen=True)
class Expectation:
    workload: str
    modes: tuple[str, ...]
    min_coverage: float | None
    max_coverage: float | None
    why: str
    max_vmpte_kb: int | None = None       # VmPTE at the final record
    max_reclaim_ms: float | None = None   # from emptied to reclaimed, target reached


def load_modes(path: Path = DATA / "modes.toml") -> dict[str, Mode]:
    return {name: Mode(name, m.kernel, m.description, m.sysfs, m.prctl,
                       tuple(m.workload_args), tuple(m.knobs.items()), m.default_knobs,
                       m.opt_in, m.colour)
            for name, m in schema.load(path, schema.ModesFile).items()}


def load_expectations(path: Path = DATA / "expectations.toml") -> list[Expectation]:
    return [Expectation(e.workload, tuple(e.modes), e.min_coverage, e.max_coverage, e.why,
                        e.max_vmpte_kb, e.max_reclaim_ms)
            for e in schema.load(path, schema.ExpectationsFile).expect]


@functools.cache
def pagetables_noise_kb(path: Path = DATA / "expectations.toml") -> int:
    """How far the guest-wide PageTables moves on its own ([plausibility])."""
    p = schema.load(path, schema.ExpectationsFile).plausibility
    if p is None:
        raise BadInput(f"{schema.shown(path)}: plausibility: missing key")
    return p.pagetables_noise_kb


def knob_names(path: Path = DATA / "knobs.toml") -> tuple[str, ...]:
    """The scanner knobs `--knob` may set (data/knobs.toml)."""
    return tuple(schema.load(path, schema.KnobsFile).names)


def modes_for(kernel: str, wanted: list[str] | None = None,
              modes: dict[str, Mode] | None = None) -> list[Mode]:
    """The modes a kernel of this kind runs, optionally narrowed to `wanted`."""
    all_modes = modes if modes is not None else load_modes()
    if wanted:
        unknown = [m for m in wanted if m not in all_modes]
        if unknown:
            raise BadInput(f"unknown mode {', '.join(unknown)}; known: {', '.join(all_modes)}")
    return [m for m in all_modes.values()
            if m.kernel == kernel and (not wanted or m.name in wanted)]


def judge(workload: str, mode: str, fig: Figures,
          expectations: list[Expectation]) -> list[str]:
    """Every way the figures miss an expectation for (workload, mode)."""
    problems = []
    for e in expectations:
        if e.workload != workload or mode not in e.modes:
            continue
        if e.min_coverage is not None and fig.coverage < e.min_coverage:
            problems.append(f"coverage {fig.coverage:.2%} below {e.min_coverage:.0%}"
                            f" ({fig.tables_freed}/{fig.tables_populated} tables freed)")
        if e.max_coverage is not None and fig.coverage > e.max_coverage:
            problems.append(f"coverage {fig.coverage:.2%} above {e.max_coverage:.0%}"
                            f" ({fig.tables_freed}/{fig.tables_populated} tables freed)")
        problems += _judge_time(fig, e)
        if e.max_vmpte_kb is not None and fig.final_vmpte_kb > e.max_vmpte_kb:
            problems.append(f"VmPTE {fig.final_vmpte_kb} kB at the end, over"
                            f" {e.max_vmpte_kb} kB")
    return problems


def _judge_time(fig: Figures, e: Expectation) -> list[str]:
    """A miss of max_reclaim_ms, said as a reviewer would read it."""
    if e.max_reclaim_ms is None:
        return []
    limit = f"{e.max_reclaim_ms / 1000:g} s"
    if fig.reclaim_ms is None:
        return [f"no reclaim time (the workload did not wait for reclaim; bound {limit})"]
    if fig.reclaim_timed_out:
        return [f"not reclaimed within {fig.reclaim_ms / 1000:.0f} s of emptying"
                f" (bound {limit}): VmPTE {fig.emptied_vmpte_kb} -> {fig.final_vmpte_kb} kB,"
                f" {fig.tables_left} tables left"]
    if fig.reclaim_ms > e.max_reclaim_ms:
        return [f"reclaimed in {fig.reclaim_ms / 1000:.1f} s of emptying, over {limit}"]
    return []
