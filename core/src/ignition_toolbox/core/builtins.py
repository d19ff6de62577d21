"""The core's own step types, registered through the same hook as any third-party plugin."""

from __future__ import annotations

from typing import Any

from .context import StepContext
from .errors import StepFailedError
from .hookspecs import hookimpl
from .steps import StepType


async def _log(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    await ctx.log(str(params["message"]), params.get("level", "info"))
    return {"message": ctx.redact(str(params["message"]))}


async def _sleep(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    await ctx.sleep(float(params["seconds"]))
    return {"slept": float(params["seconds"])}


async def _set_variable(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.variables[params["name"]] = params.get("value")
    return {"name": params["name"], "value": params.get("value")}


async def _assert(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    if not params["condition"]:
        raise StepFailedError(
            str(params.get("message") or "assertion failed"),
            {"condition": False},
            code="validation_error",
        )
    return {"passed": True}


async def _fail(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    raise StepFailedError(str(params.get("message") or "failed by the playbook"))


async def _run_playbook(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    runner = ctx.execution.runner
    result: dict[str, Any] = await runner.run_child(
        params["playbook"], params.get("parameters") or {}, ctx
    )
    return result


LEVEL = {"enum": ["debug", "info", "warning", "error"], "default": "info"}


@hookimpl
def itk_step_types() -> list[StepType]:
    return [
        StepType(
            name="utility.log",
            summary="Write a message to the execution log",
            handler=_log,
            parameters={
                "type": "object",
                "required": ["message"],
                "additionalProperties": False,
                "properties": {
                    "message": {"type": ["string", "number", "boolean"]},
                    "level": LEVEL,
                },
            },
            output={"type": "object", "properties": {"message": {"type": "string"}}},
        ),
        StepType(
            name="utility.sleep",
            summary="Wait a number of seconds (the clock stops while the execution is paused)",
            handler=_sleep,
            parameters={
                "type": "object",
                "required": ["seconds"],
                "additionalProperties": False,
                "properties": {"seconds": {"type": "number", "minimum": 0, "maximum": 86400}},
            },
            output={"type": "object", "properties": {"slept": {"type": "number"}}},
        ),
        StepType(
            name="utility.set_variable",
            summary="Set {{ variable.<name> }} for later steps",
            handler=_set_variable,
            parameters={
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"},
                    "value": {},
                },
            },
            output={"type": "object", "properties": {"name": {"type": "string"}, "value": {}}},
        ),
        StepType(
            name="utility.assert",
            summary="Fail the step unless a condition holds",
            description="condition is usually a template, e.g. \"{{ step.info.output.version == '8.3.2' }}\".",
            handler=_assert,
            parameters={
                "type": "object",
                "required": ["condition"],
                "additionalProperties": False,
                "properties": {"condition": {"type": "boolean"}, "message": {"type": "string"}},
            },
            output={"type": "object", "properties": {"passed": {"type": "boolean"}}},
        ),
        StepType(
            name="utility.fail",
            summary="Fail the step with a message",
            handler=_fail,
            parameters={
                "type": "object",
                "additionalProperties": False,
                "properties": {"message": {"type": "string"}},
            },
            output={"type": "object"},
        ),
        StepType(
            name="playbook.run",
            summary="Run another playbook of the library inside this execution",
            description="Its failure fails this step; it shares this execution's browser and gateway resources.",
            handler=_run_playbook,
            parameters={
                "type": "object",
                "required": ["playbook"],
                "additionalProperties": False,
                "properties": {
                    "playbook": {"type": "string", "minLength": 1},
                    "parameters": {"type": "object"},
                },
            },
            output={
                "type": "object",
                "properties": {"status": {"type": "string"}, "steps": {"type": "object"}},
            },
        ),
    ]
