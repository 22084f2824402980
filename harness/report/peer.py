"""The peer suite in the reports: a few lines of summary.txt per suite
(cases ok/fail/skip per mode, what failed only under always, what failed
in both modes) and a table per suite for report.html, all from the
peer:mm checks' properties."""

from dataclasses import dataclass

from ..results import Check, Suite
from ..suite.peer_verdict import CHECK_PREFIX, WHOLE_CHECK
from .run_data import RunData

NAMED = 6       # programs named on a summary line before "and N more"


@dataclass(frozen=True)
class PeerRow:
    program: str
    check: Check

    def figures(self, mode: str) -> str:
        p = self.check.properties
        if f"{mode}_ok" not in p:
            return ""
        return f"{p[f'{mode}_ok']}/{p[f'{mode}_fail']}/{p[f'{mode}_skip']}"


@dataclass(frozen=True)
class PeerBlock:
    suite: Suite
    whole: Check
    rows: tuple[PeerRow, ...]

    def figures(self, mode: str) -> str:
        p = self.whole.properties
        return f"{p.get(f'{mode}_ok', '?')}/{p.get(f'{mode}_fail', '?')}/" \
               f"{p.get(f'{mode}_skip', '?')}"

    def with_property(self, key: str) -> list[PeerRow]:
        return [r for r in self.rows if r.check.properties.get(key)]


def blocks(run: RunData) -> list[PeerBlock]:
    out = []
    for suite in run.suites:
        whole = run.check(suite, WHOLE_CHECK)
        if whole is None:
            continue
        rows = tuple(PeerRow(c.name.removeprefix(CHECK_PREFIX), c) for c in suite.checks
                     if c.name.startswith(CHECK_PREFIX))
        out.append(PeerBlock(suite, whole, rows))
    return out


def _names(rows: list[PeerRow]) -> str:
    names = [r.program for r in rows]
    more = f" and {len(names) - NAMED} more" if len(names) > NAMED else ""
    return ", ".join(names[:NAMED]) + more


def summary_lines(run: RunData) -> list[str]:
    """summary.txt's paragraph; fit() wraps what passes 75 columns."""
    found = blocks(run)
    if not found:
        return []
    first = found[0].whole.properties
    knobs = first.get("always_knobs", "?")
    lines = [f"Peer suite: the kernel's mm selftests ({first.get('peer_size', '?')}), "
             f"each program in mode never and in mode always ({knobs}); cases "
             "ok/fail/skip per mode:"]
    for b in found:
        p = b.whole.properties
        if "never_ok" not in p:
            lines.append(f"  {b.suite.name}: {b.whole.status}: "
                         f"{(b.whole.message or '').splitlines()[0] if b.whole.message else ''}")
            continue
        lines.append(f"  {b.suite.name}: never {b.figures('never')}, always "
                     f"{b.figures('always')} in {p.get('programs', '?')} programs")
        series = b.with_property("always_only")
        lines.append("    failed only under always: " +
                     ("; ".join(f"{r.program}: {r.check.properties['always_only'][:300]}"
                                for r in series) if series else "none"))
        env = b.with_property("environment")
        if env:
            lines.append(f"    failed in both modes (environment): "
                         f"{p.get('environment_cases', '?')} cases in {_names(env)}")
        flaky = b.with_property("never_only")
        if flaky:
            lines.append(f"    failed only under never (flaky): {_names(flaky)}")
        if p.get("not_built"):
            lines.append(f"    did not build: {p['not_built']}")
    return lines
