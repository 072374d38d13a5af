"""The summary table for people and the JUnit XML for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .outcome import CheckResult, Status

WIDTH = 34


def summary(results: list[CheckResult], spent: int, limit: int, seconds: float) -> str:
    lines = [f"{'check':{WIDTH}} {'result':8} {'reqs':>5} {'secs':>6}  detail", "-" * 100]
    for r in results:
        first_line = r.detail.splitlines()[0][:160] if r.detail else ""
        lines.append(f"{r.name:{WIDTH}} {r.status.value:8} {r.requests:5d} {r.seconds:6.1f}  {first_line}")
    counts = {s: sum(1 for r in results if r.status is s) for s in Status}
    lines.append("-" * 100)
    lines.append(
        f"{counts[Status.PASSED]} passed, {counts[Status.FAILED]} failed, {counts[Status.SKIPPED]} skipped;"
        f" {spent}/{limit} requests; {seconds:.1f}s"
    )
    for r in results:
        if r.status is Status.FAILED:
            lines += ["", f"FAILED {r.name}: {r.description}", *("  " + line for line in r.detail.splitlines()[:40])]
            if r.reproduction:
                lines.append("  reproduce (API_KEY / SECOND_API_KEY hold the keys):")
                lines += [f"    {cmd}" for cmd in r.reproduction]
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
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="coverbase-contract", name=r.name, time=f"{r.seconds:.3f}")
        if r.status is Status.FAILED:
            failure = ET.SubElement(case, "failure", message=r.detail.splitlines()[0][:500] if r.detail else "failed")
            failure.text = r.detail + ("\n\nReproduce:\n" + "\n".join(r.reproduction) if r.reproduction else "")
        elif r.status is Status.SKIPPED:
            ET.SubElement(case, "skipped", message=r.detail)
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
