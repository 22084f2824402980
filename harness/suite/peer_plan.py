"""The peer suite as data (data/peer.toml): the kernel's own mm selftests,
which programs run in which size, how each is invoked, the two modes and
what the guest is given for them."""

from dataclasses import dataclass
from pathlib import Path

from .. import schema
from ..errors import BadInput
from .alternate import benchmark_modes
from .modes import DATA

SIZES = ("none", "subset", "full")
DEFAULT_TIMEOUT = 300.0
MODES = ("never", "always")


@dataclass(frozen=True)
class PeerProgram:
    name: str                   # the check: peer:mm/NAME
    program: str                # the binary built from tools/testing/selftests/mm
    args: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    subset: bool = False
    arches: tuple[str, ...] = ()    # empty: every arch


@dataclass(frozen=True)
class PeerMode:
    name: str
    sysfs: str                  # modes.toml's value for the mode of this name
    knobs: tuple[tuple[str, str], ...] = ()
    budget: tuple[tuple[str, str], ...] = ()    # alternatives: the first the kernel has


@dataclass(frozen=True)
class PeerEnvironment:
    swap_mb: int = 0
    nr_hugepages: int = 0


@dataclass(frozen=True)
class PeerPlan:
    size: str                   # "subset" or "full"
    programs: tuple[PeerProgram, ...]
    modes: tuple[PeerMode, ...]
    environment: PeerEnvironment
    left_out: tuple[tuple[str, str], ...]    # (program, why) not built at all
    confirm_runs: int = 0       # more (never, always) pairs for an always-only failure

    def for_arch(self, arch: str) -> tuple[PeerProgram, ...]:
        return tuple(p for p in self.programs if not p.arches or arch in p.arches)

    def binaries(self, arch: str) -> tuple[str, ...]:
        """The programs to build for `arch`, each once."""
        return tuple(dict.fromkeys(p.program for p in self.for_arch(arch)))


def load_peer(size: str, path: Path = DATA / "peer.toml") -> PeerPlan | None:
    """The plan for `size` ("none" gives None)."""
    if size not in SIZES:
        raise BadInput(f"--peer {size!r}: expected one of {', '.join(SIZES)}")
    if size == "none":
        return None
    spec = schema.load(path, schema.PeerFile)
    programs = tuple(PeerProgram(p.name, p.program or p.name, tuple(p.args), p.timeout,
                                 p.subset, tuple(p.arches)) for p in spec.program)
    try:
        known = benchmark_modes(MODES)
    except BadInput as e:
        raise BadInput(f"{schema.shown(path)}: modes: {e}") from None
    modes = tuple(PeerMode(m.name, str(m.sysfs), tuple(spec.modes[m.name].knobs.items()),
                           tuple((k, v) for k, v in spec.modes[m.name].budget)) for m in known)
    environment = PeerEnvironment(spec.environment.swap_mb, spec.environment.nr_hugepages)
    left_out = tuple(spec.left_out.items())
    confirm_runs = spec.confirm_runs
    if size == "subset":
        programs = tuple(p for p in programs if p.subset)
    return PeerPlan(size, programs, modes, environment, left_out, confirm_runs)
