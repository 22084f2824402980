"""The *-defaults modes and the scale workloads as data: which workload
runs in which mode, the kernel's boot-time knobs written back, and the
time and VmPTE bounds of the verdict."""

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.suite.catalog import idle_workloads, load_catalog
from harness.suite.figures import Figures
from harness.suite.modes import Expectation, judge, load_expectations, load_modes
from harness.suite.workload_runner import parse_knobs, setup_mode

MODES = load_modes()
CATALOG = load_catalog()
SCALE = ("rfc-50g", "rfc-50g-small", "sparse-huge")


class RecordingGuest:
    """Says yes to everything and remembers what it was asked."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def run(self, command: str, timeout: float) -> SimpleNamespace:
        self.commands.append(command)
        return SimpleNamespace(exit_status=0, stderr="", stdout="")


def test_defaults_modes_restore_and_run_only_listed_workloads() -> None:
    for name in ("always-defaults", "madvise-prctl-defaults"):
        mode = MODES[name]
        assert mode.default_knobs and mode.opt_in and not mode.knobs
        # Long enough to measure a miss, bounded.
        wait = int(mode.workload_args[mode.workload_args.index("--wait-ms") + 1])
        assert 30_000 <= wait <= 120_000
    ordinary = CATALOG["dontneed-small"]
    assert not ordinary.runs_in(MODES["always-defaults"])
    assert ordinary.runs_in(MODES["always"])
    assert CATALOG["rfc-50g-small"].runs_in(MODES["always-defaults"])
    assert not CATALOG["rfc-50g-small"].runs_in(MODES["always"])


def test_catalog_names_only_modes_that_exist() -> None:
    for w in CATALOG.values():
        assert set(w.modes) <= set(MODES), w.name
    for name in SCALE:
        assert "always-defaults" in CATALOG[name].modes


def test_every_scale_workload_has_a_bound_that_can_fail_at_the_defaults() -> None:
    """Issue 14's targets, in mode always at the default knobs."""
    expect = load_expectations()
    small = [e for e in expect if e.workload == "rfc-50g-small" and "always-defaults" in e.modes]
    assert any(e.max_vmpte_kb == 1024 and e.max_reclaim_ms == 5000 for e in small)
    huge = [e for e in expect if e.workload == "sparse-huge" and "always-defaults" in e.modes]
    assert any(e.max_reclaim_ms == 10000 for e in huge)


def test_idle_workload_named() -> None:
    idle = idle_workloads([CATALOG["rfc-50g-small"], CATALOG["dontneed-small"]],
                          [MODES["always"]])
    assert len(idle) == 1 and idle[0].startswith("rfc-50g-small (runs in base,")
    assert idle_workloads([CATALOG["rfc-50g-small"]], [MODES["always-defaults"]]) == []


def test_boot_knobs_parsed_by_their_modes_toml_names() -> None:
    text = "scan_delay_ms=1000\nscan_size_mb=256\n\nnoise\n"
    assert parse_knobs(text) == {"scan_delay_ms": "1000", "scan_size_mb": "256"}


def test_defaults_mode_writes_the_boot_values_back_and_knob_still_wins() -> None:
    guest = RecordingGuest()
    boot = {"scan_delay_ms": "1000", "scan_tables": "8192"}
    assert setup_mode(guest, MODES["always-defaults"], {"scan_tables": "64"},  # type: ignore[arg-type]
                      boot) == ""
    written = "\n".join(guest.commands)
    assert "echo always > /sys/kernel/mm/pt_reclaim/enabled" in written
    assert "echo 1000 > /proc/sys/vm/pt_reclaim_scan_delay_ms" in written
    assert "echo 64 > /proc/sys/vm/pt_reclaim_scan_tables" in written
    assert "echo 8192" not in written and "echo 100 " not in written


def test_defaults_mode_without_boot_knobs_is_an_error_not_test_knobs() -> None:
    guest = RecordingGuest()
    problem = setup_mode(guest, MODES["always-defaults"], {}, {})  # type: ignore[arg-type]
    assert "default knobs" in problem
    assert not any("pt_reclaim_scan" in c for c in guest.commands)


FIG = Figures(baseline_pagetables_kb=600, populated_pagetables_kb=103_000,
              emptied_pagetables_kb=103_000, final_pagetables_kb=60_000,
              baseline_vmpte_kb=36, populated_vmpte_kb=102_640, emptied_vmpte_kb=102_640,
              final_vmpte_kb=50_000, tables_populated=25600, tables_emptied=25600,
              tables_left=12491, tables_freed=13109, coverage=0.512, run_ms=70_000.0,
              reclaim_ms=60_400.0, reclaim_timed_out=True)
BOUND = Expectation("rfc-50g-small", ("always-defaults",), None, None, "", 1024, 5000.0)


def test_a_wait_that_ran_out_is_a_miss_with_the_vmpte_left() -> None:
    problems = judge("rfc-50g-small", "always-defaults", FIG, [BOUND])
    assert problems[0].startswith("not reclaimed within 60 s of emptying (bound 5 s): "
                                  "VmPTE 102640 -> 50000 kB")
    assert problems[1] == "VmPTE 50000 kB at the end, over 1024 kB"


def test_slow_but_reached_and_fast_enough() -> None:
    slow = replace(FIG, final_vmpte_kb=900, reclaim_ms=7_250.0, reclaim_timed_out=False)
    assert judge("rfc-50g-small", "always-defaults", slow, [BOUND]) == \
        ["reclaimed in 7.2 s of emptying, over 5 s"]
    fast = replace(slow, reclaim_ms=1_200.0)
    assert judge("rfc-50g-small", "always-defaults", fast, [BOUND]) == []
    # Another mode, or no wait at all where a time is expected.
    assert judge("rfc-50g-small", "always", slow, [BOUND]) == []
    nowait = replace(fast, reclaim_ms=None, reclaim_timed_out=None)
    assert judge("rfc-50g-small", "always-defaults", nowait, [BOUND])[0].startswith(
        "no reclaim time")


@pytest.mark.parametrize("spec", ['max_vmpte_kb = 1024', 'max_reclaim_ms = 5000'])
def test_a_time_or_vmpte_bound_alone_is_an_expectation(tmp_path: Path, spec: str) -> None:
    f = tmp_path / "e.toml"
    f.write_text(f'[[expect]]\nworkload = "a"\nmodes = ["always-defaults"]\n{spec}\n')
    assert len(load_expectations(f)) == 1
