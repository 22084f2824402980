"""Every data file against its schema (harness/schema.py): the project's
own files load, and each typo issue 15 names is refused in one line naming
the file, the table and the key, as bad input (exit status 2)."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness import schema
from harness.errors import EXIT_HARNESS_ERROR, BadInput
from harness.report.compare import load_thresholds
from harness.suite.catalog import load_catalog
from harness.suite.findings import load_findings
from harness.suite.modes import load_expectations, load_modes
from harness.suite.neighbours import load_neighbours
from harness.suite.overhead import load_overhead
from harness.suite.peer_plan import load_peer

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "harness" / "data"


def edited(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """The project's data file `name` with one edit, in tmp_path."""
    text = (DATA / name).read_text()
    assert old in text, f"{old!r} not in {name}"
    out = tmp_path / name
    out.write_text(text.replace(old, new, 1))
    return out


def test_every_data_file_has_a_schema_and_fits_it() -> None:
    schemas: dict[str, Any] = {"modes.toml": schema.ModesFile, "workloads.toml": schema.CatalogFile,
               "expectations.toml": schema.ExpectationsFile,
               "thresholds.toml": schema.ThresholdsFile, "overhead.toml": schema.OverheadFile,
               "neighbours.toml": schema.NeighboursFile, "peer.toml": schema.PeerFile,
               "findings.toml": schema.FindingsFile, "knobs.toml": schema.KnobsFile}
    assert {p.name for p in DATA.glob("*.toml")} == set(schemas)
    for name, s in schemas.items():
        schema.load(DATA / name, s)
    # tests/data's catalog is loaded like the project's (--catalog).
    assert "panic" in load_catalog(REPO / "tests" / "data" / "faults.toml")


def test_the_loaders_give_the_same_values_as_before() -> None:
    modes = load_modes()
    assert modes["always"].knobs == (("scan_delay_ms", "100"), ("scan_tables", "8192"))
    assert modes["madvise-prctl"].prctl == "enable" and modes["base"].sysfs is None
    cat = load_catalog()
    assert cat["dontneed-whole"].command[:3] == ("sparse", "--size-mb", "4096")
    assert cat["dontneed-whole"].timeout == 180.0
    assert ("vmpte_before_kb", "102640") in cat["rfc-50g"].published
    th = {m.name: m for m in load_thresholds().metrics}
    assert th["coverage"].max_change == 0.02 and th["tables_left"].max_change is None
    assert th["wallclock_ratio_median"].figure == "ratio_median"
    assert th["run_ms"].min_value == 200
    assert [p.pace for p in load_overhead()] == ["default", "aggressive", "aggressive"]
    assert len(load_expectations()) > 10 and load_findings() == []
    assert [p.check for p in load_neighbours(list(cat.values()))] == [
        "neighbour:neighbour-latency", "neighbour:tlb-churn", "neighbour:uffd-copy"]
    plan = load_peer("full")
    assert plan is not None and plan.modes[1].budget[0] == ("scan_tables", "1048576")


def test_max_chnage_in_thresholds(tmp_path: Path) -> None:
    bad = edited(tmp_path, "thresholds.toml", "max_change = 0.02", "max_chnage = 0.02")
    with pytest.raises(BadInput, match=r"thresholds.toml: \[metric.coverage\] max_chnage: "
                                       r"unknown key$"):
        load_thresholds(bad)


def test_timout_in_the_catalog(tmp_path: Path) -> None:
    bad = edited(tmp_path, "workloads.toml", "timeout = 180", "timout = 180")
    with pytest.raises(BadInput, match=r"workloads.toml: \[dontneed-whole\] timout: "
                                       r"unknown key$"):
        load_catalog(bad)


def test_workload_arg_in_modes(tmp_path: Path) -> None:
    bad = edited(tmp_path, "modes.toml", 'workload_args = ["--reclaim"]',
                 'workload_arg = ["--reclaim"]')
    with pytest.raises(BadInput, match=r"modes.toml: \[madvise\] workload_arg: unknown key$"):
        load_modes(bad)


def test_command_a_string_where_a_list_is_required(tmp_path: Path) -> None:
    bad = edited(tmp_path, "workloads.toml",
                 'command = ["sparse", "--size-mb", "4096", "--free", "whole"]',
                 'command = "sparse"')
    with pytest.raises(BadInput, match=r"workloads.toml: \[dontneed-whole\] command: input "
                                       r"should be a valid list, not 'sparse'$"):
        load_catalog(bad)


@pytest.mark.parametrize("name, old, new, message", [
    ("workloads.toml", "timeout = 180", 'timeout = "180"',
     r"\[dontneed-whole\] timeout: input should be a valid number, not '180'"),
    ("workloads.toml", "default = true", 'default = "yes"',
     r"\[dontneed-whole\] default: input should be a valid boolean, not 'yes'"),
    ("workloads.toml", '"--free", "whole"]', '"--free", 1]',
     r"\[dontneed-whole\] command\[4\]: input should be a valid string, not 1"),
    ("modes.toml", 'scan_delay_ms = "100"', "scan_delay_ms = 100",
     r"\[madvise-prctl.knobs\] scan_delay_ms: input should be a valid string, not 100"),
    ("modes.toml", 'kernel = "patched"', 'kernel = "pached"',
     r"\[never\] kernel: input should be 'base' or 'patched', not 'pached'"),
    ("modes.toml", 'sysfs = "never"', 'sysfs = "nevr"', r"\[never\] sysfs: input should be"),
    ("expectations.toml", "min_coverage = 0.95", 'min_coverage = "0.95"',
     r"\[expect#1\] min_coverage: input should be a valid number, not '0.95'"),
    ("thresholds.toml", 'worse = "lower"', 'worse = "down"',
     r"\[metric.coverage\] worse: input should be 'higher' or 'lower', not 'down'"),
    ("thresholds.toml", "relative = false", 'relative = "no"',
     r"\[metric.coverage\] relative: input should be a valid boolean"),
    ("overhead.toml", "rounds = 3", 'rounds = "3"',
     r"\[benchmark#1\] rounds: input should be a valid integer, not '3'"),
    ("neighbours.toml", "rounds = 5", "rounds = 5.5",
     r"\[benchmark#1\] rounds: input should be a valid integer, not 5.5"),
    ("neighbours.toml", 'figure = "mmap_max_us"', 'figur = "mmap_max_us"',
     r"\[benchmark#1.bound#1\] figur: unknown key; \[benchmark#1.bound#1\] figure: missing"),
    ("peer.toml", "swap_mb = 512", "swap_mb = -1",
     r"\[environment\] swap_mb: input should be greater than or equal to 0, not -1"),
    ("peer.toml", 'name = "mremap_dontunmap"', 'nam = "mremap_dontunmap"',
     r"\[program#2\] nam: unknown key"),
    ("knobs.toml", 'names = ["scan_delay_ms", "scan_tables"]', 'names = "scan_delay_ms"',
     r"names: input should be a valid list, not 'scan_delay_ms'"),
    ("expectations.toml", "pagetables_noise_kb = 1024", 'pagetables_noise_kb = "1 MB"',
     r"\[plausibility\] pagetables_noise_kb: input should be a valid integer"),
])
def test_wrong_types_and_keys_are_refused(tmp_path: Path, name: str, old: str, new: str,
                                          message: str) -> None:
    bad = edited(tmp_path, name, old, new)
    s: Any = {"workloads.toml": schema.CatalogFile, "modes.toml": schema.ModesFile,
         "expectations.toml": schema.ExpectationsFile, "thresholds.toml": schema.ThresholdsFile,
         "overhead.toml": schema.OverheadFile, "neighbours.toml": schema.NeighboursFile,
         "peer.toml": schema.PeerFile, "findings.toml": schema.FindingsFile,
         "knobs.toml": schema.KnobsFile}[name]
    with pytest.raises(BadInput, match=f"^{tmp_path}/{name}: {message}") as e:
        schema.load(bad, s)
    assert "\n" not in str(e.value)


def test_a_file_in_the_repository_is_named_from_its_root() -> None:
    assert schema.shown(DATA / "thresholds.toml") == "harness/data/thresholds.toml"
    assert schema.shown(Path("/elsewhere/t.toml")) == "/elsewhere/t.toml"


def test_many_errors_stay_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "w.toml"
    bad.write_text("[a]\nx = 1\ny = 2\nz = 3\nw = 4\ncommand = []\n")
    with pytest.raises(BadInput) as e:
        load_catalog(bad)
    msg = str(e.value)
    assert "\n" not in msg and msg.endswith("; and 2 more")


def test_a_bad_data_file_is_bad_input_on_the_command_line(tmp_path: Path) -> None:
    """Through the CLI: exit status 2 and one line, as any bad input."""
    bad = edited(tmp_path, "workloads.toml", "timeout = 180", "timout = 180")
    r = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--catalog", str(bad),
                        "--results", str(tmp_path / "r")], cwd=REPO, capture_output=True,
                       text=True, timeout=120, env=dict(os.environ))
    assert r.returncode == EXIT_HARNESS_ERROR, r.stderr
    assert r.stderr.strip() == (f"pt-harness: error: {bad}: [dontneed-whole] timout: "
                                "unknown key")
    assert not (tmp_path / "r").exists()


def test_knob_names_and_mode_colours_are_data(tmp_path: Path) -> None:
    import argparse

    from harness.cli import _knob
    from harness.report.svgchart import Line, line_chart, mode_styles
    from harness.suite.modes import knob_names
    assert knob_names() == ("scan_delay_ms", "scan_tables")
    # --knob's type (cli._knob) checks against the names of knobs.toml.
    assert _knob("scan_tables=16") == ("scan_tables", "16")
    with pytest.raises(argparse.ArgumentTypeError,
                       match="NAME one of scan_delay_ms, scan_tables"):
        _knob("scan_size_mb=256")
    # The colours the charts always had, now from modes.toml.
    colours, dashed = mode_styles()
    assert colours == {"base": "#555555", "never": "#d95f02", "madvise": "#1f78b4",
                       "madvise-prctl": "#7b3294", "always": "#1b9e77"}
    assert dashed == {"base"}
    modes = load_modes(edited(tmp_path, "modes.toml", 'colour = "#d95f02"',
                              'colour = "#abcdef"'))
    svg = line_chart("t", [Line("never", ((0.0, 1.0), (1.0, 2.0)))], "x", "y", modes)
    assert 'stroke="#abcdef"' in svg and "#d95f02" not in svg
