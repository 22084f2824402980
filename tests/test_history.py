import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.report.history import last_good, open_db, record

SAMPLE = Path(__file__).parent / "golden" / "run-sample"


def make_run(parent: Path, run_id: str, good: bool) -> Path:
    run = parent / run_id
    shutil.copytree(SAMPLE, run)
    meta = json.loads((run / "run.json").read_text())
    meta["run_id"] = run_id
    (run / "run.json").write_text(json.dumps(meta))
    if good:
        for f in run.glob("*/result.json"):
            raw = json.loads(f.read_text())
            for c in raw["checks"]:
                if c["status"] in ("failed", "error"):
                    c["status"] = "passed"
            f.write_text(json.dumps(raw))
    return run


def test_last_good_of_same_series_base_and_suites(tmp_path: Path) -> None:
    db = open_db(tmp_path / "history.sqlite")
    r1 = make_run(tmp_path, "20261101-000000-aaaa", good=True)
    r2 = make_run(tmp_path, "20261102-000000-bbbb", good=False)
    r3 = make_run(tmp_path, "20261103-000000-cccc", good=True)
    assert record(db, r1, "k1") is True
    assert record(db, r2, "k2") is False
    base = json.loads((r1 / "run.json").read_text()).get("kernel_version", "")
    # Last night's patches differ (k1 vs k3): still the run to compare with.
    previous = last_good(db, r3, base)
    assert previous is not None and previous.path == r1.resolve()
    assert previous.series_key == "k1"
    assert last_good(db, r3, "7.4") is None                  # another base
    assert last_good(db, r1, base) is None                   # nothing older
    n = db.execute("SELECT COUNT(*) FROM checks WHERE run_id = ?", (r1.name,)).fetchone()[0]
    assert n > 5


def test_other_arches_or_series_are_not_compared(tmp_path: Path) -> None:
    db = open_db(tmp_path / "history.sqlite")
    r1 = make_run(tmp_path, "20261101-000000-aaaa", good=True)
    record(db, r1, "k1")
    base = json.loads((r1 / "run.json").read_text()).get("kernel_version", "")
    one_arch = make_run(tmp_path, "20261102-000000-bbbb", good=True)
    for d in one_arch.glob("*-arm64"):
        shutil.rmtree(d)
    assert any(r1.glob("*-arm64")) and last_good(db, one_arch, base) is None
    renamed = make_run(tmp_path, "20261103-000000-cccc", good=True)
    meta = json.loads((renamed / "run.json").read_text())
    meta["kernels"] = ["other-series"]
    (renamed / "run.json").write_text(json.dumps(meta))
    assert last_good(db, renamed, base) is None


def test_v1_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    r1 = make_run(tmp_path, "20261101-000000-aaaa", good=True)
    v1 = sqlite3.connect(path)
    v1.executescript("""
        CREATE TABLE runs (run_id TEXT PRIMARY KEY, path TEXT NOT NULL, started TEXT,
            series TEXT NOT NULL, series_key TEXT NOT NULL, base TEXT NOT NULL,
            good INTEGER NOT NULL, checks INTEGER NOT NULL, bad INTEGER NOT NULL);
        CREATE TABLE checks (run_id TEXT NOT NULL, suite TEXT NOT NULL, name TEXT NOT NULL,
            status TEXT NOT NULL, seconds REAL, coverage REAL,
            PRIMARY KEY (run_id, suite, name));
        PRAGMA user_version = 1;""")
    meta = json.loads((r1 / "run.json").read_text())
    base = meta.get("kernel_version", "")
    v1.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,1,2,0)",
               (r1.name, str(r1.resolve()), None, ",".join(meta["kernels"]), "k1", base))
    suites = [f"{d['kernel']}/{d['arch']}"
              for d in (json.loads(f.read_text()) for f in r1.glob("*/result.json"))]
    v1.executemany("INSERT INTO checks VALUES (?,?,'boot','passed',1.0,NULL)",
                   [(r1.name, s) for s in suites])
    v1.commit()
    v1.close()
    db = open_db(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    r2 = make_run(tmp_path, "20261102-000000-bbbb", good=True)
    previous = last_good(db, r2, base)
    assert previous is not None and previous.path == r1.resolve()


def test_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(HarnessError, match="newer than this harness"):
        open_db(path)
