"""A splat's stack through the tree's own scripts/decode_stacktrace.sh
(console.decode) comes out as file:line relative to the source tree.

The vmlinux is a small ELF built here with line tables: what is under test
is the harness's use of the real script (arguments, CROSS_COMPILE, the
source path it strips), not the kernel's DWARF. Needs Debian's kernel
source for the script, which the end-to-end tests fetch anyway."""

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.guest import console
from harness.kernel.source import debian_source

pytestmark = pytest.mark.e2e

VICTIM = """int victim(int x)
{
\treturn x * 3 + 1;
}

int _start(void)
{
\treturn victim(2);
}
"""


@pytest.fixture(scope="module")
def decode_script() -> Path:
    return debian_source().path / "scripts" / "decode_stacktrace.sh"


def developer_tree(tmp_path: Path, script: Path) -> tuple[Path, Path]:
    src = tmp_path / "my linux"              # a space: paths reach no shell unquoted
    (src / "scripts").mkdir(parents=True)
    (src / "mm").mkdir()
    shutil.copy(script, src / "scripts")
    (src / "mm" / "victim.c").write_text(VICTIM)
    vmlinux = tmp_path / "build" / "vmlinux"
    vmlinux.parent.mkdir()
    subprocess.run(["gcc", "-g", "-O0", "-nostdlib", "-static", "-o", str(vmlinux),
                    "mm/victim.c"], cwd=src, check=True)
    return src, vmlinux


def test_stack_decodes_to_lines_of_the_developers_source(tmp_path: Path,
                                                         decode_script: Path) -> None:
    src, vmlinux = developer_tree(tmp_path, decode_script)
    excerpt = ("[    1.000000] Call Trace:\n"
               "[    1.000000]  victim+0x8/0x15\n"
               "[    1.000000]  _start+0x5/0x10\n")
    out = console.decode(excerpt, vmlinux, src, "")
    assert out is not None
    assert "victim (mm/victim.c:3)" in out and "_start (mm/victim.c:8)" in out
    assert str(src) not in out


def test_no_vmlinux_means_no_decoding(tmp_path: Path, decode_script: Path) -> None:
    src, _ = developer_tree(tmp_path, decode_script)
    assert console.decode("victim+0x8/0x15\n", tmp_path / "none", src, "") is None
