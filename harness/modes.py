"""Modes and expected outcomes, both data (data/modes.toml,
data/expectations.toml), and the verdict that compares figures with them."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInput
from .figures import Figures

DATA = Path(__file__).resolve().parent / "data"
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


@dataclass(frozen=True)
class Expectation:
    workload: str
    modes: tuple[str, ...]
    min_coverage: float | None
    max_coverage: float | None
    why: str
    max_vmpte_kb: int | None = None       # VmPTE at the final record
    max_reclaim_ms: float | None = None   # from emptied to reclaimed, target reached


def _load_toml(path: Path) -> dict:  # type: ignore[type-arg]
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise BadInput(f"{path}: {e}") from None


def load_modes(path: Path = DATA / "modes.toml") -> dict[str, Mode]:
    out = {}
    for name, spec in _load_toml(path).items():
        try:
            kernel = spec["kernel"]
            if kernel not in (BASE, PATCHED):
                raise ValueError(f"kernel must be {BASE} or {PATCHED}")
            out[name] = Mode(name, kernel, str(spec.get("description", "")),
                             spec.get("sysfs"), spec.get("prctl"),
                             tuple(spec.get("workload_args", ())),
                             tuple((str(k), str(v)) for k, v in spec.get("knobs", {}).items()),
                             _opt_bool(spec, "default_knobs"), _opt_bool(spec, "opt_in"))
            if out[name].default_knobs and out[name].knobs:
                raise ValueError("default_knobs and knobs are alternatives")
        except (KeyError, TypeError, ValueError) as e:
            raise BadInput(f"{path}: mode {name}: {e}") from None
    return out


def load_expectations(path: Path = DATA / "expectations.toml") -> list[Expectation]:
    out = []
    for i, spec in enumerate(_load_toml(path).get("expect", []), 1):
        try:
            max_vmpte = _opt_float(spec, "max_vmpte_kb")
            e = Expectation(spec["workload"], tuple(spec["modes"]),
                            _opt_float(spec, "min_coverage"), _opt_float(spec, "max_coverage"),
                            str(spec.get("why", "")),
                            None if max_vmpte is None else int(max_vmpte),
                            _opt_float(spec, "max_reclaim_ms"))
        except (KeyError, TypeError, ValueError) as err:
            raise BadInput(f"{path}: expectation #{i}: bad or missing {err}") from None
        if all(b is None for b in (e.min_coverage, e.max_coverage, e.max_vmpte_kb,
                                   e.max_reclaim_ms)):
            raise BadInput(f"{path}: expectation #{i}: needs min_coverage or max_coverage"
                           " (or max_vmpte_kb, max_reclaim_ms)")
        out.append(e)
    return out


def _opt_float(spec: dict, key: str) -> float | None:  # type: ignore[type-arg]
    return None if spec.get(key) is None else float(spec[key])


def _opt_bool(spec: dict, key: str) -> bool:  # type: ignore[type-arg]
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


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
