"""The peer suite as data (data/peer.toml): the kernel's own mm selftests,
which programs run in which size, how each is invoked, the two modes and
what the guest is given for them."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInput
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
    sysfs: str
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
    try:
        spec = tomllib.loads(path.read_text())
        programs = tuple(_program(p) for p in spec["program"])
        modes = tuple(_mode(name, spec["modes"][name]) for name in MODES)
        env = spec.get("environment", {})
        environment = PeerEnvironment(int(env.get("swap_mb", 0)),
                                      int(env.get("nr_hugepages", 0)))
        left_out = tuple((str(k), str(v)) for k, v in spec.get("left_out", {}).items())
        confirm_runs = int(spec.get("confirm_runs", 0))
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as e:
        raise BadInput(f"{path}: {type(e).__name__}: {e}") from None
    names = [p.name for p in programs]
    if len(set(names)) != len(names):
        raise BadInput(f"{path}: a program name is listed twice")
    if size == "subset":
        programs = tuple(p for p in programs if p.subset)
    return PeerPlan(size, programs, modes, environment, left_out, confirm_runs)


def _program(spec: dict) -> PeerProgram:  # type: ignore[type-arg]
    name = str(spec["name"])
    return PeerProgram(name, str(spec.get("program", name)),
                       tuple(str(a) for a in spec.get("args", ())),
                       float(spec.get("timeout", DEFAULT_TIMEOUT)), bool(spec.get("subset", False)),
                       tuple(str(a) for a in spec.get("arches", ())))


def _mode(name: str, spec: dict) -> PeerMode:  # type: ignore[type-arg]
    return PeerMode(name, str(spec["sysfs"]),
                    tuple((str(k), str(v)) for k, v in spec.get("knobs", {}).items()),
                    tuple((str(k), str(v)) for k, v in spec.get("budget", ())))
