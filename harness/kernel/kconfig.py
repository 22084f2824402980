"""Stage 3, kconfig: tinyconfig plus fragments, then check what stuck.

tinyconfig silently drops an option whose dependencies are missing (e.g.
ADVISE_SYSCALLS, without which madvise() is ENOSYS), so after the merge
every option a fragment asks for is looked up in .config and the stage
fails naming each one that did not stick.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..arches import Arch
from ..errors import TEST, BadInput, CodeFailed
from ..proc import run_logged

_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


@dataclass(frozen=True)
class Mismatch:
    option: str
    wanted: str
    got: str       # "n" when absent or not set


def parse_config(text: str, source: str = "<config>") -> dict[str, str]:
    """Options of a .config or fragment; `# CONFIG_X is not set` means "n"."""
    options: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if m := _SET.match(line):
            options[m.group(1)] = m.group(2)
        elif m := _UNSET.match(line):
            options[m.group(1)] = "n"
        elif line and not line.startswith("#"):
            raise BadInput(f"{source}:{lineno}: not a kconfig line: {raw!r}")
    return options


def compiler_text(config: Path) -> str:
    """The compiler a build used, as the kernel recorded it in .config
    (CONFIG_CC_VERSION_TEXT, e.g. "gcc (Debian 12.2.0-14) 12.2.0"); ""
    when there is no .config or no such line."""
    try:
        text = config.read_text(errors="replace")
    except OSError:
        return ""
    m = re.search(r'^CONFIG_CC_VERSION_TEXT="(.*)"$', text, re.M)
    return m.group(1).replace('\\"', '"') if m else ""


def requested_options(fragments: list[Path]) -> dict[str, str]:
    wanted: dict[str, str] = {}
    for frag in fragments:
        if not frag.is_file():
            raise BadInput(f"config fragment {frag}: no such file")
        wanted.update(parse_config(frag.read_text(), str(frag)))
    return wanted


def mismatches(wanted: dict[str, str], actual: dict[str, str]) -> list[Mismatch]:
    out = []
    for option, value in wanted.items():
        got = actual.get(option, "n")
        if got != value:
            out.append(Mismatch(option, value, got))
    return out


def make_env(arch: Arch) -> dict[str, str]:
    env = dict(os.environ)
    env["ARCH"] = arch.kernel_arch
    if arch.cross_compile:
        env["CROSS_COMPILE"] = arch.cross_compile
    return env


def config_commands(tree: Path, out: Path, arch: Arch, fragments: list[Path]
                    ) -> list[tuple[str, list[str], Path | None]]:
    """(what, argv, cwd) of configure's steps, in order, run with
    make_env(arch); also what a suite's reproducer.sh runs."""
    make = ["make", "-s", "-C", str(tree), f"O={out}", f"ARCH={arch.kernel_arch}"]
    if arch.cross_compile:
        make.append(f"CROSS_COMPILE={arch.cross_compile}")
    return [(f"{arch.name}: make tinyconfig", [*make, "tinyconfig"], None),
            (f"{arch.name}: merge_config.sh",
             [str(tree / "scripts/kconfig/merge_config.sh"), "-m", "-O", str(out),
              str(out / ".config"), *map(str, fragments)], tree),
            (f"{arch.name}: make olddefconfig", [*make, "olddefconfig"], None)]


def configure(tree: Path, out: Path, arch: Arch, fragments: list[Path], log: Path,
              optional: tuple[Path, ...] = ()) -> None:
    """Write out/.config from tinyconfig and `fragments`; verify every option
    except those of the `optional` fragments."""
    wanted = requested_options([f for f in fragments if f not in optional])
    env = make_env(arch)
    # The tree's own Kconfig and scripts: their failure is the code under test's.
    for what, argv, cwd in config_commands(tree, out, arch, fragments):
        run_logged(argv, log, what=what, env=env, cwd=cwd, cause=TEST)
    actual = parse_config((out / ".config").read_text(), str(out / ".config"))
    bad = mismatches(wanted, actual)
    if bad:
        listing = ", ".join(f"{m.option}={m.wanted} (got {m.got})" for m in bad)
        raise CodeFailed(f"{arch.name}: config options did not stick (missing dependency?): "
                         f"{listing}", str(log))
