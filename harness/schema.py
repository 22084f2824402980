"""The schemas of the harness's data files (harness/data/*.toml, and any
file given in their place: `--catalog`, `--thresholds`, tests/data/), and
the one loader that checks a file against its schema.

Every table of every file is a model that refuses keys it does not know
and values of the wrong type (strict: "180" is not a number, "sparse" is
not a list, 1 is not a string), so a typo is an error rather than a
default silently taken. An error is one line naming the file, the table
and the key, as BadInput (the harness's bad-input error and exit status):

    harness/data/thresholds.toml: [metric.coverage] max_chnage: unknown key

The modules that use the data (modes, catalog, overhead, compare,
neighbours, peer_plan, findings, ...) turn the checked models into their
own frozen records; they do no checking of their own.
"""

import functools
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import BadInput

DATA = Path(__file__).resolve().parent / "data"
REPO = DATA.parent.parent

T = TypeVar("T")
SHOWN = 3                 # errors named in the one line; the rest counted


class Table(BaseModel):
    """A TOML table: known keys only, values of exactly their type."""
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              populate_by_name=True)


# Values the series' ABI takes (DESIGN.md: the kernel ABI the series provides).
SysfsMode = Literal["always", "madvise", "never"]
Prctl = Literal["enable", "disable", "default"]     # ptsample --prctl
Knobs = dict[str, str]        # /proc/sys/vm/pt_reclaim_<name> -> value
Colour = str


# -- modes.toml --------------------------------------------------------------

class ModeSpec(Table):
    kernel: Literal["base", "patched"]
    description: str = ""
    sysfs: SysfsMode | None = None
    prctl: Prctl | None = None
    workload_args: list[str] = []
    knobs: Knobs = {}
    default_knobs: bool = False
    opt_in: bool = False
    # The mode's line in the report's charts (svgchart.py); a mode without
    # one takes a spare colour. A base-kernel mode's line is dashed.
    colour: Colour | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")

    @model_validator(mode="after")
    def _alternatives(self) -> "ModeSpec":
        if self.default_knobs and self.knobs:
            raise ValueError("default_knobs and knobs are alternatives")
        if self.kernel == "base" and (self.sysfs or self.prctl or self.knobs
                                      or self.default_knobs):
            raise ValueError("a base-kernel mode has no sysfs, prctl or knobs")
        return self


ModesFile = dict[str, ModeSpec]


# -- expectations.toml -------------------------------------------------------

class ExpectSpec(Table):
    workload: str
    modes: list[str]
    min_coverage: float | None = None
    max_coverage: float | None = None
    max_vmpte_kb: int | None = None
    max_reclaim_ms: float | None = None
    why: str = ""

    @model_validator(mode="after")
    def _a_bound(self) -> "ExpectSpec":
        if all(b is None for b in (self.min_coverage, self.max_coverage, self.max_vmpte_kb,
                                   self.max_reclaim_ms)):
            raise ValueError("needs min_coverage or max_coverage (or max_vmpte_kb, "
                             "max_reclaim_ms)")
        return self


class Plausibility(Table):
    # A workload whose VmPTE grew by at least this much must show in the
    # guest-wide PageTables too (which moves this much on its own).
    pagetables_noise_kb: int = Field(ge=0)


class ExpectationsFile(Table):
    plausibility: Plausibility | None = None     # the project's file has it
    expect: list[ExpectSpec] = []


# -- workloads.toml (and --catalog, tests/data/faults.toml) ------------------

class WorkloadSpec(Table):
    description: str = ""
    command: list[str] = Field(min_length=1)
    timeout: float = Field(default=300.0, gt=0)
    default: bool = False
    reclaim: bool = False
    needs: list[str] = []
    modes: list[str] = []
    published: dict[str, str | int | float] = {}


CatalogFile = dict[str, WorkloadSpec]


# -- overhead.toml -----------------------------------------------------------

OVERHEAD_PREFIX = "overhead:"


class OverheadBenchmark(Table):
    check: str
    clock: Literal["icount", "wall"]
    pace: str
    args: list[str] = []
    rounds: int = Field(ge=1)
    timeout: float = Field(gt=0)
    max_median_ratio: float

    @field_validator("check")
    @classmethod
    def _prefixed(cls, check: str) -> str:
        if not check.startswith(OVERHEAD_PREFIX):
            raise ValueError(f"{check!r}: a check name starts with {OVERHEAD_PREFIX}")
        return check


class OverheadFile(Table):
    workload: str
    # The two modes of modes.toml alternated, the control first.
    modes: list[str] = Field(min_length=2, max_length=2)
    pace: dict[str, Knobs]
    benchmark: list[OverheadBenchmark]

    @model_validator(mode="after")
    def _paces_and_names(self) -> "OverheadFile":
        for b in self.benchmark:
            if b.pace not in self.pace:
                raise ValueError(f"{b.check}: unknown pace {b.pace!r}; known: "
                                 f"{', '.join(self.pace)}")
        if len({b.check for b in self.benchmark}) != len(self.benchmark):
            raise ValueError("two benchmarks with one check name")
        return self


# -- thresholds.toml (and compare --thresholds) ------------------------------

class StatusRules(Table):
    passed_to_failed: bool = True
    new_failing: bool = True


class MetricSpec(Table):
    checks: str = ""
    worse: Literal["higher", "lower"] = "higher"
    max_change: float | None = None
    relative: bool = False
    min_value: float = 0.0
    not_judged: list[str] = []
    of_property: str = Field(default="", alias="property")


class ThresholdsFile(Table):
    status: StatusRules = StatusRules()
    metric: dict[str, MetricSpec] = {}


# -- neighbours.toml ---------------------------------------------------------

class NeighbourBound(Table):
    figure: str
    why: str = ""
    max_times_never: float | None = None
    plus: float = 0.0
    min_ratio: float | None = None
    max_each: float | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "NeighbourBound":
        kinds = [k for k in (self.max_times_never, self.min_ratio, self.max_each)
                 if k is not None]
        if len(kinds) != 1:
            raise ValueError(f"bound on {self.figure}: give one of max_times_never, "
                             "min_ratio, max_each")
        return self


class NeighbourBenchmark(Table):
    workload: str
    rounds: int = Field(ge=1)
    min_cpus: int = Field(ge=1)
    require_freed: bool = False
    ratios: list[str]
    counts: list[str] = []
    knobs: Knobs = {}
    bound: list[NeighbourBound] = []

    @model_validator(mode="after")
    def _bounds_on_reported(self) -> "NeighbourBenchmark":
        reported = {*self.ratios, *self.counts}
        for b in self.bound:
            if b.figure not in reported:
                raise ValueError(f"{self.workload}: bound on {b.figure}, which is in "
                                 "neither ratios nor counts")
        return self


class NeighboursFile(Table):
    benchmark: list[NeighbourBenchmark]

    @model_validator(mode="after")
    def _one_each(self) -> "NeighboursFile":
        if len({b.workload for b in self.benchmark}) != len(self.benchmark):
            raise ValueError("two benchmarks of one workload")
        return self


# -- peer.toml ---------------------------------------------------------------

class PeerModeSpec(Table):
    # The mode is modes.toml's of the same name (its sysfs); these knobs
    # replace the mode's own.
    knobs: Knobs = {}
    # [name, value] alternatives: the first knob the kernel has is written.
    budget: list[Annotated[list[str], Field(min_length=2, max_length=2)]] = []


class PeerEnvironmentSpec(Table):
    swap_mb: int = Field(default=0, ge=0)
    nr_hugepages: int = Field(default=0, ge=0)


class PeerProgramSpec(Table):
    name: str
    program: str | None = None
    args: list[str] = []
    timeout: float = Field(default=300.0, gt=0)
    subset: bool = False
    arches: list[str] = []


class PeerFile(Table):
    confirm_runs: int = Field(default=0, ge=0)
    modes: dict[str, PeerModeSpec]     # exactly never and always
    environment: PeerEnvironmentSpec = PeerEnvironmentSpec()
    left_out: dict[str, str] = {}
    program: list[PeerProgramSpec]

    @model_validator(mode="after")
    def _checks(self) -> "PeerFile":
        if sorted(self.modes) != ["always", "never"]:
            raise ValueError(f"modes: expected never and always, not {', '.join(self.modes)}")
        names = [p.name for p in self.program]
        if len(set(names)) != len(names):
            raise ValueError("a program name is listed twice")
        return self


# -- findings.toml -----------------------------------------------------------

class FindingSpec(Table):
    check: str
    arches: list[str]
    run: str
    why: str


class FindingsFile(Table):
    finding: list[FindingSpec] = []


# -- knobs.toml --------------------------------------------------------------

class KnobsFile(Table):
    names: list[str] = Field(min_length=1)


# -- the loader --------------------------------------------------------------

def shown(path: Path) -> str:
    """The file as an error names it: relative to the repository when in it."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"{shown(path)}: {e}") from None


def load(path: Path, schema: type[T]) -> T:
    """`path` checked against `schema` (a model or a type such as
    dict[str, Model]); BadInput naming the file, table and key if it does
    not fit."""
    return check(read_toml(path), schema, shown(path))


@functools.cache
def _adapter(schema: Any) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


def check(data: Any, schema: type[T], where: str) -> T:
    """`data` (parsed TOML) checked against `schema`; `where` names it."""
    try:
        return cast(T, _adapter(cast(Any, schema)).validate_python(data))
    except ValidationError as e:
        # An unknown key first: a typo's missing key is only its echo.
        found = sorted(e.errors(), key=lambda err: err["type"] != "extra_forbidden")
        errors = [describe(err) for err in found]
        more = f"; and {len(errors) - SHOWN} more" if len(errors) > SHOWN else ""
        raise BadInput(f"{where}: {'; '.join(errors[:SHOWN])}{more}") from None


def _table(loc: tuple[Any, ...]) -> str:
    """A location as TOML names tables: a.b, an array's entry as a#N (from 1)."""
    parts: list[str] = []
    for x in loc:
        if isinstance(x, int) and parts:
            parts[-1] += f"#{x + 1}"
        else:
            parts.append(str(x))
    return ".".join(parts)


def describe(err: Any) -> str:
    """One pydantic error as `[table] key: what is wrong`."""
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "value_error" and isinstance(err.get("input"), dict) or not loc:
        # A table's own rule (its keys together): about the table as a whole.
        msg = str(err["msg"]).removeprefix("Value error, ")
        return f"[{_table(loc)}] {msg}" if loc else msg
    # A list item (command[2]): the key is the list, the item its index.
    item = ""
    if isinstance(loc[-1], int):
        item, loc = f"[{loc[-1]}]", loc[:-1]
    # A key whose name pydantic adds to say which kind it tried ("int",
    # "str", "function-after[...]" in a union): not a key of the file.
    loc = tuple(x for x in loc if not (isinstance(x, str) and
                                       ("[" in x or x in ("str", "int", "float", "bool"))))
    key = f"{loc[-1]}{item}" if loc else item
    table = _table(loc[:-1]) if loc else ""
    where = f"[{table}] {key}" if table else key
    if kind == "value_error":       # a key's own rule
        what = str(err["msg"]).removeprefix("Value error, ")
    elif kind == "extra_forbidden":
        what = "unknown key"
    elif kind == "missing":
        what = "missing key"
    else:
        msg = str(err["msg"])
        msg = msg[0].lower() + msg[1:]
        value = repr(err.get("input"))
        what = f"{msg}, not {value if len(value) <= 40 else value[:37] + '...'}"
    return f"{where}: {what}"
