from pathlib import Path

from harness import console


def test_clean_log_has_no_splat(golden: Path) -> None:
    assert console.scan_file(golden / "console-clean.log") == []


def test_panic_found_with_excerpt(golden: Path) -> None:
    splats = console.scan_file(golden / "console-panic.log")
    assert [s.kind for s in splats] == ["panic"]
    assert splats[0].line_no == 4
    assert "sysrq_handle_crash" in splats[0].excerpt


def test_warning_and_later_bug_are_separate(golden: Path) -> None:
    text = (golden / "console-warning.log").read_text()
    text = text.replace("[    9.000000] BUG", "\n" * 40 + "[    9.000000] BUG")
    kinds = [s.kind for s in console.scan(text)]
    assert kinds == ["warning", "bug"]


def test_call_trace_alone_counts() -> None:
    assert [s.kind for s in console.scan("x\n[ 1.0] Call Trace:\n y")] == ["call-trace"]


def test_missing_log_is_empty(tmp_path: Path) -> None:
    assert console.scan_file(tmp_path / "nope.log") == []
