"""What the harness parses of the guest's output: the workloads' PTREC
records and the figures from them, and the kernel's CPU lists. (/proc
itself is read in the guest: guest-images/tools/ptsample.c, workloads/ptlib.h.)"""

from pathlib import Path

from harness.suite import figures
from harness.suite.figures import parse_records


def test_records_keep_order_and_flag_malformed(golden: Path) -> None:
    recs = parse_records((golden / "sparse-stdout.txt").read_text())
    assert [r["phase"] for r in recs] == ["baseline", "populated", "emptied", "reclaimed",
                                          "malformed"]


def test_figures_from_records(golden: Path) -> None:
    recs = parse_records((golden / "sparse-stdout.txt").read_text())
    f = figures.compute(recs)
    assert f.tables_populated == (8236 - 44) // 4 == 2048
    assert f.tables_left == 0
    assert f.coverage == 1.0
    assert f.final_pagetables_kb == 212
    assert f.run_ms == 530.0
    assert f.properties()["coverage"] == "1.000"


def test_figures_without_reclaim_phase_use_emptied() -> None:
    recs = [{"phase": "baseline", "t_ms": 0, "vmpte_kb": 40, "pagetables_kb": 100},
            {"phase": "populated", "t_ms": 1, "vmpte_kb": 8232, "pagetables_kb": 8300},
            {"phase": "emptied", "t_ms": 2, "vmpte_kb": 8232, "pagetables_kb": 8300}]
    f = figures.compute(recs)
    assert (f.tables_populated, f.tables_left, f.coverage) == (2048, 2048, 0.0)


def test_figures_missing_phase_is_named() -> None:
    try:
        figures.compute([{"phase": "baseline", "vmpte_kb": 1, "pagetables_kb": 1}])
    except KeyError as e:
        assert "populated" in str(e)
    else:
        raise AssertionError("no error for missing phases")


def test_cpu_list_count() -> None:
    from harness.suite.runner import cpu_list_count

    # As the kernel prints CPU lists (lib/bitmap-str.c): ranges and commas.
    assert cpu_list_count("0-1\n") == 2
    assert cpu_list_count("0") == 1
    assert cpu_list_count("0,2-3") == 3
    assert cpu_list_count("") == 0
    assert cpu_list_count("unreadable: ssh") == 0
    assert cpu_list_count("3-1") == 0


def test_cpu_figures_of_a_racing_workload() -> None:
    from harness.suite.workload_runner import cpu_figures

    # race-refill's emptied record, run on this project's 2-core host
    # (`race-refill --threads 4 --seconds 1 --size-mb 64`, no series).
    out = ('PTREC {"phase":"emptied","t_ms":2777.6,"vmpte_kb":152,"pagetables_kb":5624,'
           '"iterations":4152,"page_writes":99648,"reclaim_calls":0,'
           '"reclaim_supported":false,"cpus_online":2,"cpus_seen":2}\n')
    assert cpu_figures(parse_records(out)) == {"cpus_online": "2", "cpus_seen": "2"}
    assert cpu_figures(parse_records('PTREC {"phase":"emptied","t_ms":1}\n')) == {}
