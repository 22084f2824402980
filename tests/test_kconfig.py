from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.kernel.kconfig import Mismatch, mismatches, parse_config, requested_options

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


def test_smp_options_are_required_on_both_arches() -> None:
    """Without SMP there are no per-VMA locks and no split PTE locks, and
    every race figure races nothing: the kconfig stage must require them
    (a build where they do not stick fails, naming them)."""
    from harness.arches import ARCHES
    from harness.commands.run import fragments_for

    for arch in ARCHES.values():
        wanted = requested_options(list(fragments_for(arch, ())))
        for option in ("CONFIG_SMP", "CONFIG_PER_VMA_LOCK", "CONFIG_SPLIT_PTE_PTLOCKS"):
            assert wanted[option] == "y", (arch.name, option)
        assert int(wanted["CONFIG_NR_CPUS"]) >= 4     # split PTE locks need it
    assert requested_options(list(fragments_for(ARCHES["x86_64"], ())))["CONFIG_ACPI"] == "y"


def test_series_options_only_for_patched_kernels() -> None:
    from harness.arches import ARCHES
    from harness.commands.run import SERIES_FRAGMENT, fragments_for

    arch = ARCHES["arm64"]
    assert SERIES_FRAGMENT not in fragments_for(arch, ())
    assert SERIES_FRAGMENT in fragments_for(arch, (), patched=True)
    assert requested_options([SERIES_FRAGMENT])["CONFIG_PT_RECLAIM_SCAN"] == "y"
