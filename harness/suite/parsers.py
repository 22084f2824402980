"""Parsers for what the guest prints: /proc files and workload records.

Pure functions over text, tested against golden files in tests/golden/.
"""

import json
import re
from typing import Any

_KB_LINE = re.compile(r"^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$")


def parse_kb_file(text: str) -> dict[str, int]:
    """`Key: value [kB]` lines, as in /proc/meminfo and /proc/PID/status."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        if m := _KB_LINE.match(line.strip()):
            out[m.group(1)] = int(m.group(2))
    return out


def parse_meminfo(text: str) -> dict[str, int]:
    return parse_kb_file(text)


def parse_status(text: str) -> dict[str, int]:
    """Numeric kB fields of /proc/PID/status (VmPTE, VmRSS, ...)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"^(Vm\w+|Rss\w+|HugetlbPages):\s+(\d+) kB$", line.strip())
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def parse_vmstat(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


RECORD_PREFIX = "PTREC "


def parse_records(stdout: str) -> list[dict[str, Any]]:
    """The workload's phase records, in order; other output is ignored, a
    record that is not valid JSON is kept as a 'malformed' record."""
    records: list[dict[str, Any]] = []
    for line in stdout.splitlines():
        if not line.startswith(RECORD_PREFIX):
            continue
        try:
            rec = json.loads(line[len(RECORD_PREFIX):])
        except json.JSONDecodeError:
            rec = {"phase": "malformed", "line": line}
        if not isinstance(rec, dict) or "phase" not in rec:
            rec = {"phase": "malformed", "line": line}
        records.append(rec)
    return records


def cpu_list_count(text: str) -> int:
    """CPUs in a kernel CPU list such as /sys/devices/system/cpu/online
    ("0-1", "0,2-3", "0"); 0 for an empty or malformed list."""
    count = 0
    for part in text.strip().split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip())
        if not m:
            return 0
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if last < first:
            return 0
        count += last - first + 1
    return count
