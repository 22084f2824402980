"""The exact host commands of a suite, and a reproducer.sh from them.

kbuild records the commands of a build (git checkout, the configuration,
make) in its build directory as it forms them (`build-commands.json`); the
VM records the QEMU argv it spawned. A suite directory gets both in
`commands.json` and a `reproducer.sh` (as TuxMake writes one) that
rebuilds that kernel and boots it by hand, the console on the terminal.
"""

import json
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .cache import atomic_write

BUILD_RECORD = "build-commands.json"     # in the build directory (cache)
COMMANDS = "commands.json"               # in the suite directory
REPRODUCER = "reproducer.sh"


@dataclass(frozen=True)
class Command:
    what: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()   # set on top of the caller's environment
    cwd: str | None = None

    def shell(self) -> str:
        """The command as one line of sh, exactly as it was run."""
        line = " ".join([*(f"{k}={shlex.quote(v)}" for k, v in self.env),
                         shlex.join(self.argv)])
        return f"(cd {shlex.quote(self.cwd)} && {line})" if self.cwd else line


def env_delta(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """What `env` sets beyond the harness's own environment."""
    return tuple(sorted((k, v) for k, v in env.items() if os.environ.get(k) != v))


def command_from(data: Mapping[str, Any]) -> Command:
    return Command(str(data["what"]), tuple(data["argv"]),
                   tuple((str(k), str(v)) for k, v in data.get("env", ())),
                   data.get("cwd"))


def save_build(path: Path, commands: list[Command]) -> None:
    atomic_write(path, json.dumps([asdict(c) for c in commands], indent=1) + "\n")


def _load(suite_dir: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((suite_dir / COMMANDS).read_text())
        return data
    except (OSError, ValueError):
        return {"build": [], "boots": []}


def _save(suite_dir: Path, record: dict[str, Any]) -> None:
    atomic_write(suite_dir / COMMANDS, json.dumps(record, indent=1) + "\n")
    script = suite_dir / REPRODUCER
    atomic_write(script, reproducer(record, suite_dir))
    script.chmod(0o755)


def add_build(suite_dir: Path, build_record: Path) -> None:
    """The suite's build commands, from the record kbuild left beside the
    build (nothing when it left none, e.g. the build never started)."""
    try:
        commands = json.loads(build_record.read_text())
    except (OSError, ValueError):
        return
    record = _load(suite_dir)
    record["build"] = commands
    _save(suite_dir, record)


def add_boot(suite_dir: Path, argv: list[str], initrd: Path, base_initrd: Path) -> None:
    """A QEMU command line the suite ran; `initrd` is the run's (the base
    image plus this run's SSH keys, deleted after the boot), `base_initrd`
    the cached image without the keys, which the reproducer boots."""
    record = _load(suite_dir)
    record["boots"].append({"what": "qemu", "argv": list(argv), "initrd": str(initrd),
                            "base_initrd": str(base_initrd)})
    _save(suite_dir, record)


def by_hand(argv: list[str], initrd: str, base_initrd: str) -> str:
    """The recorded QEMU argv as a line of sh to type: the console on the
    terminal instead of a file, the cached image instead of the run's
    (deleted) one, the SSH port from $PORT, no disks (deleted with the
    suite)."""
    out: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        prev = argv[i - 1] if i else ""
        if arg == "-drive" or (arg == "-device" and "drive=" in argv[i + 1]):
            skip = True
            continue
        if prev == "-serial" and arg.startswith("file:"):
            out.append("mon:stdio")
        elif prev == "-initrd" and arg == initrd:
            out.append(shlex.quote(base_initrd))
        elif "hostfwd=" in arg and not set('"$`\\') & set(arg):
            out.append('"' + re.sub(r"(127\.0\.0\.1:)\d+-", r"\1${PORT}-", arg) + '"')
        else:
            out.append(shlex.quote(arg))
    return " ".join(out)


def reproducer(record: Mapping[str, Any], suite_dir: Path) -> str:
    build = [command_from(c) for c in record.get("build", [])]
    boots = list(record.get("boots", []))
    lines = ["#!/bin/sh",
             f"# Reproducer of suite {suite_dir.name}, written by pt-harness: rebuilds",
             "# the kernel with the commands the harness ran and boots it in QEMU with",
             "# the console on this terminal (quit with Ctrl-A X). commands.json holds",
             "# the exact argv of each command.",
             "set -eu", ""]
    if build:
        lines.append("# build")
        lines += [c.shell() for c in build]
        lines.append("")
    else:
        lines += ["# (no build recorded for this suite)", ""]
    if boots:
        first = boots[0]
        lines += ["# boot, as the harness ran it:",
                  "#   " + shlex.join(first["argv"]),
                  "# here with the console on stdio, the cached guest image (the run's",
                  "# copy with its SSH keys is deleted: the guest's sshd has no host key,",
                  "# `pt-harness shell` boots with keys) and no data disks.",
                  "PORT=${PORT:-10022}",
                  by_hand(first["argv"], first["initrd"], first["base_initrd"]), ""]
        if len(boots) > 1:
            lines.append(f"# the suite booted {len(boots)} guests; the other command lines "
                         "are in commands.json")
    else:
        lines.append("# (no boot recorded for this suite)")
    return "\n".join(lines) + "\n"
