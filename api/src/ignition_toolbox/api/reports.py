"""Execution reports: JUnit XML for CI systems, a self-contained HTML page for people."""

from __future__ import annotations

import html
import json
from typing import Any
from xml.etree import ElementTree as ET

FORMATS = ("json", "junit", "html")


def _seconds(step: dict[str, Any]) -> float:
    from datetime import datetime

    try:
        start = datetime.fromisoformat(step["started_at"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(step["completed_at"].replace("Z", "+00:00"))
    except (AttributeError, TypeError, ValueError):
        return 0.0
    return max(0.0, (end - start).total_seconds())


def junit(detail: dict[str, Any]) -> str:
    steps = detail["step_results"]
    suite = ET.Element(
        "testsuite",
        name=detail["playbook_name"],
        tests=str(len(steps)),
        failures=str(sum(1 for s in steps if s["status"] == "failed")),
        skipped=str(sum(1 for s in steps if s["status"] in ("skipped", "cancelled"))),
        errors=str(sum(1 for s in steps if s["status"] == "interrupted")),
        timestamp=detail.get("started_at") or "",
    )
    for step in steps:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=detail["playbook_path"],
            name=f"{step['step_id']}: {step['step_name']}",
            time=f"{_seconds(step):.3f}",
        )
        error = step.get("error") or {}
        if step["status"] == "failed":
            failure = ET.SubElement(
                case,
                "failure",
                message=str(error.get("message", "")),
                type=str(error.get("code", "")),
            )
            failure.text = json.dumps(error, default=str)
        elif step["status"] in ("skipped", "cancelled"):
            ET.SubElement(case, "skipped", message=step["status"])
        elif step["status"] == "interrupted":
            ET.SubElement(case, "error", message="interrupted by a server restart")
    suites = ET.Element("testsuites", name=f"execution {detail['execution_id']}")
    suites.append(suite)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def html_page(detail: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr class='{html.escape(s['status'])}'><td>{s['step_index']}</td>"
        f"<td>{html.escape(s['step_id'])}</td><td>{html.escape(s['step_name'])}</td>"
        f"<td>{html.escape(s['step_type'])}</td><td>{html.escape(s['status'])}</td>"
        f"<td>{_seconds(s):.2f} s</td>"
        f"<td>{html.escape(str((s.get('error') or {}).get('message', '')))}</td></tr>"
        for s in detail["step_results"]
    )
    title = html.escape(detail["playbook_name"])
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>body{{font-family:sans-serif}}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
        ".failed{background:#fdd}.completed{background:#dfd}</style></head><body>"
        f"<h1>{title}</h1><p>Execution {html.escape(detail['execution_id'])}: "
        f"<b>{html.escape(detail['status'])}</b></p>"
        "<table><tr><th>#</th><th>id</th><th>name</th><th>type</th><th>status</th>"
        f"<th>time</th><th>error</th></tr>{rows}</table></body></html>"
    )


def render(detail: dict[str, Any], fmt: str) -> tuple[str, str]:
    if fmt == "junit":
        return junit(detail), "application/xml; charset=utf-8"
    if fmt == "html":
        return html_page(detail), "text/html; charset=utf-8"
    return json.dumps(detail, default=str), "application/json"


__all__ = ["FORMATS", "html_page", "junit", "render"]
