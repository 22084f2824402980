"""kcidb.json: a run in KCIDB's JSON (the schema `kcidb-io` publishes),
what KernelCI's dashboards, `kcidb-submit` and `kci-dev submit` take.

Made from the run's raw JSON alone (run.json, */result.json), like every
other report, so an old run or a merged fan-out run gets one too:

  checkouts  one per kernel source: the base tree as it is, and the base
             with a series applied (the series is the patchset)
  builds     one per suite, i.e. per (kernel, arch, config)
  tests      one per check of the suite other than the build itself

IDs are "<origin>:<run-id>:..." (KCIDB's `origin:` convention); the run id
makes them unique across runs and the suite directory within one.
"""

import datetime as dt
import hashlib
import json
import math
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..arches import ARCHES
from ..cache import atomic_write
from ..errors import BadInput
from ..proc import tail
from ..results import ERROR, FAILED, PASSED, SKIPPED, Check, Suite
from .run_data import RunData

# The version the document declares; the tests validate it against the
# newest schema the installed kcidb-io knows.
SCHEMA_VERSION = {"major": 5, "minor": 3}
DEFAULT_ORIGIN = "pt_harness"
PATH_ROOT = "pt_reclaim"             # the root of every test path
LOG_EXCERPT_MAX = 16384              # the schema's maxLength of log_excerpt
STATUS = {PASSED: "PASS", FAILED: "FAIL", ERROR: "ERROR", SKIPPED: "SKIP"}

_ORIGIN = re.compile(r"^[a-z0-9_]+$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
# Separators of a check's name: workload:NAME[MODE]#ROUND, build:NN-x/ARCH.
_NAME_SEPARATORS = re.compile(r"[:\[\]/#.]+")


@dataclass(frozen=True)
class KcidbSettings:
    """What a lab says about itself, which no run records."""
    origin: str = DEFAULT_ORIGIN
    artifacts_url: str = ""   # where the run directory is published: logs get URLs
    tree_name: str = ""       # e.g. "mainline", "mm-unstable"
    git_url: str = ""         # https:// URL of the repository holding the base commit

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "KcidbSettings":
        """The settings of every run's kcidb.json (PT_HARNESS_KCIDB_*)."""
        return cls(origin=env.get("PT_HARNESS_KCIDB_ORIGIN") or DEFAULT_ORIGIN,
                   artifacts_url=env.get("PT_HARNESS_KCIDB_ARTIFACTS_URL", ""),
                   tree_name=env.get("PT_HARNESS_KCIDB_TREE", ""),
                   git_url=env.get("PT_HARNESS_KCIDB_GIT_URL", ""))

    def overridden(self, **given: str | None) -> "KcidbSettings":
        """These settings with the ones given on the command line in place."""
        return replace(self, **{k: v for k, v in given.items() if v})

    def check(self) -> "KcidbSettings":
        if not _ORIGIN.match(self.origin):
            raise BadInput(f"KCIDB origin {self.origin!r}: lower-case letters, digits and "
                           "'_' only")
        url = urllib.parse.urlsplit(self.artifacts_url)
        if self.artifacts_url and not (url.scheme and url.netloc):
            raise BadInput(f"KCIDB artifacts URL {self.artifacts_url!r}: not an absolute URL")
        if self.git_url and not self.git_url.startswith("https://"):
            raise BadInput(f"KCIDB git URL {self.git_url!r}: must be an https:// URL")
        return self


def patchset_hash(patch_sha256s: list[str]) -> str:
    """KCIDB's patchset hash: the sha256 of the patches' sha256 sums, one
    per line, in order of application (`sha256sum *.patch | cut -c-64 |
    sha256sum`); "" for no patches."""
    if not patch_sha256s:
        return ""
    return hashlib.sha256("".join(f"{h}\n" for h in patch_sha256s).encode()).hexdigest()


def kcidb_path(check_name: str) -> str:
    """A check's name as a KCIDB test path: workload:dontneed-small[always]
    is pt_reclaim.workload.dontneed_small.always."""
    parts = [re.sub(r"[^A-Za-z0-9_]", "_", p) for p in _NAME_SEPARATORS.split(check_name) if p]
    return ".".join([PATH_ROOT, *parts])


def figure(value: str) -> Any:
    """A check property as JSON: a number, a list of numbers (a property
    holding one figure per round), a boolean, else the string."""
    words = value.split()
    if words and all(_NUMBER.match(w) for w in words):
        numbers = [float(w) if "." in w else int(w) for w in words]
        if all(math.isfinite(n) for n in numbers):
            return numbers[0] if len(numbers) == 1 else numbers
    return {"True": True, "False": False}.get(value, value)


def figures(properties: dict[str, str]) -> dict[str, Any]:
    # Digests stay strings, even one that happens to be all digits.
    return {k: v if k.endswith(("_key", "commit")) else figure(v)
            for k, v in properties.items()}


def to_kcidb(run: RunData, settings: KcidbSettings | None = None) -> dict[str, Any]:
    """The KCIDB document of a run: a checkout per source, a build per
    suite, a test per check; BadInput for settings KCIDB would refuse."""
    s = (settings or KcidbSettings()).check()
    sources: dict[str, Any] = run.meta.get("sources") or {}
    names = list(dict.fromkeys([*sources, *map(str, run.meta.get("kernels", []))]))
    checkouts: dict[str, dict[str, Any]] = {}
    builds, tests = [], []
    for suite in run.suites:
        source = source_of(suite.kernel, names)
        checkout = checkouts.get(source)
        if checkout is None:
            checkout = checkouts[source] = _checkout(run, s, source, sources.get(source),
                                                     _count(suite.properties))
        if any(c.name == "apply" and c.status in (FAILED, ERROR) for c in suite.checks):
            checkout["valid"] = False
        build = _build(run, s, suite, checkout["id"])
        builds.append(build)
        tests += _tests(run, s, suite, build["id"])
    return {"version": dict(SCHEMA_VERSION), "checkouts": list(checkouts.values()),
            "builds": builds, "tests": tests}


def write_kcidb(run: RunData, path: Path, settings: KcidbSettings | None = None) -> Path:
    atomic_write(path, json.dumps(to_kcidb(run, settings), indent=1) + "\n")
    return path


def source_of(kernel: str, sources: list[str]) -> str:
    """The source a suite's kernel label was built from: pt-reclaim for
    pt-reclaim+debug (a config) or pt-reclaim-patches (the nightly's
    per-patch suite); the longest name that fits wins."""
    for name in sorted(sources, key=len, reverse=True):
        if kernel == name or kernel.startswith((f"{name}+", f"{name}-")):
            return name
    return kernel.split("+", 1)[0]


def _checkout(run: RunData, s: KcidbSettings, source: str, recorded: dict[str, Any] | None,
              patch_count: int) -> dict[str, Any]:
    version = str(run.meta.get("kernel_version", ""))
    out: dict[str, Any] = {"id": f"{s.origin}:{run.run_id}:{source}", "origin": s.origin,
                           "valid": True}
    misc: dict[str, Any] = {"source": source, "kernel_version": version}
    if recorded is not None:     # runs before run.json had "sources" lack these
        patches = list(recorded.get("patches", []))
        out["patchset_hash"] = patchset_hash([str(p["sha256"]) for p in patches])
        misc["patches"] = patches
        if _SHA1.match(str(recorded.get("base_commit", ""))):
            out["git_commit_hash"] = recorded["base_commit"]
    # Older runs counted the patches in each suite without naming them.
    n = len(misc["patches"]) if "patches" in misc else patch_count
    out["comment"] = _text(version + (f" with {source} ({n} patches)" if n else ""))
    _put(out, "start_time", _time(run.meta.get("started")))
    _put(out, "tree_name", s.tree_name)
    _put(out, "git_repository_url", s.git_url)
    out["misc"] = misc
    return out


def _build(run: RunData, s: KcidbSettings, suite: Suite, checkout_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": f"{s.origin}:{run.run_id}:{suite.dirname}",
                           "checkout_id": checkout_id, "origin": s.origin,
                           "comment": _text(f"{suite.kernel} on {suite.arch}"
                                            + (f": {suite.version}" if suite.version else ""))}
    if suite.arch in ARCHES:
        out["architecture"] = suite.arch
    check = run.check(suite, "build")
    misc: dict[str, Any] = {"kernel": suite.kernel, **figures(suite.properties)}
    if check is not None:
        props = dict(check.properties)
        _put(out, "compiler", _text(props.pop("compiler", "")))
        fragments = props.get("fragments", "").split()
        # The fragments are the configuration; old runs name only the extra ones.
        out["config_name"] = ("+".join(["tinyconfig", *(Path(f).stem for f in fragments)])
                              if fragments else suite.kernel.partition("+")[2] or "default")
        out["status"] = STATUS.get(check.status, "ERROR")
        _put(out, "start_time", _time(check.started))
        out["duration"] = round(check.seconds, 3)
        # What tells the outcome: make's last words, more of them on a failure.
        lines = 5 if check.status == PASSED else 60
        log = tail(run.path / suite.dirname / "build.log", lines, indent="") or check.detail
        _put(out, "log_excerpt", _excerpt(log))
        misc.update(figures(props))
    _put(out, "log_url", _url(run, s, suite, "build.log"))
    _put(out, "config_url", _url(run, s, suite, "kernel.config"))
    out["misc"] = misc
    return out


def _tests(run: RunData, s: KcidbSettings, suite: Suite, build_id: str) -> list[dict[str, Any]]:
    boot = run.check(suite, "boot")
    environment: dict[str, Any] = {}
    if suite.arch in ARCHES:
        qemu = str(run.meta.get("qemu", {}).get(suite.arch, "QEMU"))
        accel = boot.properties.get("accel", "") if boot else ""
        environment = {"comment": _text(f"{qemu}, {suite.arch} guest"
                                        + (f" ({accel})" if accel else "")),
                       "misc": {"host": str(run.meta.get("host", "")), "accel": accel}}
    console = _url(run, s, suite, "console.log")
    seen: dict[str, int] = {}
    out = []
    for check in suite.checks:
        if check.name == "build":
            continue
        # A name twice in one suite (a KTAP case repeated) still needs its own ID.
        seen[check.name] = n = seen.get(check.name, 0) + 1
        test: dict[str, Any] = {"id": f"{build_id}:{check.name}" + (f"#{n}" if n > 1 else ""),
                                "build_id": build_id, "origin": s.origin,
                                "path": kcidb_path(check.name),
                                "status": STATUS.get(check.status, "ERROR")}
        _put(test, "start_time", _time(check.started))
        if check.status != SKIPPED or check.seconds:
            test["duration"] = round(check.seconds, 3)
        _put(test, "comment", _text(check.message))
        _put(test, "log_excerpt", _excerpt(check.detail))
        if environment:
            test["environment"] = environment
            _put(test, "log_url", console)
        samples = _samples_file(check)
        files = [{"name": samples, "url": url}
                 for url in [_url(run, s, suite, samples)] if samples and url]
        if files:
            test["output_files"] = files
        test["misc"] = {"check": check.name, **figures(check.properties)}
        out.append(test)
    return out


def _count(properties: dict[str, str]) -> int:
    value = properties.get("series_patches", "")
    return int(value) if value.isdigit() else 0


def _samples_file(check: Check) -> str:
    m = re.match(r"^workload:(?P<w>[^\[]+)\[(?P<m>[^\]]+)\]$", check.name)
    return f"samples-{m['w']}-{m['m']}.json" if m else ""


def _url(run: RunData, s: KcidbSettings, suite: Suite, name: str) -> str:
    """The published URL of a file of the suite, if it is published and exists."""
    if not s.artifacts_url or not (run.path / suite.dirname / name).is_file():
        return ""
    return (s.artifacts_url.rstrip("/") + "/"
            + urllib.parse.quote(f"{run.run_id}/{suite.dirname}/{name}"))


def _time(value: Any) -> str:
    """An RFC 3339 time as the schema's date-time wants it, or "" (a run
    recorded before checks had start times, or a bad value)."""
    try:
        t = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    return t.isoformat() if t.tzinfo is not None else ""


def _text(value: str) -> str:
    return value.replace("\0", "")      # the schema forbids NUL in every string


def _excerpt(value: str) -> str:
    return _text(value)[-LOG_EXCERPT_MAX:]


def _put(obj: dict[str, Any], key: str, value: str) -> None:
    """Set a property only when known: KCIDB forbids nulls, and an empty
    string would claim a value."""
    if value:
        obj[key] = value
