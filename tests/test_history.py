import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.history import last_good, open_db, record

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


def test_last_good_of_same_series_and_base(tmp_path: Path) -> None:
    db = open_db(tmp_path / "history.sqlite")
    r1 = make_run(tmp_path, "20261101-000000-aaaa", good=True)
    r2 = make_run(tmp_path, "20261102-000000-bbbb", good=False)
    assert record(db, r1, "k1") is True
    assert record(db, r2, "k1") is False
    base = json.loads((r1 / "run.json").read_text()).get("kernel_version", "")
    assert last_good(db, "k1", base) == r1.resolve()
    assert last_good(db, "other-series", base) is None
    assert last_good(db, "k1", base, before="20261101-000000-aaaa") is None
    n = db.execute("SELECT COUNT(*) FROM checks WHERE run_id = ?", (r1.name,)).fetchone()[0]
    assert n > 5


def test_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(HarnessError, match="newer than this harness"):
        open_db(path)
