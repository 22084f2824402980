"""The workload catalog (data/workloads.toml) as typed records."""

from dataclasses import dataclass
from pathlib import Path

from .. import schema
from ..errors import BadInput
from .modes import Mode

CATALOG = schema.DATA / "workloads.toml"
GUEST_BIN = "/opt/pt/bin"


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    command: tuple[str, ...]
    timeout: float
    default: bool
    reclaim: bool = False               # takes --reclaim / --wait-ms (mode args)
    needs: tuple[str, ...] = ()         # guest resources, e.g. "disk"
    # The only modes it runs in (the scale workloads: not a 50 GB loop in
    # every mode); () is every mode that is not opt_in.
    modes: tuple[str, ...] = ()
    # Figures someone published for this test (the seed RFC's), name ->
    # value, carried into the case's JUnit properties as published_<name>
    # and printed beside ours, labelled as theirs.
    published: tuple[tuple[str, str], ...] = ()

    def runs_in(self, mode: Mode) -> bool:
        return mode.name in self.modes if self.modes else not mode.opt_in

    def guest_argv(self) -> list[str]:
        """Bare names are the workloads in the image; absolute paths are
        guest programs (a --catalog may name /bin/sh)."""
        prog = self.command[0]
        return [prog if prog.startswith("/") else f"{GUEST_BIN}/{prog}", *self.command[1:]]


def load_catalog(path: Path = CATALOG) -> dict[str, Workload]:
    return {name: Workload(name=name, description=w.description, command=tuple(w.command),
                           timeout=w.timeout, default=w.default, reclaim=w.reclaim,
                           needs=tuple(w.needs), modes=tuple(w.modes),
                           published=tuple((k, str(v)) for k, v in w.published.items()))
            for name, w in schema.load(path, schema.CatalogFile).items()}


def select(names: list[str] | None, catalog: dict[str, Workload] | None = None
           ) -> list[Workload]:
    cat = catalog if catalog is not None else load_catalog()
    if not names:
        return [w for w in cat.values() if w.default]
    unknown = [n for n in names if n not in cat]
    if unknown:
        raise BadInput(f"unknown workload {', '.join(unknown)}; known: {', '.join(cat)}")
    return [cat[n] for n in names]


def idle_workloads(workloads: list[Workload], modes: list[Mode]) -> list[str]:
    """What `--workload` named that runs in none of the modes `--mode`
    named (a scale workload runs only in the modes its entry lists)."""
    return [f"{w.name} (runs in {', '.join(w.modes)})" for w in workloads
            if not any(w.runs_in(m) for m in modes)]
