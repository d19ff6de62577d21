"""A third-party plugin exactly as a team would write one: one step type, found by entry point."""

from __future__ import annotations

from typing import Any

from ignition_toolbox.core import StepContext, StepType, hookimpl


async def _shout(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    text = str(params["text"]).upper() + "!" * int(params.get("times", 1))
    await ctx.log(text)
    return {"text": text}


@hookimpl
def itk_step_types() -> list[StepType]:
    return [
        StepType(
            name="sample.shout",
            summary="Upper-case a text",
            handler=_shout,
            parameters={
                "type": "object",
                "required": ["text"],
                "additionalProperties": False,
                "properties": {
                    "text": {"type": "string"},
                    "times": {"type": "integer", "minimum": 1, "maximum": 5},
                },
            },
            output={"type": "object", "properties": {"text": {"type": "string"}}},
        )
    ]
