import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import mbox_breaking_arm64
from junitparser import JUnitXml

from harness import cli
from harness.commands import run as run_command
from harness.commands.plan import Job, jobs, merge, parse_job, plan_json
from harness.errors import BadInput

REPO = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).parent / "golden" / "run-sample"


def test_plan_covers_arch_kernel_config() -> None:
    js = jobs(("x86_64", "arm64"))
    ids = {j.id for j in js}
    assert {"x86_64-base-default", "arm64-base-default"} <= ids
    # The series' per-patch walk too, one cell per arch.
    assert {"x86_64-patches-default", "arm64-patches-default"} <= ids
    assert all(parse_job(j.id) == j for j in js)
    doc = json.loads(plan_json(js, "github"))
    assert [c["job"] for c in doc["include"]] == [j.id for j in js]
    gl = json.loads(plan_json(js, "gitlab"))
    assert gl[0]["PT_HARNESS_JOB"] == [j.id for j in js]


def test_bad_job_id() -> None:
    with pytest.raises(BadInput, match="expected ARCH-"):
        parse_job("x86_64-nightly")
    with pytest.raises(BadInput, match="default config only"):
        parse_job("x86_64-patches-debug")
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


def test_merge_joins_the_per_patch_cells(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-patch cells of `plan` (`run --job ARCH-patches-default`, one
    arch each, the walk built for real on a tiny tree) merge with matrix
    cells into one run holding one per-patch suite of both arches."""
    monkeypatch.setenv("PT_HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(run_command, "screenshot", lambda run_dir: None)     # Chromium: seconds
    monkeypatch.setattr(signal, "signal", lambda *args: None)       # pytest keeps its own
    tree, mbox = mbox_breaking_arm64(tmp_path)
    cells = split_sample(tmp_path)
    for arch, status in (("x86_64", 0), ("arm64", 1)):
        out = tmp_path / f"cell-{arch}-patches"
        assert cli.main(["run", "--job", f"{arch}-patches-default", "--kernel-src",
                         str(tree.path), "--series", str(mbox), "--results", str(out)]) == status
        cells += list(out.iterdir())
    r = subprocess.run([sys.executable, "-m", "harness.cli", "merge", *map(str, cells),
                        "--results", str(tmp_path / "merged")], cwd=REPO, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    (run,) = list((tmp_path / "merged").iterdir())
    suites = {s.name: s for s in JUnitXml.fromfile(str(run / "junit.xml"))}
    assert set(suites) == {"pt-reclaim/arm64", "pt-reclaim/x86_64", "v1-patches/all"}
    names = [c.name for c in suites["v1-patches/all"]]
    assert len(names) == len(set(names)) == 1 + 4 + 4 * 2 + 4 * 2 - 1   # both cells' apply
    assert [c.name for c in suites["v1-patches/all"] if c.result] == [
        "build:03-mm-add-an-arm64-only-counter/arm64"]
    text = (run / "summary.txt").read_text()
    assert re.search(r"^patch +checkpatch +arm64 +x86_64$", text, re.M)   # merge sorts them
    assert re.search(r"^03-mm-add-an-arm64-only-counter +ok +FAIL/- +ok/ok$", text, re.M)
    for log in ("build-x86_64.log", "build-arm64.log", "w1-x86_64.log", "checkpatch.log"):
        assert (run / "v1-patches-all" / log).is_file()
    assert 'href="v1-patches-all/build-arm64.log"' in (run / "report.html").read_text()


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
