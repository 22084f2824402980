"""The peer suite's data (harness/data/peer.toml) and its build command."""

from pathlib import Path

import pytest

from harness.arches import ARM64, X86_64
from harness.errors import BadInput
from harness.kernel.selftests import make_argv
from harness.suite.peer import guest_device
from harness.suite.peer_plan import load_peer


def test_sizes() -> None:
    assert load_peer("none") is None
    full, subset = load_peer("full"), load_peer("subset")
    assert full is not None and subset is not None
    assert {p.name for p in subset.programs} < {p.name for p in full.programs}
    assert all(p.subset for p in subset.programs)
    # mremap_test flakes on its address layout (data/peer.toml): the full
    # set runs it, the subset that make test runs does not.
    assert "mremap_test" in {p.name for p in full.programs}
    assert "mremap_test" not in {p.name for p in subset.programs}
    with pytest.raises(BadInput):
        load_peer("most")


def test_modes_come_from_data_and_name_the_budget_of_both_series() -> None:
    plan = load_peer("full")
    assert plan is not None
    never, always = plan.modes
    assert (never.name, never.sysfs, always.sysfs) == ("never", "never", "always")
    assert dict(always.knobs) == {"scan_delay_ms": "10"}
    assert [k for k, _ in always.budget] == ["scan_tables", "scan_size_mb"]


def test_arch_only_programs_and_one_build_per_binary() -> None:
    plan = load_peer("full")
    assert plan is not None
    x86, arm = plan.binaries("x86_64"), plan.binaries("arm64")
    assert "soft-dirty" in x86 and "soft-dirty" not in arm
    assert "protection_keys" in arm and "protection_keys_64" not in arm
    assert x86.count("uffd-stress") == 1          # three invocations, one binary
    left_out = dict(plan.left_out)
    assert "libnuma" in left_out["migration"] and "libcap" in left_out["memfd_secret"]
    assert not set(left_out) & set(x86)


def test_left_out_or_listed_covers_the_makefile() -> None:
    """Every program the mm Makefile can build is either run or left out
    with a reason, so a new upstream test shows up as a decision here."""
    plan = load_peer("full")
    assert plan is not None
    listed = {*plan.binaries("x86_64"), *plan.binaries("arm64"), *dict(plan.left_out)}
    # TEST_GEN_FILES of tools/testing/selftests/mm/Makefile in Linux 7.3,
    # the arch-dependent ones included.
    makefile = {
        "cow", "compaction_test", "gup_longterm", "gup_test", "hmm-tests", "hugetlb-madvise",
        "hugetlb-mmap", "hugetlb-mremap", "hugetlb-read-hwpoison", "hugetlb-shm",
        "hugetlb-soft-offline", "khugepaged", "madv_populate", "map_fixed_noreplace",
        "map_populate", "memfd_secret", "memory-failure", "migration", "mkdirty",
        "mlock-random-test", "mlock2-tests", "mrelease_test", "mremap_dontunmap",
        "mremap_test", "mseal_test", "on-fault-limit", "pagemap_ioctl", "pfnmap",
        "process_madv", "pt_reclaim", "prctl_thp_disable", "thuge-gen", "transhuge-stress",
        "uffd-stress", "uffd-unit-tests", "uffd-wp-mremap", "split_huge_page_test",
        "ksm_tests", "ksm_functional_tests", "mdwe_test", "hugetlb_fault_after_madv",
        "hugetlb_madv_vs_map", "hugetlb_dio", "droppable", "guard-regions", "merge", "rmap",
        "folio_split_race_test", "soft-dirty", "protection_keys_32", "protection_keys_64",
        "pkey_sighandler_tests_32", "pkey_sighandler_tests_64", "protection_keys",
        "pkey_sighandler_tests", "va_high_addr_switch", "write_to_hugetlbfs"}
    assert makefile - listed == set()


def test_make_argv_builds_named_programs_statically(tmp_path: Path) -> None:
    class Kernel:
        build_dir = Path("/b/arm64")
    argv = make_argv(tmp_path, tmp_path / "bin", ARM64, Kernel(),  # type: ignore[arg-type]
                     ("cow", "merge"), 2)
    assert argv[:2] == ["make", "-C"] and "-k" in argv
    assert "CROSS_COMPILE=aarch64-linux-gnu-" in argv and "ARCH=arm64" in argv
    assert "KHDR_INCLUDES=-isystem /b/arm64/usr/include" in argv
    assert "EXTRA_CFLAGS=-static -s" in argv
    assert argv[-2:] == [str(tmp_path / "bin" / "cow"), str(tmp_path / "bin" / "merge")]
    native = make_argv(tmp_path, tmp_path / "bin", X86_64, Kernel(),  # type: ignore[arg-type]
                       ("cow",), 1)
    assert "CROSS_COMPILE=" in native and "ARCH=x86_64" in native


def test_swap_disk_device_follows_drive_order() -> None:
    data, swap = Path("/r/disk.img"), Path("/r/swap.img")
    assert guest_device((data, swap), swap) == "/dev/vdb"
    assert guest_device((swap,), swap) == "/dev/vda"


def test_the_two_modes_are_modes_toml_s(tmp_path: Path) -> None:
    """peer.toml gives the two modes knobs only; which sysfs value each is
    comes from modes.toml, as for every mode user."""
    from harness.suite.modes import load_modes
    plan = load_peer("full")
    assert plan is not None
    assert [(m.name, m.sysfs) for m in plan.modes] == [
        (name, load_modes()[name].sysfs) for name in ("never", "always")]
    own = tmp_path / "peer.toml"
    own.write_text('[modes.never]\nsysfs = "never"\n[modes.always]\n[[program]]\nname = "x"\n')
    with pytest.raises(BadInput, match=r"\[modes.never\] sysfs: unknown key$"):
        load_peer("full", own)
