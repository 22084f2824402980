"""The nightly's checkpatch verdict, on real checkpatch.pl output."""

from pathlib import Path

from harness.commands.nightly import checkpatch_verdict, justified_types
from harness.results import FAILED, PASSED

PATCH7 = next((Path(__file__).parent.parent / "kernel-patches").glob(
    "pt-reclaim*/0007-selftests-mm-add-a-test-for-MADV_PT_RECLAIM.patch"))


def test_warning_named_in_the_commit_message_is_justified(golden: Path) -> None:
    out = (golden / "checkpatch-warning.txt").read_text()
    c = checkpatch_verdict("checkpatch:0007", out, PATCH7.read_text())
    assert c.status == PASSED, c.message
    assert c.properties["justified"] == "FILE_PATH_CHANGES"


def test_unexplained_warning_fails() -> None:
    golden = Path(__file__).parent / "golden"
    out = (golden / "checkpatch-warning.txt").read_text()
    c = checkpatch_verdict("checkpatch:x", out, "Subject: [PATCH] x\n\nNo reason.\n---\n")
    assert c.status == FAILED and "WARNING:FILE_PATH_CHANGES" in c.message


def test_errors_are_never_justified(golden: Path) -> None:
    out = (golden / "checkpatch-errors.txt").read_text()
    message = "Subject: x\n\nSPACING is how I like it.\n---\n"
    assert "SPACING" in justified_types(message)
    c = checkpatch_verdict("checkpatch:bad", out, message)
    assert c.status == FAILED and "ERROR:SPACING" in c.message
    assert c.properties["errors"] == "1"


def test_w1_warnings_only_in_the_touched_files(golden: Path) -> None:
    from harness.kernel.w1 import warnings_in
    out = (golden / "w1-gcc.txt").read_text()
    found = warnings_in(out, ["mm/pt_reclaim.c"])
    assert len(found) == 2 and "-Wmissing-prototypes" in found[0]
    assert warnings_in(out, ["mm/memory.c"]) == []
