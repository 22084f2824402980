from pathlib import Path

from harness.guest import console


def test_clean_log_has_no_splat(golden: Path) -> None:
    """A real boot and a whole suite's workloads: nothing to report."""
    log = golden / "run-x86_64-patched" / "pt-reclaim-x86_64" / "console.log"
    assert "Run /init as init process" in log.read_text()
    assert console.scan_file(log) == []


def test_panic_found_with_excerpt(golden: Path) -> None:
    """The real panic of the fault catalog's `panic` workload (sysrq c)."""
    splats = console.scan_file(golden / "run-faults" / "pt-reclaim-x86_64" / "console.log")
    assert [s.kind for s in splats] == ["panic"]
    assert splats[0].line_no == 260
    excerpt = splats[0].excerpt.splitlines()
    assert excerpt[:3] == ["clocksource: Watchdog remote CPU 1 read timed out",
                           "sysrq: Trigger a crash",
                           "Kernel panic - not syncing: sysrq triggered crash"]
    assert "Call Trace:" in excerpt and excerpt[-1] == "Kernel Offset: disabled"


def test_warning_and_later_bug_are_separate(golden: Path) -> None:
    text = (golden / "console-warning.log").read_text()
    text = text.replace("[    9.000000] BUG", "\n" * 40 + "[    9.000000] BUG")
    kinds = [s.kind for s in console.scan(text)]
    assert kinds == ["warning", "bug"]


def test_call_trace_alone_counts() -> None:
    assert [s.kind for s in console.scan("x\n[ 1.0] Call Trace:\n y")] == ["call-trace"]


def test_missing_log_is_empty(tmp_path: Path) -> None:
    assert console.scan_file(tmp_path / "nope.log") == []
