"""Schema fragments shared by the browser step types, so every step says the same thing the same way."""

from __future__ import annotations

from typing import Any

from ignition_toolbox.core import StepType

from ..failures import BrowserHandler, browser_step

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


def params(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    """A closed object schema: unknown keys are a validation error before the run starts."""
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


def output(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def step_type(
    name: str,
    summary: str,
    handler: BrowserHandler,
    parameters: dict[str, Any],
    result: dict[str, Any],
    description: str = "",
) -> StepType:
    return StepType(
        name=f"browser.{name}",
        summary=summary,
        description=description,
        handler=browser_step(handler),
        parameters=parameters,
        output=result,
        resources=("browser",),
    )
