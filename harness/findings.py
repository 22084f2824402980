"""Known findings: checks of today's series that are red on purpose
(harness/data/findings.toml), so that the project's own end-to-end test
can tell "the harness still finds what it found" from "something broke".
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInput

DATA = Path(__file__).parent / "data" / "findings.toml"
_KEYS = {"check", "arches", "run", "why"}


@dataclass(frozen=True)
class Finding:
    check: str
    arches: tuple[str, ...]
    run: str
    why: str


def load_findings(path: Path = DATA) -> list[Finding]:
    """Every [[finding]] of `path`; a missing or unknown key is bad input
    naming the file and the entry."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise BadInput(f"{path}: {e}") from None
    out = []
    for i, entry in enumerate(data.get("finding", []), 1):
        keys = set(entry)
        if keys != _KEYS:
            extra, missing = sorted(keys - _KEYS), sorted(_KEYS - keys)
            raise BadInput(f"{path}: finding {i}: " + "; ".join(
                [*(f"unknown key {k!r}" for k in extra), *(f"missing key {k!r}" for k in missing)]))
        if not isinstance(entry["arches"], list) or not all(
                isinstance(a, str) for a in entry["arches"]):
            raise BadInput(f"{path}: finding {i}: 'arches' must be a list of arch names")
        out.append(Finding(str(entry["check"]), tuple(entry["arches"]), str(entry["run"]),
                           str(entry["why"])))
    return out


def expected_failures(findings: list[Finding], arch: str) -> set[str]:
    """The check names that are known to fail on `arch`."""
    return {f.check for f in findings if arch in f.arches}
