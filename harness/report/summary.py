"""The one-screen summary printed at the end of `pt-harness run`."""

from typing import Any

from ..results import PASSED, SKIPPED, RunDir, Suite

MARK = {PASSED: "ok", SKIPPED: "skip", "failed": "FAIL", "error": "ERROR"}


def _mb(kb: str | None) -> str:
    return f"{int(kb) / 1024:.1f}M" if kb is not None else "?"


def render(run: RunDir, suites: list[Suite], meta: dict[str, Any]) -> str:
    lines = [f"pt-harness run {run.run_id}  ({meta.get('seconds', '?')}s)",
             f"kernel: {meta.get('kernel_version', '?')}"]
    for s in suites:
        verdict = "PASS" if s.ok else "FAIL"
        lines.append(f"{verdict}  {s.name}")
        for c in s.checks:
            mark = MARK.get(c.status, c.status)
            extra = ""
            p = c.properties
            if "tables_populated" in p:
                extra = (f"tables {p['tables_populated']} -> {p['tables_left']} left "
                         f"(freed {float(p['coverage']) * 100:.0f}%), PageTables "
                         f"{_mb(p.get('baseline_pagetables_kb'))} -> "
                         f"{_mb(p.get('populated_pagetables_kb'))} -> "
                         f"{_mb(p.get('final_pagetables_kb'))}")
            elif "boot_to_ssh_s" in p:
                extra = f"SSH after {p['boot_to_ssh_s']}s ({p.get('accel')})"
            if c.message and c.status != PASSED:
                extra = (extra + "  " if extra else "") + c.message.splitlines()[0][:100]
            lines.append(f"  {mark:5} {c.name:28} {c.seconds:7.1f}s  {extra}".rstrip())
    lines.append(f"junit: {run.path / 'junit.xml'}")
    return "\n".join(lines)
