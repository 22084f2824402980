"""A tiny git repository standing in for a kernel tree, for the tests of
series handling: the `tree` fixture (conftest.py) and these helpers."""

import subprocess
from pathlib import Path

from harness.kernel.source import BASE_BRANCH, GIT_ID, KernelTree

MEMORY_C = "int a;\nint b;\nint c;\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_ID, "-C", str(repo), *args], check=True,
                          capture_output=True, text=True).stdout


def make_tree(repo: Path) -> KernelTree:
    """mm/memory.c with three lines, committed on the base branch."""
    (repo / "mm").mkdir(parents=True)
    (repo / "mm" / "memory.c").write_text(MEMORY_C)
    git(repo, "init", "-q", "-b", BASE_BRANCH)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return KernelTree(repo, "test", "k", scratch=True)


def commit_edits(tree: KernelTree, branch: str,
                 edits: list[tuple[str, str, str]]) -> None:
    """On a new `branch` from the base, one commit per (old, new, subject)
    replacing `old` by `new` in mm/memory.c; the branch stays checked out."""
    git(tree.path, "checkout", "-q", "-b", branch, BASE_BRANCH)
    f = tree.path / "mm" / "memory.c"
    for old, new, subject in edits:
        f.write_text(f.read_text().replace(old, new))
        git(tree.path, "commit", "-q", "-am", subject)


# A stand-in for the kernel's top Makefile: the targets the harness's
# kconfig, kbuild and W=1 stages call, building one real object with the
# compiler they pass (CC=ccache <cross>gcc), so a patch that only arm64's
# compiler rejects breaks only the arm64 build.
TINY_MAKEFILE = """\
VERSION = 7
PATCHLEVEL = 3
SUBLEVEL = 0
EXTRAVERSION = -tiny

O ?= .
WARN := $(if $(filter 1,$(W)),-Wextra,)

tinyconfig:
\t: > $(O)/.config
olddefconfig:
\ttouch $(O)/.config
headers_install:
\tmkdir -p $(O)/usr/include
bzImage: $(O)/mm/memory.o
\tmkdir -p $(O)/arch/x86/boot && cp $< $(O)/arch/x86/boot/bzImage
Image: $(O)/mm/memory.o
\tmkdir -p $(O)/arch/arm64/boot && cp $< $(O)/arch/arm64/boot/Image
$(O)/mm/memory.o: mm/memory.c
\tmkdir -p $(O)/mm && $(CC) -c -o $@ mm/memory.c
# W=1 on the object: compiled again whatever its age, as kbuild does
# when the flags change.
.PHONY: mm/memory.o
mm/memory.o:
\t$(CC) $(WARN) -c -o $(O)/mm/memory.o mm/memory.c
"""

# merge_config.sh -m -O DIR BASE FRAGMENT...: every fragment's option
# appended to BASE, as it sticks in a tree whose Kconfig has them all.
TINY_MERGE_CONFIG = """\
#!/bin/sh
[ "$1" = -m ] && shift
[ "$1" = -O ] && shift 2
base=$1
shift
cat "$@" >> "$base"
"""

# checkpatch.pl --strict --show-types PATCH with one rule (trailing
# whitespace on an added line is an ERROR), in checkpatch's output format.
TINY_CHECKPATCH = r"""#!/usr/bin/perl
use strict;
use warnings;
my $file = $ARGV[-1];
open(my $fh, '<', $file) or die "$file: $!";
my ($errors, $lines) = (0, 0);
while (my $line = <$fh>) {
    $lines++;
    next unless $line =~ /^\+(?!\+\+).*[ \t]$/;
    $errors++;
    print "ERROR:TRAILING_WHITESPACE: trailing whitespace\n#$lines: FILE: $file\n\n";
}
print "total: $errors errors, 0 warnings, 0 checks, $lines lines checked\n";
exit($errors ? 1 : 0);
"""


def make_buildable_tree(repo: Path) -> KernelTree:
    """make_tree's mm/memory.c, plus the few files that make it a kernel
    tree the harness can configure, build, W=1 and checkpatch for real."""
    files = {"Makefile": TINY_MAKEFILE, "Kconfig": "",
             "scripts/kconfig/merge_config.sh": TINY_MERGE_CONFIG,
             "scripts/checkpatch.pl": TINY_CHECKPATCH, "mm/memory.c": MEMORY_C}
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    (repo / "scripts/kconfig/merge_config.sh").chmod(0o755)
    git(repo, "init", "-q", "-b", BASE_BRANCH)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return KernelTree(repo, "7.3.0-tiny", "tiny", scratch=True)


# Four patches; the third declares a variable from a symbol no arm64
# header has (gcc for arm64 rejects it, gcc for x86_64 never sees it),
# the fourth fixes that.
ARM64_BREAKER = "#ifdef __aarch64__\nint arm64_only = arm64_undeclared;\n#endif\n"
BREAKS_ARM64_THIRD = [
    ("int a;", "int a1;", "mm: rename a"),
    ("int b;", "int b1;", "mm: rename b"),
    ("int c;\n", "int c;\n" + ARM64_BREAKER, "mm: add an arm64-only counter"),
    ("arm64_undeclared", "1", "mm: initialise the arm64 counter"),
]


def mbox_breaking_arm64(tmp: Path) -> tuple[KernelTree, Path]:
    """A buildable tree (as a user's checkout, on its base) and an mbox of
    BREAKS_ARM64_THIRD, as `git format-patch --stdout` mails it."""
    tree = make_buildable_tree(tmp / "linux")
    commit_edits(tree, "topic", BREAKS_ARM64_THIRD)
    mbox = tmp / "v1.mbox"
    mbox.write_text(git(tree.path, "format-patch", "--stdout", "--cover-letter",
                        f"{BASE_BRANCH}..topic"))
    git(tree.path, "checkout", "-q", BASE_BRANCH)
    return tree, mbox
