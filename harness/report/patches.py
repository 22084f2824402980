"""The nightly's per-patch suite as the reports show it: a row per patch
(checkpatch, then on each arch the incremental build and W=1), read back
from the names the walk gives its checks: `checkpatch:<nn>-<slug>`,
`build:<nn>-<slug>/<arch>`, `w1:<nn>-<slug>/<arch>`."""

import re
from dataclasses import dataclass, field

from ..results import ERROR, FAILED, PASSED, SKIPPED, Check, Suite
from .run_data import RunData
from .summary_text import MAX_COLUMNS, table

PATCH_CHECK = re.compile(r"^(?P<step>checkpatch|build|w1):(?P<label>[^/]+)(?:/(?P<arch>[^/]+))?$")
MARK = {PASSED: "ok", FAILED: "FAIL", ERROR: "ERROR", SKIPPED: "skip"}
CSS = {PASSED: "pass", FAILED: "fail", ERROR: "error", SKIPPED: "skip"}
NOT_RUN = "-"
STEP_TITLE = {"checkpatch": "checkpatch", "build": "build", "w1": "W=1"}
# A label is cut to fit summary.txt, but never below this.
MIN_LABEL = 16


@dataclass
class PatchRow:
    label: str
    checkpatch: Check | None = None
    builds: dict[str, Check] = field(default_factory=dict)   # by arch
    w1: dict[str, Check] = field(default_factory=dict)       # by arch


@dataclass(frozen=True)
class PatchCell:
    text: str
    css: str
    title: str
    anchor: str       # the excerpt of a failed check in report.html, else ""


@dataclass(frozen=True)
class PatchProblem:
    """A failed per-patch check, with its log in the run directory."""
    suite: Suite
    check: Check
    label: str
    step: str         # as the table heads it: checkpatch, build, W=1
    arch: str         # "" for checkpatch
    anchor: str
    log: str          # relative to the run directory, "" when none was kept


@dataclass(frozen=True)
class PatchTable:
    suite: Suite
    arches: list[str]
    rows: list[PatchRow]
    problems: list[PatchProblem]

    def cells(self, row: PatchRow) -> list[PatchCell]:
        """checkpatch, then build and W=1 on each arch: the HTML's columns."""
        out = [_cell(row.checkpatch)]
        for arch in self.arches:
            out += [_cell(row.builds.get(arch)), _cell(row.w1.get(arch))]
        return out

    def text(self, width: int = MAX_COLUMNS) -> list[str]:
        """The table for summary.txt: an arch's cell is build/W=1, and the
        labels are cut so that every line fits `width`."""
        header = ["patch", "checkpatch", *self.arches]
        rows = [[r.label, _mark(r.checkpatch),
                 *(f"{_mark(r.builds.get(a))}/{_mark(r.w1.get(a))}" for a in self.arches)]
                for r in self.rows]
        others = sum(max(len(r[i]) for r in [header, *rows]) + 2 for i in range(1, len(header)))
        room = max(width - others, MIN_LABEL)
        for r in rows:
            r[0] = r[0] if len(r[0]) <= room else r[0][:room - 2] + ".."
        return table(header, rows, set())


def anchor(check: Check) -> str:
    return "check-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", check.name)


def _mark(check: Check | None) -> str:
    return NOT_RUN if check is None else MARK.get(check.status, check.status)


def _cell(check: Check | None) -> PatchCell:
    if check is None:
        return PatchCell(NOT_RUN, "none", "not run", "")
    bad = check.status in (FAILED, ERROR)
    return PatchCell(_mark(check), CSS.get(check.status, "error"),
                     check.message or check.status, anchor(check) if bad else "")


def _number(label: str) -> int:
    head = label.split("-", 1)[0]
    return int(head) if head.isdigit() else 1 << 30


def patch_table(run: RunData, suite: Suite) -> PatchTable:
    rows: dict[str, PatchRow] = {}
    parsed: list[tuple[Check, str, str, str]] = []      # check, label, step, arch
    for c in suite.checks:
        m = PATCH_CHECK.match(c.name)
        if m is None or (m["step"] == "checkpatch") != (m["arch"] is None):
            continue          # apply, or a name this table does not know
        row = rows.setdefault(m["label"], PatchRow(m["label"]))
        arch = m["arch"] or ""
        if m["step"] == "checkpatch":
            row.checkpatch = c
        else:
            (row.builds if m["step"] == "build" else row.w1)[arch] = c
        parsed.append((c, m["label"], m["step"], arch))
    seen = list(dict.fromkeys(a for _, _, _, a in parsed if a))
    arches = [a for a in run.arches() if a in seen] + [a for a in seen if a not in run.arches()]
    ordered = sorted(rows.values(), key=lambda r: _number(r.label))
    position = {r.label: i for i, r in enumerate(ordered)}
    problems = [PatchProblem(suite, c, label, STEP_TITLE[step], arch, anchor(c),
                             _log(run, suite, step, arch))
                for c, label, step, arch in sorted(parsed, key=lambda p: position[p[1]])
                if c.status in (FAILED, ERROR)]
    return PatchTable(suite, arches, ordered, problems)


def patch_tables(run: RunData) -> list[PatchTable]:
    return [patch_table(run, s) for s in run.patch_suites]


def _log(run: RunData, suite: Suite, step: str, arch: str) -> str:
    """The walk's log of that step, as the nightly keeps it in the suite's
    directory (checkpatch.log, build-<arch>.log, w1-<arch>.log)."""
    name = "checkpatch.log" if step == "checkpatch" else f"{step}-{arch}.log"
    return f"{suite.dirname}/{name}" if (run.path / suite.dirname / name).is_file() else ""
