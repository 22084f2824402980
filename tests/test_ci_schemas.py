"""ci-examples/ against the GitHub Actions and GitLab CI schemas that
check-jsonschema vendors, so the examples keep up as those schemas move."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "ci-examples"


def schema_errors(schema: str, files: list[Path]) -> dict[str, list[str]]:
    """check-jsonschema's complaints about each file, by file name."""
    r = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
                        "--output-format", "json", *map(str, files)],
                       capture_output=True, text=True, timeout=120)
    report = json.loads(r.stdout)
    assert not report.get("parse_errors"), report["parse_errors"]
    out: dict[str, list[str]] = {}
    for e in report["errors"]:
        out.setdefault(Path(e["filename"]).name, []).append(
            f"{e['path']}: {e.get('best_match', e)['message']}")
    assert (r.returncode == 0) == (not out), r.stderr
    return out


@pytest.mark.parametrize("example, schema, breakage", [
    # Each with a copy broken the way a real edit could break it, so a
    # pass is the schema's verdict and not a check that looked at nothing.
    ("github-actions.yml", "vendor.github-workflows", ("    steps:", "    step:")),
    ("gitlab-ci.yml", "vendor.gitlab-ci", ("    when: always", "    when: sometimes")),
])
def test_ci_example_matches_its_schema(example: str, schema: str,
                                       breakage: tuple[str, str], tmp_path: Path) -> None:
    text = (EXAMPLES / example).read_text()
    assert breakage[0] in text
    broken = tmp_path / f"broken-{example}"
    broken.write_text(text.replace(*breakage))
    errors = schema_errors(schema, [EXAMPLES / example, broken])
    assert example not in errors, errors[example]
    assert broken.name in errors
