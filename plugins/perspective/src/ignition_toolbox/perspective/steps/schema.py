"""Schema fragments shared by the Perspective step types, and the one way a step type is declared."""

from __future__ import annotations

from typing import Any

from ignition_toolbox.browser import browser_step
from ignition_toolbox.core import StepType

from ..locators import LOCATOR_SCHEMA

TIMEOUT: dict[str, Any] = {
    "type": "number",
    "exclusiveMinimum": 0,
    "maximum": 3600,
    "description": "Seconds to wait; default: the browser option default_timeout (30 s)",
}
LOCATOR = LOCATOR_SCHEMA
COMPONENT_OUTPUT: dict[str, Any] = {
    "path": {"type": ["string", "null"]},
    "type": {"type": ["string", "null"]},
    "dom_id": {"type": ["string", "null"]},
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
    handler: Any,
    parameters: dict[str, Any],
    result: dict[str, Any],
    description: str = "",
    secret_parameters: tuple[str, ...] = (),
) -> StepType:
    """A ``perspective.<name>`` step on the browser resource, with the browser's failure evidence."""
    return StepType(
        name=f"perspective.{name}",
        summary=summary,
        description=description,
        handler=browser_step(handler),
        parameters=parameters,
        output=result,
        resources=("browser",),
        secret_parameters=secret_parameters,
    )


__all__ = ["COMPONENT_OUTPUT", "LOCATOR", "TIMEOUT", "output", "params", "step_type"]
