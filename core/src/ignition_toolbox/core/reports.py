"""Reports of a finished execution that CI servers and people read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

if TYPE_CHECKING:
    from .playbook import Playbook


def _seconds(result: Any) -> str:
    if result.started_at and result.completed_at:
        return f"{(result.completed_at - result.started_at).total_seconds():.3f}"
    return "0"


def junit_xml(playbook: Playbook, execution: Any) -> str:
    """JUnit XML with one testcase per step (Jenkins, GitLab and Azure DevOps read this shape)."""
    results = list(execution.step_results)
    suite = ET.Element(
        "testsuite",
        name=playbook.name,
        tests=str(len(results)),
        failures=str(sum(r.status == "failed" for r in results)),
        skipped=str(sum(r.status in ("skipped", "cancelled", "pending") for r in results)),
        errors="0",
    )
    suite.set("time", f"{sum(float(_seconds(r)) for r in results):.3f}")
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=playbook.source.removesuffix(".yaml").removesuffix(".yml").replace("/", "."),
            name=f"{result.step_id}: {result.step_name}",
            time=_seconds(result),
        )
        if result.status == "failed":
            error = result.error or {}
            failure = ET.SubElement(
                case,
                "failure",
                message=str(error.get("message", "failed")),
                type=str(error.get("code", "internal_error")),
            )
            failure.text = str(error.get("message", ""))
        elif result.status in ("skipped", "cancelled", "pending"):
            ET.SubElement(case, "skipped", message=result.status)
    suites = ET.Element("testsuites")
    suites.append(suite)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)
