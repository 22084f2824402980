"""Run history in SQLite (stdlib sqlite3) beside the run directories, so
the nightly can compare tonight with the last good run of the same series
on the same base. The schema carries a version; an older database is
migrated in place, a newer one is refused rather than misread."""

import json
import sqlite3
from pathlib import Path

from .errors import HarnessError
from .results import ERROR, FAILED, load_suites

SCHEMA_VERSION = 1
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
    bad         INTEGER NOT NULL
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
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.commit()
    return db


def record(db: sqlite3.Connection, run_dir: Path, series_key: str) -> bool:
    """Add one finished run; return whether it was good."""
    meta = json.loads((run_dir / "run.json").read_text())
    suites = load_suites(run_dir)
    checks = [(s, c) for s in suites for c in s.checks]
    bad = sum(1 for _, c in checks if c.status in (FAILED, ERROR))
    good = bool(checks) and bad == 0
    with db:
        db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?)",
                   (meta["run_id"], str(run_dir.resolve()), meta.get("started"),
                    ",".join(meta.get("kernels", [])), series_key,
                    meta.get("kernel_version", ""), int(good), len(checks), bad))
        db.execute("DELETE FROM checks WHERE run_id = ?", (meta["run_id"],))
        db.executemany("INSERT INTO checks VALUES (?,?,?,?,?,?)", [
            (meta["run_id"], s.name, c.name, c.status, c.seconds,
             float(c.properties["coverage"]) if "coverage" in c.properties else None)
            for s, c in checks])
    return good


def last_good(db: sqlite3.Connection, series_key: str, base: str,
              before: str | None = None) -> Path | None:
    """The newest good run of this series on this base (older than `before`)."""
    row = db.execute(
        "SELECT path FROM runs WHERE good = 1 AND series_key = ? AND base = ? "
        "AND (? IS NULL OR run_id < ?) ORDER BY run_id DESC LIMIT 1",
        (series_key, base, before, before)).fetchone()
    return Path(row[0]) if row and Path(row[0]).is_dir() else None
