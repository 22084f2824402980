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


@dataclass(frozen=True)
class Expectation:
    workload: str
    modes: tuple[str, ...]
    min_coverage: float | None
    max_coverage: float | None
    why: str


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
                             tuple((str(k), str(v)) for k, v in spec.get("knobs", {}).items()))
        except (KeyError, TypeError, ValueError) as e:
            raise BadInput(f"{path}: mode {name}: {e}") from None
    return out


def load_expectations(path: Path = DATA / "expectations.toml") -> list[Expectation]:
    out = []
    for i, spec in enumerate(_load_toml(path).get("expect", []), 1):
        try:
            e = Expectation(spec["workload"], tuple(spec["modes"]),
                            _opt_float(spec, "min_coverage"), _opt_float(spec, "max_coverage"),
                            str(spec.get("why", "")))
        except (KeyError, TypeError, ValueError) as err:
            raise BadInput(f"{path}: expectation #{i}: bad or missing {err}") from None
        if e.min_coverage is None and e.max_coverage is None:
            raise BadInput(f"{path}: expectation #{i}: needs min_coverage or max_coverage")
        out.append(e)
    return out


def _opt_float(spec: dict, key: str) -> float | None:  # type: ignore[type-arg]
    return None if spec.get(key) is None else float(spec[key])


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
    return problems
