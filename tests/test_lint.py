"""Style and types are part of the suite: ruff and mypy on the harness."""

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_ruff_clean() -> None:
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "harness", "tests", "scripts"],
                       cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_clean() -> None:
    r = subprocess.run([sys.executable, "-m", "mypy", "harness"], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# Starting a host program any other way than through harness/proc.py: no
# timeout, no process group, outside the registry an interrupt kills.
_SPAWNERS = {
    "subprocess": {"run", "Popen", "call", "check_call", "check_output", "getoutput",
                   "getstatusoutput"},
    "os": {"system", "popen", "spawnl", "spawnlp", "spawnv", "spawnvp", "execv", "execvp",
           "execl", "execlp", "fork", "forkpty", "posix_spawn", "posix_spawnp"},
    "pty": {"spawn", "fork"},
}


def host_command_calls(source: str) -> list[str]:
    """`module.function(...)` calls (or names imported from those modules)
    that start a process, as 'line: module.function'."""
    tree = ast.parse(source)
    imported: dict[str, str] = {}      # local name -> module.function
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in _SPAWNERS:
            for a in node.names:
                if a.name in _SPAWNERS[node.module]:
                    imported[a.asname or a.name] = f"{node.module}.{a.name}"
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
                and f.attr in _SPAWNERS.get(f.value.id, ()):
            found.append(f"{node.lineno}: {f.value.id}.{f.attr}")
        elif isinstance(f, ast.Name) and f.id in imported:
            found.append(f"{node.lineno}: {imported[f.id]}")
    return found


def test_host_commands_only_through_proc() -> None:
    offenders = {str(p.relative_to(REPO)): calls for p in sorted((REPO / "harness").rglob("*.py"))
                 if p.name != "proc.py" and (calls := host_command_calls(p.read_text()))}
    assert offenders == {}, "start host programs with harness.proc.run/run_logged/spawn"


def test_host_command_check_sees_every_spelling() -> None:
    src = ("import subprocess, os\nfrom subprocess import check_output as co\n"
           "subprocess.run(['x'])\nos.system('x')\nco(['x'])\n"
           "p: subprocess.Popen[bytes]\nsubprocess.STDOUT\n")
    assert host_command_calls(src) == ["3: subprocess.run", "4: os.system",
                                       "5: subprocess.check_output"]
