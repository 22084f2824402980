"""A KTAP/TAP parser for kselftest output (the series' pt_reclaim test and
the kernel's own mm selftests run as the peer suite).

Only what kselftest.h and kselftest_harness.h print is needed: a plan
(`1..N`, or `1..0 # SKIP why` for a program that skips as a whole),
`ok`/`not ok` lines with an optional `# SKIP`/`# XFAIL` directive, `#`
diagnostics, which are attached to the result line that follows them,
`Bail out! why` (ksft_exit_fail_msg) and the closing `# Totals:` line.
"""

import re
from dataclasses import dataclass, field

_RESULT = re.compile(r"^\s*(ok|not ok)\s+(\d+)\s*-?\s*([^#]*?)\s*(?:#\s*(.*))?$")
_PLAN = re.compile(r"^\s*1\.\.(\d+)\s*(?:#\s*(.*))?$")
_BAIL = re.compile(r"Bail out!\s*(.*)$")
_TOTALS = re.compile(r"^\s*#\s*Totals:\s*(.*)$")
PASS, FAIL, SKIP, XFAIL = "pass", "fail", "skip", "xfail"


@dataclass
class KtapCase:
    number: int
    name: str
    status: str
    directive: str = ""
    diagnostics: list[str] = field(default_factory=list)


@dataclass
class KtapResult:
    planned: int | None
    cases: list[KtapCase]
    trailing: list[str]          # diagnostics after the last result (totals)
    plan_directive: str = ""     # "SKIP why" of a `1..0 # SKIP why` plan
    bail_out: str | None = None  # the reason of a `Bail out!` line
    totals: dict[str, int] = field(default_factory=dict)   # `# Totals: pass:N ...`

    @property
    def complete(self) -> bool:
        """Every planned test reported: a crash mid-run leaves this False."""
        return self.planned is not None and len(self.cases) == self.planned


def parse(text: str) -> KtapResult:
    planned: int | None = None
    plan_directive = ""
    bail_out: str | None = None
    totals: dict[str, int] = {}
    cases: list[KtapCase] = []
    pending: list[str] = []
    for line in text.splitlines():
        if planned is None and (m := _PLAN.match(line)):
            planned, plan_directive = int(m.group(1)), (m.group(2) or "").strip()
            continue
        if bail_out is None and (m := _BAIL.search(line)):
            bail_out = m.group(1).strip()
            continue
        if m := _TOTALS.match(line):
            totals = {k: int(v) for k, v in re.findall(r"(\w+):(\d+)", m.group(1))}
        if m := _RESULT.match(line):
            ok, num, name, directive = m.group(1), int(m.group(2)), m.group(3), m.group(4) or ""
            word = directive.split(None, 1)[0].upper() if directive else ""
            if word == "SKIP":
                status = SKIP
            elif word in ("XFAIL", "TODO"):
                status = XFAIL
            else:
                status = PASS if ok == "ok" else FAIL
            cases.append(KtapCase(num, name.strip() or f"test {num}", status, directive,
                                  pending))
            pending = []
        elif line.lstrip().startswith("#"):
            pending.append(line.lstrip()[1:].strip())
    return KtapResult(planned, cases, pending, plan_directive, bail_out, totals)
