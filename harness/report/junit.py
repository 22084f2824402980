"""JUnit XML with junitparser: one testsuite per (kernel, arch), a testcase
per check, figures as properties, failures carrying reason and excerpt.

`failure` is the code under test failing (errors.TEST: a failed check, a
build that broke, a guest that died), `error` the harness or the host not
doing its job (errors.HOST: a missing tool, the mirror, a full disk)."""

import re
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Properties, Property, Skipped, TestCase, TestSuite

from ..cache import atomic_file
from ..errors import TEST
from ..results import ERROR, FAILED, SKIPPED, Suite

# C0 controls other than tab, newline and CR: XML 1.0 has no way to write
# them, and a test's output may hold any (khugepaged colours its results
# with ESC sequences), which made the pretty-printer's parse fail.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


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
            cause = check.failure_cause
            if cause is not None and cause != TEST:
                # The harness or the host could not do its job: no verdict.
                tc.result = [Error(xml_text(check.message or "error"), type_=cause)]
                tc.result[0].text = xml_text(check.detail)
            elif cause is not None:
                # The code under test failed: a failed check, or one it made
                # unable to finish (a guest that died, a build that broke);
                # the type keeps which.
                tc.result = [Failure(xml_text(check.message or check.status),
                                     type_=FAILED if check.status == FAILED else ERROR)]
                tc.result[0].text = xml_text(check.detail)
            elif check.status == SKIPPED:
                tc.result = [Skipped(xml_text(check.message or "skipped"))]
            if check.properties:
                props = Properties()
                for k, v in check.properties.items():
                    props.add_property(Property(k, xml_text(str(v))))
                tc.append(props)
            ts.add_testcase(tc)
        ts.update_statistics()
        xml.add_testsuite(ts)
    xml.update_statistics()
    return xml


def write_junit(suites: list[Suite], path: Path) -> None:
    with atomic_file(path) as tmp:
        to_junit(suites).write(str(tmp), pretty=True)
