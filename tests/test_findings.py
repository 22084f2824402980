from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.suite.findings import expected_failures, load_findings


def test_project_findings_load() -> None:
    findings = load_findings()
    assert findings, "findings.toml lists today's red verdicts"
    for f in findings:
        assert f.arches and f.run and f.why
    assert "overhead:scanner" in expected_failures(findings, "arm64")
    assert "overhead:scanner" not in expected_failures(findings, "x86_64")


def test_typo_names_file_entry_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "findings.toml"
    bad.write_text('[[finding]]\ncheck = "x"\narchs = ["x86_64"]\nrun = "r"\nwhy = "w"\n')
    with pytest.raises(BadInput, match=r"findings.toml: \[finding#1\] archs: unknown key; "
                                       r"\[finding#1\] arches: missing key$"):
        load_findings(bad)


def test_only_the_named_arches(tmp_path: Path) -> None:
    f = tmp_path / "findings.toml"
    f.write_text('[[finding]]\ncheck = "c"\narches = ["arm64"]\nrun = "r"\nwhy = "w"\n')
    findings = load_findings(f)
    assert expected_failures(findings, "arm64") == {"c"}
    assert expected_failures(findings, "x86_64") == set()
