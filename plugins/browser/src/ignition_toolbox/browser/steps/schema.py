"""Schema fragments shared by the browser step types, so every step says the same thing the same way."""

from __future__ import annotations

from typing import Any

from ignition_toolbox.core import StepType, closed_object, object_output

from ..failures import BrowserHandler, browser_step_type

SELECTOR: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 2000,
    "description": "A Playwright selector: CSS, text=…, role=…[name=…], xpath=…, chained with >>",
}
TIMEOUT: dict[str, Any] = {
    "type": "number",
    "exclusiveMinimum": 0,
    "maximum": 3600,
    "description": "Seconds to wait; default: the browser option default_timeout (30 s)",
}
WAIT_UNTIL: dict[str, Any] = {
    "enum": ["load", "domcontentloaded", "networkidle", "commit"],
    "default": "load",
}
TEXT_MATCH: dict[str, Any] = {"enum": ["exact", "contains", "regex"], "default": "exact"}

SELECTOR_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"selector": {"type": "string"}},
}


# Shared with every plugin through the core, so all step schemas are closed the same way.
params = closed_object
output = object_output


def step_type(
    name: str,
    summary: str,
    handler: BrowserHandler,
    parameters: dict[str, Any],
    result: dict[str, Any],
    description: str = "",
) -> StepType:
    return browser_step_type(f"browser.{name}", summary, handler, parameters, result, description)
