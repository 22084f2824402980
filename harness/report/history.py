"""Run history in SQLite (stdlib sqlite3) beside the run directories, so
the nightly can compare tonight with the last good run of the same series
on the same base. The schema carries a version; an older database is
migrated in place, a newer one is refused rather than misread.

"The same series" is its name (a directory's, an mbox's, a --range tip's)
and the same suites (arches, configs): tonight's patches may differ from
last night's, which is what the comparison is for; the digest of the
patches is kept so the nightly can say whether they did."""

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..errors import HarnessError
from ..results import ERROR, FAILED, Suite, load_suites

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    path        TEXT NOT NULL,
    started     TEXT,
    series      TEXT NOT NULL,      -- names of the kernels run, joined with ','
    series_key  TEXT NOT NULL,      -- digest of the patches ('' for base only)
    base        TEXT NOT NULL,      -- kernel version string of the base tree
    good        INTEGER NOT NULL,   -- 1 when every check passed or was skipped
    checks      INTEGER NOT NULL,
    bad         INTEGER NOT NULL,
    suites      TEXT NOT NULL DEFAULT ''  -- suite names run, sorted, joined with ','
);
CREATE TABLE IF NOT EXISTS checks (
    run_id   TEXT NOT NULL REFERENCES runs(run_id),
    suite    TEXT NOT NULL,
    name     TEXT NOT NULL,
    status   TEXT NOT NULL,
    seconds  REAL,
    coverage REAL,
    PRIMARY KEY (run_id, suite, name)
);
"""


def open_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise HarnessError(f"{path}: history schema v{version} is newer than this harness "
                           f"(v{SCHEMA_VERSION})")
    db.executescript(SCHEMA)
    if version == 1:
        _migrate_v1(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.commit()
    return db


def _migrate_v1(db: sqlite3.Connection) -> None:
    """v1 had no runs.suites: add it, filled from each run's checks."""
    db.execute("ALTER TABLE runs ADD COLUMN suites TEXT NOT NULL DEFAULT ''")
    for (run_id,) in db.execute("SELECT run_id FROM runs").fetchall():
        names = [r[0] for r in db.execute(
            "SELECT DISTINCT suite FROM checks WHERE run_id = ?", (run_id,))]
        db.execute("UPDATE runs SET suites = ? WHERE run_id = ?",
                   (suites_id(names), run_id))


def suites_id(names: list[str]) -> str:
    return ",".join(sorted(set(names)))


def matrix_suites_id(suites: list[Suite]) -> str:
    """The run's (kernel, arch) suites: what makes two runs comparable. The
    per-patch suite is left out, so a run of the walk compares with runs
    from before it was saved, and a merged CI run with its cells' nightly."""
    return suites_id([s.name for s in suites if not s.per_patch])


def record(db: sqlite3.Connection, run_dir: Path, series_key: str) -> bool:
    """Add one finished run; return whether it was good."""
    meta = json.loads((run_dir / "run.json").read_text())
    suites = load_suites(run_dir)
    checks = [(s, c) for s in suites for c in s.checks]
    bad = sum(1 for _, c in checks if c.status in (FAILED, ERROR))
    good = bool(checks) and bad == 0
    with db:
        db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (meta["run_id"], str(run_dir.resolve()), meta.get("started"),
                    ",".join(meta.get("kernels", [])), series_key,
                    meta.get("kernel_version", ""), int(good), len(checks), bad,
                    matrix_suites_id(suites)))
        db.execute("DELETE FROM checks WHERE run_id = ?", (meta["run_id"],))
        db.executemany("INSERT INTO checks VALUES (?,?,?,?,?,?)", [
            (meta["run_id"], s.name, c.name, c.status, c.seconds,
             float(c.properties["coverage"]) if "coverage" in c.properties else None)
            for s, c in checks])
    return good


@dataclass(frozen=True)
class PastRun:
    path: Path
    series_key: str


def last_good(db: sqlite3.Connection, run_dir: Path, base: str) -> PastRun | None:
    """The newest good run before `run_dir` with the same kernels (by name),
    base and suites."""
    meta = json.loads((run_dir / "run.json").read_text())
    suites = matrix_suites_id(load_suites(run_dir))
    rows = db.execute(
        "SELECT path, series_key FROM runs WHERE good = 1 AND series = ? AND base = ? "
        "AND suites = ? AND run_id < ? ORDER BY run_id DESC",
        (",".join(meta.get("kernels", [])), base, suites, meta["run_id"])).fetchall()
    for path, key in rows:
        if Path(path).is_dir():      # a run directory cleaned away: look further back
            return PastRun(Path(path), key)
    return None
