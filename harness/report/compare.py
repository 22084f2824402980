"""Two runs side by side ("v2 vs v1", "tonight vs last night"): the same
figures from each, the change, and whether B regressed from A beyond the
thresholds in data/thresholds.toml."""

from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import schema
from ..results import ERROR, FAILED, PASSED, Check, Suite
from ..suite.modes import DATA
from .run_data import RunData, load_run
from .summary_text import fit, table

THRESHOLDS = DATA / "thresholds.toml"
BAD = (FAILED, ERROR)


@dataclass(frozen=True)
class Metric:
    name: str
    checks: str                 # prefix of the check names it belongs to
    worse: str                  # "higher" or "lower"
    max_change: float | None    # None: shown, never judged
    relative: bool = False
    min_value: float = 0.0
    not_judged: tuple[str, ...] = ()   # check-name prefixes whose figure is only shown
    # The check property it reads, when not `name`: two metrics may judge
    # one property of different checks with different limits.
    of_property: str = ""

    @property
    def figure(self) -> str:
        return self.of_property or self.name

    def for_check(self, name: str) -> "Metric":
        """The metric as it applies to check `name`."""
        if any(name.startswith(p) for p in self.not_judged):
            return replace(self, max_change=None)
        return self


@dataclass(frozen=True)
class Thresholds:
    metrics: tuple[Metric, ...]
    passed_to_failed: bool = True
    new_failing: bool = True


@dataclass(frozen=True)
class Change:
    suite: str
    check: str
    metric: str                 # a Metric name, or "status"
    a: str
    b: str
    change: str
    regressed: bool = False
    why: str = ""


@dataclass
class CompareResult:
    run_a: str
    run_b: str
    verdict_a: str
    verdict_b: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.regressed]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def render(self) -> str:
        return render_compare(self)


def load_thresholds(path: Path = THRESHOLDS) -> Thresholds:
    spec = schema.load(path, schema.ThresholdsFile)
    return Thresholds(tuple(Metric(name, m.checks, m.worse, m.max_change, m.relative,
                                   m.min_value, tuple(m.not_judged), m.of_property)
                            for name, m in spec.metric.items()),
                      spec.status.passed_to_failed, spec.status.new_failing)


def pair_suites(a: list[Suite], b: list[Suite]) -> list[tuple[Suite, Suite]]:
    """Same kernel and arch; then, per arch, the one kernel left on each side."""
    by_name = {s.name: s for s in b}
    pairs = [(s, by_name[s.name]) for s in a if s.name in by_name]
    paired = {id(x) for pair in pairs for x in pair}
    for arch in dict.fromkeys(s.arch for s in a):
        left_a = [s for s in a if s.arch == arch and id(s) not in paired]
        left_b = [s for s in b if s.arch == arch and id(s) not in paired]
        if len(left_a) == 1 and len(left_b) == 1:
            pairs.append((left_a[0], left_b[0]))
    return pairs


def _value(run: RunData, suite: Suite, check: Check, metric: str) -> float | None:
    """A figure of a check: its property, or a workload's own record."""
    for w in run.workloads:
        if w.suite is suite and w.check is check:
            return w.figure(metric)
    try:
        return float(check.properties[metric])
    except (KeyError, ValueError):
        return None


def judge_metric(m: Metric, a: float, b: float) -> tuple[str, bool, str]:
    """The change as text, whether it regressed and why."""
    delta = b - a
    if not delta:
        change = "="
    elif m.relative:
        change = f"{delta / a:+.1%}" if a else f"{delta:+.3g}"
    else:
        change = f"{delta:+.3g}"
    if m.max_change is None or max(a, b) < m.min_value:
        return change, False, ""
    worse_by = delta if m.worse == "higher" else -delta
    allowed = m.max_change * abs(a) if m.relative else m.max_change
    if worse_by > allowed + 1e-12:
        limit = f"{m.max_change:.0%}" if m.relative else f"{m.max_change:g}"
        return change, True, f"{m.name} {a:g} -> {b:g} ({change}, limit {limit})"
    return change, False, ""


def compare_checks(ra: RunData, sa: Suite, rb: RunData, sb: Suite,
                   th: Thresholds) -> tuple[list[Change], list[str]]:
    label = sa.name if sa.name == sb.name else f"{sa.name} -> {sb.name}"
    checks_a = {c.name: c for c in sa.checks}
    changes, notes = [], []
    for cb in sb.checks:
        ca = checks_a.get(cb.name)
        if ca is None:
            bad = cb.status in BAD and th.new_failing
            if bad:
                changes.append(Change(label, cb.name, "status", "-", cb.status, "new", True,
                                      f"new check {cb.status}: {cb.message}"))
            else:
                notes.append(f"{label} {cb.name}: only in B ({cb.status})")
            continue
        if ca.status != cb.status:
            bad = ca.status == PASSED and cb.status in BAD and th.passed_to_failed
            changes.append(Change(label, cb.name, "status", ca.status, cb.status,
                                  "changed", bad, f"{ca.status} -> {cb.status}: {cb.message}"
                                  if bad else ""))
        for m in th.metrics:
            if not cb.name.startswith(m.checks):
                continue
            va, vb = _value(ra, sa, ca, m.figure), _value(rb, sb, cb, m.figure)
            if va is None or vb is None:
                continue
            change, bad, why = judge_metric(m.for_check(cb.name), va, vb)
            changes.append(Change(label, cb.name, m.name, f"{va:g}", f"{vb:g}", change, bad, why))
    names_b = {c.name for c in sb.checks}
    notes += [f"{label} {c.name}: only in A ({c.status})" for c in sa.checks
              if c.name not in names_b]
    return changes, notes


def compare(run_a: Path, run_b: Path, thresholds: Path = THRESHOLDS) -> CompareResult:
    """Run B against run A; `.regressed` when B is worse beyond thresholds."""
    ra, rb = load_run(run_a), load_run(run_b)
    th = load_thresholds(thresholds)
    result = CompareResult(ra.run_id, rb.run_id, ra.verdict, rb.verdict)
    pairs = pair_suites(ra.suites, rb.suites)
    for sa, sb in pairs:
        changes, notes = compare_checks(ra, sa, rb, sb, th)
        result.changes += changes
        result.notes += notes
    paired = {id(x) for pair in pairs for x in pair}
    result.notes += [f"suite {s.name} only in A" for s in ra.suites if id(s) not in paired]
    result.notes += [f"suite {s.name} only in B" for s in rb.suites if id(s) not in paired]
    return result


def render_compare(r: CompareResult) -> str:
    lines = [f"A: {r.run_a} ({r.verdict_a})", f"B: {r.run_b} ({r.verdict_b})",
             f"Verdict: {'REGRESSED' if r.regressed else 'no regression'} "
             f"({len(r.regressions)} regression(s))"]
    for suite in dict.fromkeys(c.suite for c in r.changes):
        rows, previous = [], ""
        for c in (c for c in r.changes if c.suite == suite):
            # The check's name once, over all its figures.
            rows.append([c.check if c.check != previous else "", c.metric, c.a, c.b, c.change,
                         "REGRESSED" if c.regressed else ""])
            previous = c.check
        lines += ["", suite, *("  " + ln for ln in table(
            ["check", "figure", "A", "B", "change", ""], rows, {2, 3, 4}))]
    if r.regressions:
        lines += ["", "Regressions:"]
        lines += [f"  {c.suite} {c.check}: {c.why}" for c in r.regressions]
    if r.notes:
        lines += ["", "Not compared:", *(f"  {n}" for n in r.notes)]
    # Wider than summary.txt: a check name and two columns of figures
    # rarely fit in 75, and this is read in a terminal, not mailed.
    return fit("\n".join(lines), width=110)
