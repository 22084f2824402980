"""Scanning a guest console log for kernel splats.

A splat fails the suite whatever the workload figures say; the excerpt
(the matching line and what follows) goes into the JUnit failure text.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .. import proc
from ..errors import HarnessError

# What the kernel prints when something went wrong. Order matters only for
# the kind reported when one line matches several.
SPLAT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("panic", r"Kernel panic - not syncing"),
    ("oops", r"\bOops\b|Internal error: Oops"),
    ("bug", r"\bBUG:|kernel BUG at"),
    ("warning", r"\bWARNING:"),
    ("gpf", r"general protection fault"),
    ("fault", r"Unable to handle kernel"),
    ("lockdep", r"possible circular locking dependency|possible recursive locking"
                r"|inconsistent lock state|suspicious RCU usage"),
    ("hung", r"INFO: task .+ blocked for more than"),
    ("rcu-stall", r"rcu: INFO: .*detected stalls|rcu_.*self-detected stall"),
    ("soft-lockup", r"soft lockup|hard LOCKUP"),
    ("kasan", r"BUG: KASAN:|KASAN:"),
    ("ubsan", r"UBSAN:"),
    ("call-trace", r"Call Trace:|Call trace:"),
)
_COMPILED = [(kind, re.compile(rx)) for kind, rx in SPLAT_PATTERNS]
EXCERPT_LINES = 30


@dataclass(frozen=True)
class Splat:
    kind: str
    line_no: int        # 1-based line of the first matching line
    excerpt: str


def _strip_timestamp(line: str) -> str:
    return re.sub(r"^\[\s*\d+\.\d+\]\s?", "", line)


def scan(text: str) -> list[Splat]:
    """Splats in a console log; a Call Trace right after another splat's
    first line belongs to that splat and is not reported again."""
    lines = text.splitlines()
    splats: list[Splat] = []
    covered_until = 0
    for i, raw in enumerate(lines):
        if i < covered_until:
            continue
        line = _strip_timestamp(raw)
        for kind, rx in _COMPILED:
            if rx.search(line):
                excerpt = "\n".join(lines[max(0, i - 2): i + EXCERPT_LINES])
                splats.append(Splat(kind, i + 1, excerpt))
                covered_until = i + EXCERPT_LINES
                break
    return splats


def scan_file(path: Path) -> list[Splat]:
    try:
        return scan(path.read_text(errors="replace"))
    except FileNotFoundError:
        return []


def tail(path: Path, lines: int = 40) -> str:
    """The console log's last lines, for an error's detail."""
    return proc.tail(path, lines, indent="", missing="(no console log)")


def decode(excerpt: str, vmlinux: Path, srctree: Path, cross_compile: str) -> str | None:
    """The excerpt through the tree's scripts/decode_stacktrace.sh, so a
    stack shows file:line in the developer's source (when the build has
    debug info; symbol+offset otherwise). None when it cannot run."""
    script = srctree / "scripts" / "decode_stacktrace.sh"
    if not script.exists() or not vmlinux.exists():
        return None
    env = dict(os.environ, CROSS_COMPILE=cross_compile)
    try:
        r = proc.run(["bash", str(script), str(vmlinux), str(srctree)], input=excerpt,
                     what="decode_stacktrace.sh", timeout=120, env=env, check=False)
    except (OSError, HarnessError):
        return None
    return r.stdout if r.returncode == 0 and r.stdout.strip() else None
