"""Known findings: checks of today's series that are red on purpose
(harness/data/findings.toml), so that the project's own end-to-end test
can tell "the harness still finds what it found" from "something broke".
"""

from dataclasses import dataclass
from pathlib import Path

from .. import schema

DATA = schema.DATA / "findings.toml"


@dataclass(frozen=True)
class Finding:
    check: str
    arches: tuple[str, ...]
    run: str
    why: str


def load_findings(path: Path = DATA) -> list[Finding]:
    """Every [[finding]] of `path`; a missing or unknown key is bad input
    naming the file, the entry and the key."""
    return [Finding(f.check, tuple(f.arches), f.run, f.why)
            for f in schema.load(path, schema.FindingsFile).finding]


def expected_failures(findings: list[Finding], arch: str) -> set[str]:
    """The check names that are known to fail on `arch`."""
    return {f.check for f in findings if arch in f.arches}
