import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml

from harness.errors import BadInput
from harness.plan import Job, jobs, merge, parse_job, plan_json

REPO = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).parent / "golden" / "run-sample"


def test_plan_covers_arch_kernel_config() -> None:
    js = jobs(("x86_64", "arm64"))
    ids = {j.id for j in js}
    assert {"x86_64-base-default", "arm64-base-default"} <= ids
    assert all(parse_job(j.id) == j for j in js)
    doc = json.loads(plan_json(js, "github"))
    assert [c["job"] for c in doc["include"]] == [j.id for j in js]
    gl = json.loads(plan_json(js, "gitlab"))
    assert gl[0]["PT_HARNESS_JOB"] == [j.id for j in js]


def test_bad_job_id() -> None:
    with pytest.raises(BadInput, match="expected ARCH-"):
        parse_job("x86_64-nightly")
    assert parse_job("arm64-patched-debug") == Job("arm64", "patched", "debug")


def split_sample(tmp: Path) -> list[Path]:
    """The sample run cut into one run per suite, as CI cells would leave."""
    cells = []
    for suite in sorted(p.parent.name for p in SAMPLE.glob("*/result.json")):
        cell = tmp / f"cell-{suite}"
        cell.mkdir()
        shutil.copyfile(SAMPLE / "run.json", cell / "run.json")
        shutil.copytree(SAMPLE / suite, cell / suite)
        cells.append(cell)
    return cells


def test_merge_round_trip_via_cli(tmp_path: Path) -> None:
    cells = split_sample(tmp_path)
    out = tmp_path / "merged"
    r = subprocess.run([sys.executable, "-m", "harness.cli", "merge", *map(str, cells),
                        "--results", str(out)], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (run,) = list(out.iterdir())
    xml = JUnitXml.fromfile(str(run / "junit.xml"))
    names = sorted(s.name for s in xml)
    assert len(names) == len(cells)
    assert (run / "report.html").exists() and (run / "summary.txt").exists()
    meta = json.loads((run / "run.json").read_text())
    assert len(meta["merged_from"]) == len(cells)


def test_merge_refuses_the_same_suite_twice(tmp_path: Path) -> None:
    cells = split_sample(tmp_path)
    with pytest.raises(BadInput, match="is in both"):
        merge([cells[0], cells[0]], tmp_path / "out")


def test_ci_examples_name_real_commands_and_jobs() -> None:
    """The example workflows must call commands that exist and list the
    cells that `plan` prints."""
    import yaml  # type: ignore[import-untyped]
    gh = yaml.safe_load((REPO / "ci-examples" / "github-actions.yml").read_text())
    assert {"plan", "cell", "merge"} <= set(gh["jobs"])
    gl = yaml.safe_load((REPO / "ci-examples" / "gitlab-ci.yml").read_text())
    listed = gl["cell"]["parallel"]["matrix"][0]["PT_HARNESS_JOB"]
    for job_id in listed:
        parse_job(job_id)
    text = (REPO / "ci-examples" / "github-actions.yml").read_text()
    for cmd in ("plan --format github", "run --job", "merge"):
        assert f"pt-harness {cmd}" in text
