from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.suite.findings import expected_failures, load_findings


def test_project_findings_load() -> None:
    """The project's findings parse, and each names its check, the arches
    it fails on, the run that measured it and why it stays. The list may
    be empty: it is while the series meets every check make test runs."""
    for f in load_findings():
        assert f.check and f.run and f.why
        assert f.arches and set(f.arches) <= {"x86_64", "arm64"}


@pytest.mark.parametrize(("arches_line", "message"), [
    ('archs = ["x86_64"]',
     r"\[finding#1\] archs: unknown key; \[finding#1\] arches: missing key$"),
    ('arches = "x86_64"',
     r"\[finding#1\] arches: input should be a valid list, not 'x86_64'$"),
])
def test_bad_entry_names_file_entry_and_key(tmp_path: Path, arches_line: str,
                                             message: str) -> None:
    bad = tmp_path / "findings.toml"
    bad.write_text(f'[[finding]]\ncheck = "c"\n{arches_line}\nrun = "r"\nwhy = "w"\n')
    with pytest.raises(BadInput, match=r"findings.toml: " + message):
        load_findings(bad)


def test_only_the_named_arches(tmp_path: Path) -> None:
    f = tmp_path / "findings.toml"
    f.write_text('[[finding]]\ncheck = "c"\narches = ["arm64"]\nrun = "r"\nwhy = "w"\n')
    findings = load_findings(f)
    assert expected_failures(findings, "arm64") == {"c"}
    assert expected_failures(findings, "x86_64") == set()
