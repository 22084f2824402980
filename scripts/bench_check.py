#!/usr/bin/env python3
"""Benchmark of the developer loop (`pt-harness check`), printing figures.

Measures, on this machine, with a developer tree made as a git clone of the
cached Debian tree (so it is a real git tree the harness does not own):

  1. first: first `check` of the tree in this benchmark, both arches (a
            build from scratch if the tree was never built, else whatever
            make finds to do since the last benchmark);
  2. warm:  the same command again with nothing changed;
  3. touch: after appending a comment to one file in mm/;
  4. boot:  boot-to-SSH seconds per arch, from the runs' JUnit.

Usage: .venv/bin/python scripts/bench_check.py [--tree DIR] [--workload NAME]
Targets (issue): warm < 30 s, touch < 3 min, boot < 5 s per arch.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.cache import cache_root  # noqa: E402


def sh(*argv: str, cwd: Path | None = None) -> None:
    subprocess.run(argv, cwd=cwd, check=True)


def timed_check(tree: Path, results: Path, workload: str,
                arches: list[str]) -> tuple[float, int, Path]:
    t0 = time.monotonic()
    argv = [sys.executable, "-m", "harness.cli", "check", "--base", "--kernel-src", str(tree),
            "--workload", workload, "--results", str(results)]
    for arch in arches:
        argv += ["--arch", arch]
    r = subprocess.run(argv, cwd=REPO)
    run = max(results.iterdir(), key=lambda p: p.stat().st_mtime)
    return time.monotonic() - t0, r.returncode, run


def boot_times(run: Path) -> dict[str, str]:
    out = {}
    for f in sorted(run.glob("*/result.json")):
        suite = json.loads(f.read_text())
        for c in suite["checks"]:
            if c["name"] == "boot" and "boot_to_ssh_s" in c["properties"]:
                out[suite["arch"]] = c["properties"]["boot_to_ssh_s"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", type=Path, default=cache_root() / "bench" / "linux")
    ap.add_argument("--workload", default="dontneed-small")
    ap.add_argument("--arch", action="append", default=[],
                    help="only these arches (default: both, as the targets are stated)")
    args = ap.parse_args()
    src = next((cache_root() / "src").glob("linux-source-*/linux"), None)
    if src is None:
        print("run `pt-harness run` once first: no cached kernel source", file=sys.stderr)
        return 2
    if not (args.tree / ".git").exists():
        sh("git", "clone", "-q", "--shared", "--no-checkout", str(src), str(args.tree))
        # The base kernel as Debian ships it, whatever the cached tree has
        # checked out at the moment.
        sh("git", "checkout", "-q", "-B", "bench", "origin/pt-harness-base", cwd=args.tree)
    results = Path("/tmp/pt-bench-results")
    results.mkdir(exist_ok=True)
    figures = {}
    for label in ("first", "warm"):
        secs, rc, run = timed_check(args.tree, results, args.workload, args.arch)
        figures[label] = (secs, rc, run)
    f = args.tree / "mm" / "madvise.c"
    f.write_text(f.read_text() + f"/* bench {time.time()} */\n")
    figures["touch mm/madvise.c"] = timed_check(args.tree, results, args.workload, args.arch)
    sh("git", "checkout", "-q", "--", "mm/madvise.c", cwd=args.tree)
    print(f"\npt-harness check, {' '.join(args.arch) or 'both arches'}, workload",
          args.workload)
    for label, (secs, rc, run) in figures.items():
        boots = ", ".join(f"{a} {s}s" for a, s in boot_times(run).items())
        print(f"  {label:20} {secs:7.1f} s  exit {rc}  boot-to-SSH: {boots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
