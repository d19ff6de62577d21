"""Schema fragments shared by the Perspective step types, and the one way a step type is declared."""

from __future__ import annotations

from typing import Any

from ignition_toolbox.browser import browser_step_type
from ignition_toolbox.core import StepType, closed_object, object_output

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


# Shared with every plugin through the core, so all step schemas are closed the same way.
params = closed_object
output = object_output


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
    return browser_step_type(
        f"perspective.{name}", summary, handler, parameters, result, description, secret_parameters
    )
