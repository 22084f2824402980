from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.results import FAILED, PASSED, SKIPPED
from harness.suite.catalog import Workload, load_catalog, select
from harness.suite.figures import parse_records
from harness.suite.modes import Expectation, load_expectations, load_modes, modes_for
from harness.suite.workload_runner import guest_command, verdict

W = Workload("dontneed-small", "", ("sparse", "--free", "small"), 60.0, True, reclaim=True)
CORRECTNESS = Workload("fork-cow", "", ("fork-cow",), 60.0, True)
MODES = load_modes()
EXPECT = [Expectation("dontneed-small", ("always",), 0.99, None, ""),
          Expectation("dontneed-small", ("base",), None, 0.05, "")]


def recs(final_vmpte: int) -> list[dict]:  # type: ignore[type-arg]
    return [{"phase": "baseline", "t_ms": 0, "vmpte_kb": 40, "pagetables_kb": 100},
            {"phase": "populated", "t_ms": 1, "vmpte_kb": 8232, "pagetables_kb": 8300},
            {"phase": "emptied", "t_ms": 2, "vmpte_kb": 8232, "pagetables_kb": 8300},
            {"phase": "reclaimed", "t_ms": 3, "vmpte_kb": final_vmpte, "pagetables_kb": 120}]


def judge(records: list[dict], mode: str, rc: int = 0,  # type: ignore[type-arg]
          w: Workload = W) -> tuple[str, str]:
    c = verdict("x", w, MODES[mode], rc, False, records, "", EXPECT, Path("/nope"), 1.0)
    return c.status, c.message


def test_project_data_loads() -> None:
    assert {"base", "never", "madvise", "madvise-prctl", "always"} <= set(MODES)
    assert load_expectations()
    assert select(None)


def test_full_reclaim_meets_always() -> None:
    assert judge(recs(40), "always") == (PASSED, "")


def test_no_reclaim_fails_always_with_figures() -> None:
    status, msg = judge(recs(8232), "always")
    assert status == FAILED
    assert "coverage 0.00% below 99%" in msg and "0/2048" in msg


def test_base_keeping_tables_passes_and_freeing_fails() -> None:
    assert judge(recs(8232), "base")[0] == PASSED
    assert judge(recs(40), "base")[0] == FAILED


def test_broken_invariant_fails_whatever_the_figures() -> None:
    r = recs(40) + [{"phase": "check-failed", "what": "page 3 not zero"}]
    assert judge(r, "always", rc=1) == (FAILED, "dontneed-small: page 3 not zero")


def test_skip_record_skips() -> None:
    assert judge([{"phase": "skipped", "why": "no uffd-wp"}], "always")[0] == SKIPPED


def test_correctness_workload_passes_on_exit_status() -> None:
    assert judge([], "always", w=CORRECTNESS)[0] == PASSED
    assert judge([], "always", rc=3, w=CORRECTNESS)[0] == FAILED


def test_modes_per_kernel_kind() -> None:
    assert [m.name for m in modes_for("base", None, MODES)] == ["base"]
    assert "always" in [m.name for m in modes_for("patched", None, MODES)]
    assert [m.name for m in modes_for("patched", ["always"], MODES)] == ["always"]
    with pytest.raises(BadInput, match="unknown mode"):
        modes_for("patched", ["sometimes"], MODES)


def test_guest_command_quotes_and_appends_mode_args() -> None:
    cmd = guest_command(W, MODES["madvise-prctl"], "/tmp/s.jsonl")
    assert cmd.startswith("/opt/pt/bin/ptsample --interval-ms 20 --out /tmp/s.jsonl "
                          "--prctl enable -- /opt/pt/bin/sparse --free small --wait-ms")
    assert "--reclaim" not in guest_command(CORRECTNESS, MODES["madvise"], "/t")
    odd = Workload("x", "", ("sparse", "a b", "it's"), 1.0, False)
    assert "'a b' 'it'\"'\"'s'" in guest_command(odd, MODES["base"], "/t")


def test_bad_catalog_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "w.toml"
    bad.write_text("[x]\ndescription = 1\n")
    with pytest.raises(BadInput, match=r"w.toml: \[x\] description: input should be a valid "
                                       r"string, not 1; \[x\] command: missing key$"):
        load_catalog(bad)
    bad.write_text("[x\n")
    with pytest.raises(BadInput, match="w.toml"):
        load_catalog(bad)


def test_bad_expectations_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "e.toml"
    bad.write_text('[[expect]]\nworkload = "a"\nmodes = ["base"]\n')
    with pytest.raises(BadInput, match="needs min_coverage or max_coverage"):
        load_expectations(bad)


def test_records_from_real_sampler_format() -> None:
    out = 'PTREC {"phase":"skipped","why":"userfaultfd: ENOSYS"}\n'
    assert parse_records(out)[0]["why"] == "userfaultfd: ENOSYS"


def test_counter_deltas_from_samples() -> None:
    from harness.suite.workload_runner import counter_deltas
    samples = [{"t_ms": 0, "scanned": 10, "freed": 4}, {"t_ms": 20, "scanned": 11, "freed": 4},
               {"t_ms": 40, "scanned": 2070, "freed": 2052}]
    assert counter_deltas(samples) == {"vmstat_pt_reclaim_scanned": "2060",
                                       "vmstat_pt_reclaim_freed": "2048"}
    # A kernel without the counters: the sampler writes -1, no figure.
    assert counter_deltas([{"scanned": -1, "freed": -1}] * 3) == {}


def test_mode_knobs_from_data_and_cli_overrides() -> None:
    """setup_mode writes the mode's knobs from modes.toml; --knob wins."""
    from types import SimpleNamespace

    from harness.suite.modes import load_modes
    from harness.suite.workload_runner import setup_mode

    class RecordingGuest:
        def __init__(self) -> None:
            self.commands: list[str] = []

        def run(self, command: str, timeout: float) -> SimpleNamespace:
            self.commands.append(command)
            return SimpleNamespace(exit_status=0, stderr="")

    guest = RecordingGuest()
    always = load_modes()["always"]
    assert dict(always.knobs)["scan_delay_ms"] == "100"
    assert setup_mode(guest, always, {"scan_delay_ms": "50"}) == ""  # type: ignore[arg-type]
    written = "\n".join(guest.commands)
    assert "echo 50 > /proc/sys/vm/pt_reclaim_scan_delay_ms" in written
    assert "echo 8192 > /proc/sys/vm/pt_reclaim_scan_tables" in written
    assert "echo 100 >" not in written


def test_pagetables_plausibility_only_above_the_noise() -> None:
    from dataclasses import replace

    from harness.suite import figures
    from harness.suite.modes import pagetables_noise_kb
    from harness.suite.workload_runner import plausibility
    noise = pagetables_noise_kb()
    assert noise == 1024                      # data/expectations.toml [plausibility]
    small = figures.Figures(600, 560, 560, 560, 36, 164, 104, 100, 32, 16, 16, 16, 1.0, 900.0,
                            None)
    assert plausibility(small) == []          # 128 kB of tables: inside the noise
    big = replace(small, tables_populated=noise // figures.TABLE_KB,
                  populated_vmpte_kb=small.baseline_vmpte_kb + noise)
    assert plausibility(big) == ["PageTables did not grow while populating"]
    # The bound is data: a larger one takes the same figures for noise.
    assert plausibility(big, noise_kb=noise + 1) == []
    # Tables made and emptied in turn (rfc-loop) never show at once: what
    # VmPTE showed decides, not the count the workload made.
    churned = replace(big, populated_vmpte_kb=small.baseline_vmpte_kb + figures.TABLE_KB)
    assert plausibility(churned) == []
    assert plausibility(replace(small, tables_populated=0)) == \
        ["VmPTE did not grow while populating"]
