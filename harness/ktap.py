"""A KTAP/TAP parser for kselftest output (the series' pt_reclaim test).

Only what kselftest_harness.h prints is needed: a plan, `ok`/`not ok`
lines with an optional `# SKIP`/`# XFAIL` directive, and `#` diagnostics,
which are attached to the result line that follows them.
"""

import re
from dataclasses import dataclass, field

_RESULT = re.compile(r"^\s*(ok|not ok)\s+(\d+)\s*-?\s*([^#]*?)\s*(?:#\s*(.*))?$")
_PLAN = re.compile(r"^\s*1\.\.(\d+)")
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

    @property
    def complete(self) -> bool:
        """Every planned test reported: a crash mid-run leaves this False."""
        return self.planned is not None and len(self.cases) == self.planned


def parse(text: str) -> KtapResult:
    planned: int | None = None
    cases: list[KtapCase] = []
    pending: list[str] = []
    for line in text.splitlines():
        if planned is None and (m := _PLAN.match(line)):
            planned = int(m.group(1))
            continue
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
    return KtapResult(planned, cases, pending)
