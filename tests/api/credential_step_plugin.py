"""A test-only step that logs in the way gateway and Perspective steps do: ``ctx.credential()``."""

from __future__ import annotations

from typing import Any

from ignition_toolbox.core import StepType, hookimpl


async def _log_in(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    credential = await ctx.credential(params.get("credential"))
    return {"user": credential.username}


@hookimpl
def itk_step_types() -> list[StepType]:
    return [
        StepType(
            name="testing.log_in",
            summary="Resolve a credential as a login step does",
            handler=_log_in,
            parameters={
                "type": "object",
                "additionalProperties": False,
                "properties": {"credential": {"type": "string"}},
            },
        )
    ]
