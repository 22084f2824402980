from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.kconfig import Mismatch, mismatches, parse_config, requested_options

REPO = Path(__file__).resolve().parent.parent


def test_parse_set_and_unset() -> None:
    opts = parse_config("CONFIG_A=y\n# CONFIG_B is not set\n\n# comment\nCONFIG_C=\"s\"\n")
    assert opts == {"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_C": '"s"'}


def test_bad_line_names_file_and_line() -> None:
    with pytest.raises(BadInput, match=r"frag:2: not a kconfig line"):
        parse_config("CONFIG_A=y\nADVISE_SYSCALLS=y\n", "frag")


def test_dropped_option_is_reported() -> None:
    wanted = {"CONFIG_ADVISE_SYSCALLS": "y", "CONFIG_MMU": "y", "CONFIG_SWAP": "n"}
    actual = {"CONFIG_MMU": "y"}
    assert mismatches(wanted, actual) == [Mismatch("CONFIG_ADVISE_SYSCALLS", "y", "n")]


def test_project_fragments_parse() -> None:
    frags = sorted((REPO / "kernel-patches" / "configs").glob("*.config"))
    assert frags
    wanted = requested_options(frags)
    assert wanted["CONFIG_ADVISE_SYSCALLS"] == "y"


def test_missing_fragment_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        requested_options([tmp_path / "nope.config"])
