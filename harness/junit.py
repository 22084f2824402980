"""JUnit XML with junitparser: one testsuite per (kernel, arch), a testcase
per check, figures as properties, failures carrying reason and excerpt."""

from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Properties, Property, Skipped, TestCase, TestSuite

from .results import ERROR, FAILED, SKIPPED, Suite


def to_junit(suites: list[Suite]) -> JUnitXml:
    xml = JUnitXml(name="pt-harness")
    for suite in suites:
        ts = TestSuite(suite.name)
        for k, v in {"kernel": suite.kernel, "arch": suite.arch, "version": suite.version,
                     **suite.properties}.items():
            ts.add_property(k, str(v))
        for check in suite.checks:
            tc = TestCase(check.name, classname=f"{suite.kernel}.{suite.arch}",
                          time=round(check.seconds, 3))
            if check.status == FAILED:
                tc.result = [Failure(check.message or "failed")]
                tc.result[0].text = check.detail
            elif check.status == ERROR:
                tc.result = [Error(check.message or "error")]
                tc.result[0].text = check.detail
            elif check.status == SKIPPED:
                tc.result = [Skipped(check.message or "skipped")]
            if check.properties:
                props = Properties()
                for k, v in check.properties.items():
                    props.add_property(Property(k, str(v)))
                tc.append(props)
            ts.add_testcase(tc)
        ts.update_statistics()
        xml.add_testsuite(ts)
    xml.update_statistics()
    return xml


def write_junit(suites: list[Suite], path: Path) -> None:
    tmp = path.with_suffix(".xml.tmp")
    to_junit(suites).write(str(tmp), pretty=True)
    tmp.replace(path)
