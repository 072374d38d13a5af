"""The summary for people and the JUnit XML for CI: every finding in full, deviations apart from failures."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from .outcome import CheckResult, Finding, Status

WIDTH = 34
RULE = "-" * 100
ALSO_SHOWN = 10  # other cases of one deviation named below it


def counts_line(results: list[CheckResult], spent: int, limit: int, seconds: float) -> str:
    counts = {s: sum(1 for r in results if r.status is s) for s in Status}
    deviations = sum(len(r.deviations) for r in results)
    return (
        f"{counts[Status.PASSED]} passed, {counts[Status.FAILED]} failed, {counts[Status.DEVIATED]} deviated,"
        f" {counts[Status.SKIPPED]} skipped; {deviations} deviation(s) from Decisions;"
        f" {spent}/{limit} requests; {seconds:.1f}s"
    )


def render_finding(finding: Finding, indent: str = "  ") -> list[str]:
    """A finding in full: message, field-level diff, the Decision it concerns, every step to reproduce it."""
    lines = [indent + line for line in finding.message.splitlines()]
    if finding.occurrences > 1:
        lines.append(f"{indent}(seen {finding.occurrences} times; the first is shown)")
    shown = finding.also[:ALSO_SHOWN]
    lines += [f"{indent}also: {line}" for line in shown]
    if len(finding.also) > len(shown):
        lines.append(f"{indent}also: ... {len(finding.also) - len(shown)} more case(s)")
    for mismatch in finding.mismatches:
        lines.append(f"{indent}  {mismatch.render()}")
    if finding.decision is not None:
        lines.append(f"{indent}{finding.decision.describe()}")
    if finding.steps:
        lines.append(
            f"{indent}reproduce ({len(finding.steps)} step(s), in order; $API_KEY / $SECOND_API_KEY hold the keys):"
        )
        lines += [f"{indent}  {exchange.curl()}" for exchange in finding.steps]
    return lines


def summary(results: list[CheckResult], spent: int, limit: int, seconds: float) -> str:
    lines = [f"{'check':{WIDTH}} {'result':8} {'reqs':>5} {'secs':>6}  detail", RULE]
    for r in results:
        first_line = r.detail.splitlines()[0] if r.detail else ""
        if r.failures:
            first_line = f"{len(r.failures)} failure(s): " + r.failures[0].message.splitlines()[0]
        elif r.deviations:
            first_line = f"{len(r.deviations)} deviation(s); {first_line}"
        lines.append(f"{r.name:{WIDTH}} {r.status.value:8} {r.requests:5d} {r.seconds:6.1f}  {first_line[:160]}")
    lines += [RULE, counts_line(results, spent, limit, seconds)]
    for r in results:
        if not r.failures:
            continue
        lines += ["", f"FAILED {r.name}: {r.description}"]
        for index, finding in enumerate(r.failures, 1):
            lines.append(
                f"  [{index}/{len(r.failures)}]"
                + (" (the check crashed: a bug of the suite)" if finding.crashed else "")
            )
            lines += render_finding(finding, "    ")
    deviations = [(r, f) for r in results for f in r.deviations]
    if deviations:
        lines += [
            "",
            "DEVIATIONS: Decisions of the document this target does otherwise. They are not failures (the documented"
            " facts hold); --strict-decisions makes them failures.",
        ]
        for r, finding in deviations:
            lines += ["", f"DEVIATION {r.name}: {finding.decision.id if finding.decision else '?'}"]
            lines += render_finding(finding, "    ")
    covered = [r for r in results if r.coverage is not None and r.status is not Status.SKIPPED]
    if covered:
        lines += ["", "COVERAGE (what each check exercised):"]
        for r in covered:
            assert r.coverage is not None
            lines.append(f"  {r.name}: {r.coverage.summary() or 'no API operation'}")
    return "\n".join(lines)


def junit(results: list[CheckResult], path: Path, seconds: float) -> None:
    suite = ET.Element(
        "testsuite",
        name="coverbase-contract",
        tests=str(len(results)),
        failures=str(sum(r.status is Status.FAILED for r in results)),
        errors="0",
        skipped=str(sum(r.status is Status.SKIPPED for r in results)),
        time=f"{seconds:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="deviations", value=str(sum(len(r.deviations) for r in results)))
    ET.SubElement(
        properties, "property", name="deviated_checks", value=str(sum(r.status is Status.DEVIATED for r in results))
    )
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="coverbase-contract", name=r.name, time=f"{r.seconds:.3f}")
        if r.deviations:
            case_properties = ET.SubElement(case, "properties")
            for finding in r.deviations:
                decision = finding.decision
                value = f"{decision.id}: {decision.rule}" if decision else finding.message.splitlines()[0]
                ET.SubElement(case_properties, "property", name="deviation", value=value)
        if r.status is Status.FAILED:
            first = r.failures[0].message.splitlines()[0] if r.failures else "failed"
            failure = ET.SubElement(case, "failure", message=f"{len(r.failures)} failure(s): {first}"[:500])
            text: list[str] = []
            for index, finding in enumerate(r.failures, 1):
                text += [f"[{index}/{len(r.failures)}]", *render_finding(finding)]
            failure.text = "\n".join(text)
        elif r.status is Status.SKIPPED:
            ET.SubElement(case, "skipped", message=r.detail)
        out = [r.detail]
        if r.coverage is not None:
            out.append("coverage: " + (r.coverage.summary() or "no API operation"))
        for finding in r.deviations:
            out += [
                "",
                f"DEVIATION (not a failure): {finding.decision.id if finding.decision else '?'}",
                *render_finding(finding),
            ]
        ET.SubElement(case, "system-out").text = "\n".join(out)
    suites = ET.Element("testsuites")
    suites.append(suite)
    for element in suites.iter():
        # Evidence may quote any bytes a target was sent or answered (e.g. a generated non-UTF-8 body).
        element.text = _xml_safe(element.text) if element.text is not None else None
        element.attrib = {name: _xml_safe(value) for name, value in element.attrib.items()}
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(text: str) -> str:
    """`text` with every character XML 1.0 cannot hold (control characters, lone surrogates) escaped as \\uXXXX."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
