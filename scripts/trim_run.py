#!/usr/bin/env python3
"""Copy a real run directory into tests/golden/, trimmed: bulk removed,
no value edited.

    scripts/trim_run.py SRC DST [--every N] [--build-log-lines N]

Kept as the run wrote them: run.json, apply-*.log and, per suite,
result.json, the console logs, splats-decoded.txt, the KTAP and the
overhead-*/neighbour-*.json records. Cut: build.log to its last lines and
each samples-*.json's sampler samples to every Nth and the last (records,
stdout and stderr as the guest printed them). Left out: kernel.config and
the reports the run rendered (junit.xml, report.html, report.png,
summary.txt, kcidb.json), which `pt-harness report` rebuilds.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

REPORTS = {"junit.xml", "report.html", "report.png", "summary.txt", "kcidb.json"}
DROPPED = {"kernel.config"}


def trim_samples(src: Path, dst: Path, every: int) -> None:
    raw = json.loads(src.read_text())
    samples = raw.get("samples", [])
    if len(samples) > every:
        raw["samples"] = samples[::every] + ([samples[-1]] if (len(samples) - 1) % every else [])
    dst.write_text(json.dumps(raw, indent=1) + "\n")


def trim_suite(src: Path, dst: Path, every: int, log_lines: int) -> None:
    dst.mkdir(parents=True)
    for f in sorted(src.iterdir()):
        if not f.is_file() or f.name in DROPPED:
            continue
        if f.name == "build.log":
            lines = f.read_text(errors="replace").splitlines()
            (dst / f.name).write_text("\n".join(lines[-log_lines:]) + "\n")
        elif f.name.startswith("samples-") and f.suffix == ".json":
            trim_samples(f, dst / f.name, every)
        else:
            shutil.copyfile(f, dst / f.name)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--build-log-lines", type=int, default=40)
    a = ap.parse_args(argv)
    if a.dst.exists():
        ap.error(f"{a.dst} exists")
    a.dst.mkdir(parents=True)
    for f in sorted(a.src.iterdir()):
        if f.is_dir() and (f / "result.json").is_file():
            trim_suite(f, a.dst / f.name, a.every, a.build_log_lines)
        elif f.is_file() and f.name not in REPORTS:
            shutil.copyfile(f, a.dst / f.name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
