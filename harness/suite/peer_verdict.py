"""The peer suite's verdict, pure: a program's output in mode `never` and
in mode `always` turned into case outcomes, then into one check.

A case that fails only under `always` is the series' (the scanner broke
something the kernel's own tests check) and fails the check. A case that
fails in both modes is the environment's (the minimal guest lacks the
option, the module or the hardware the test wants; TCG is too slow for
it): reported with its message, not failed. A case failing only under
`never` is named too, as flaky: the scanner was off there.
"""

import re
from dataclasses import dataclass, field

from ..results import ERROR, FAILED, PASSED, SKIPPED, Check
from .ktap import FAIL, SKIP, XFAIL, parse

OK = "ok"          # a passed case, or an expected failure (XFAIL)
CHECK_PREFIX = "peer:mm/"
WHOLE_CHECK = "peer:mm"
# kselftest exit codes (kselftest.h): pass, fail, xfail, xpass, skip.
KSFT_PASS, KSFT_FAIL, KSFT_XFAIL, KSFT_XPASS, KSFT_SKIP = 0, 1, 2, 3, 4
MESSAGE_CHARS = 160


@dataclass(frozen=True)
class CaseOutcome:
    key: str            # the KTAP case name, or "(exit status)" and the like
    status: str         # OK, FAIL or SKIP
    message: str = ""


@dataclass(frozen=True)
class ModeRun:
    """One program's run in one mode, as the guest returned it."""
    mode: str
    exit_status: int
    output: str
    seconds: float
    timed_out: bool = False
    timeout: float = 0.0
    error: str = ""     # it could not run at all (upload, SSH): no outcome


@dataclass
class ModeOutcome:
    run: ModeRun
    cases: list[CaseOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.cases)

    def failed(self) -> dict[str, CaseOutcome]:
        return {c.key: c for c in self.cases if c.status == FAIL}


def plain(text: str) -> str:
    """Output without terminal colour codes."""
    return _ANSI.sub("", text)


def _exit_meaning(status: int) -> str:
    if status > 128:
        return f"killed by signal {status - 128} (exit {status})"
    return f"exit status {status}"


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return plain(lines[-1])[:MESSAGE_CHARS] if lines else ""


# kselftest_harness.h's own progress lines around a case: not the reason.
_HARNESS_LINE = re.compile(r"^(RUN|OK|FAIL|SKIP|XFAIL)\s|Test terminated|^\s*$")


# khugepaged colours its OK/Fail; JUnit XML takes no ESC characters.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ASSERTION = re.compile(r"\.[ch]:\d+:")       # file.c:LINE:test:Expected ...


def _why(diagnostics: list[str]) -> str:
    """Why a case failed: kselftest_harness's first assertion line, else
    the last line the program printed before the result (a kselftest.h
    program names the case there: mkdirty's "[INFO] PTRACE write access")."""
    said = [d for d in diagnostics if not _HARNESS_LINE.search(d.strip())]
    return next((d for d in said if _ASSERTION.search(d)), said[-1] if said else "")


def outcomes(run: ModeRun) -> ModeOutcome:
    """The cases of one run: KTAP results when the program prints KTAP,
    else its exit status as one case; a crash, a `Bail out!`, a timeout or
    an exit status the results do not explain is a case of its own."""
    out = ModeOutcome(run)
    if run.error:
        return out
    r = parse(plain(run.output))
    seen: dict[str, int] = {}
    for c in r.cases:
        seen[c.name] = seen.get(c.name, 0) + 1
        key = c.name if seen[c.name] == 1 else f"{c.name} #{seen[c.name]}"
        status = {FAIL: FAIL, SKIP: SKIP, XFAIL: OK}.get(c.status, OK)
        why = c.directive or (_why(c.diagnostics) if status == FAIL else "")
        out.cases.append(CaseOutcome(key, status, why[:MESSAGE_CHARS]))
    code = run.exit_status
    if run.timed_out:
        out.cases.append(CaseOutcome("(timed out)", FAIL, f"timed out after {run.timeout:.0f}s"))
    elif r.bail_out is not None and (not r.complete or not out.failed()):
        # A Bail out! after the failed cases only sums them up (mkdirty's
        # "2 out of 6 tests failed"); before the end, or alone, it is one.
        out.cases.append(CaseOutcome("(bail out)", FAIL, r.bail_out[:MESSAGE_CHARS]))
    elif r.planned is None and not r.cases:     # not KTAP: the exit status says it all
        verdict = {KSFT_PASS: OK, KSFT_XFAIL: OK, KSFT_SKIP: SKIP}.get(code, FAIL)
        out.cases.append(CaseOutcome("(exit status)", verdict,
                                     "" if verdict == OK else
                                     f"{_exit_meaning(code)}: {_last_line(run.output)}"))
    elif r.planned == 0 and not r.cases:        # 1..0 # SKIP why
        out.cases.append(CaseOutcome("(program)", SKIP, r.plan_directive[:MESSAGE_CHARS]))
    elif not r.complete and code == KSFT_SKIP:   # ksft_exit_skip after a plan
        out.cases.append(CaseOutcome("(rest)", SKIP, f"skipped after {len(r.cases)} of "
                                     f"{r.planned} results"))
    elif not r.complete:
        out.cases.append(CaseOutcome("(incomplete)", FAIL,
                                     f"{len(r.cases)} of {r.planned} results, "
                                     f"{_exit_meaning(code)}"))
    elif code not in (KSFT_PASS, KSFT_SKIP) and not out.failed():
        out.cases.append(CaseOutcome("(exit status)", FAIL, _exit_meaning(code)))
    return out


def _named(cases: list[CaseOutcome]) -> str:
    return "; ".join(f"{c.key}: {c.message}" if c.message else c.key for c in cases)


def failed_anywhere(runs: list[ModeRun]) -> dict[str, CaseOutcome]:
    """Every case that failed in at least one of `runs`, first failure kept."""
    out: dict[str, CaseOutcome] = {}
    for r in runs:
        for k, c in outcomes(r).failed().items():
            out.setdefault(k, c)
    return out


def always_only(never: list[ModeRun], always: list[ModeRun]) -> set[str]:
    """Cases that failed under always in some run and under never in none."""
    return set(failed_anywhere(always)) - set(failed_anywhere(never))


def judge_program(name: str, never: ModeRun, always: ModeRun,
                  reruns: list[tuple[ModeRun, ModeRun]] | None = None) -> Check:
    """The check peer:mm/NAME from the program's two runs. `reruns`: more
    (never, always) pairs, run because a case failed only under always
    in the first; a case that fails under never in any of them is flaky
    in both modes, not the series'. The figures are the first pair's."""
    reruns = reruns or []
    n, a = outcomes(never), outcomes(always)
    props: dict[str, str] = {}
    for o in (n, a):
        m = o.run.mode
        props.update({f"{m}_ok": str(o.count(OK)), f"{m}_fail": str(o.count(FAIL)),
                      f"{m}_skip": str(o.count(SKIP)), f"{m}_seconds": f"{o.run.seconds:.1f}",
                      f"{m}_exit": "timeout" if o.run.timed_out else str(o.run.exit_status)})
    seconds = never.seconds + always.seconds + sum(x.seconds for r in reruns for x in r)
    errors = [f"{r.mode}: {r.error}" for r in (never, always) if r.error]
    if errors:
        return Check(CHECK_PREFIX + name, ERROR, seconds, "; ".join(errors), properties=props)
    n_failed = failed_anywhere([never, *(r[0] for r in reruns)])
    a_failed = failed_anywhere([always, *(r[1] for r in reruns)])
    series = [c for k, c in a_failed.items() if k not in n_failed]
    environment = [c for k, c in a_failed.items() if k in n_failed]
    never_only = [c for k, c in n_failed.items() if k not in a_failed]
    for key, cases in (("always_only", series), ("environment", environment),
                       ("never_only", never_only)):
        props[f"{key}_cases"] = str(len(cases))
        if cases:
            props[key] = _named(cases)[:2000]
    if reruns:
        props["runs"] = str(len(reruns) + 1)
        props["always_failed_runs"] = str(sum(bool(outcomes(r).failed())
                                              for r in [always, *(x[1] for x in reruns)]))
        props["never_failed_runs"] = str(sum(bool(outcomes(r).failed())
                                             for r in [never, *(x[0] for x in reruns)]))
    detail = f"never:\n{plain(never.output)[-3000:]}\n\nalways:\n{plain(always.output)[-3000:]}"
    if series:
        tally = (f" (runs failing: always {props['always_failed_runs']} of {props['runs']}, "
                 f"never {props['never_failed_runs']})") if reruns else ""
        return Check(CHECK_PREFIX + name, FAILED, seconds,
                     f"failed only under always{tally}: {_named(series)}"[:500], detail, props)
    notes = []
    if environment:
        notes.append(f"failed in both modes (environment): {_named(environment)}")
    if never_only:
        notes.append(f"failed only under never (flaky): {_named(never_only)}")
    message = "; ".join(notes)[:500]
    if a.count(OK) == 0:       # nothing ran for real: skipped, whatever the reason
        reasons = message or _named([c for c in a.cases if c.status == SKIP])[:500]
        return Check(CHECK_PREFIX + name, SKIPPED, seconds, reasons or "skipped",
                     detail if environment else "", props)
    return Check(CHECK_PREFIX + name, PASSED, seconds, message,
                 detail if environment or never_only else "", props)


def not_built(name: str, program: str) -> Check:
    return Check(CHECK_PREFIX + name, ERROR,
                 message=f"{program} did not build (see peer-build.log)")


def whole(checks: list[Check], setup: dict[str, str]) -> Check:
    """peer:mm: every program's figures added up per mode; fails when a
    program failed only under always, errs when one could not run."""
    props = dict(setup)
    progs = [c for c in checks if c.name.startswith(CHECK_PREFIX)]
    for mode in ("never", "always"):
        for what in (OK, FAIL, SKIP):
            key = f"{mode}_{what}"
            props[key] = str(sum(int(c.properties.get(key, 0)) for c in progs))
    props["programs"] = str(len(progs))
    by_status = {s: [c.name.removeprefix(CHECK_PREFIX) for c in progs if c.status == s]
                 for s in (PASSED, FAILED, ERROR, SKIPPED)}
    for s, names in by_status.items():
        props[f"programs_{s}"] = str(len(names))
    series = [f"{c.name.removeprefix(CHECK_PREFIX)}: {c.properties['always_only']}"
              for c in progs if "always_only" in c.properties]
    for key in ("always_only_cases", "environment_cases", "never_only_cases"):
        props[key] = str(sum(int(c.properties.get(key, 0)) for c in progs))
    figures = (f"never {props['never_ok']}/{props['never_fail']}/{props['never_skip']}, "
               f"always {props['always_ok']}/{props['always_fail']}/{props['always_skip']} "
               f"ok/fail/skip in {len(progs)} programs")
    if by_status[FAILED]:
        return Check(WHOLE_CHECK, FAILED, message=f"failed only under always: "
                     f"{', '.join(by_status[FAILED])}; {figures}",
                     detail="\n".join(series), properties=props)
    if by_status[ERROR]:
        return Check(WHOLE_CHECK, ERROR, message=f"did not run: {', '.join(by_status[ERROR])}; "
                     f"{figures}", properties=props)
    return Check(WHOLE_CHECK, PASSED, message=figures, properties=props)
