"""The core's own step types, registered through the same hook as any third-party plugin."""

from __future__ import annotations

from typing import Any

from .context import StepContext
from .errors import StepFailedError
from .hookspecs import hookimpl
from .steps import StepType, closed_object, object_output


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
            parameters=closed_object(
                ["message"], message={"type": ["string", "number", "boolean"]}, level=LEVEL
            ),
            output=object_output(message={"type": "string"}),
        ),
        StepType(
            name="utility.sleep",
            summary="Wait a number of seconds (the clock stops while the execution is paused)",
            handler=_sleep,
            parameters=closed_object(
                ["seconds"], seconds={"type": "number", "minimum": 0, "maximum": 86400}
            ),
            output=object_output(slept={"type": "number"}),
        ),
        StepType(
            name="utility.set_variable",
            summary="Set {{ variable.<name> }} for later steps",
            handler=_set_variable,
            parameters=closed_object(
                ["name"],
                name={"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"},
                value={},
            ),
            output=object_output(name={"type": "string"}, value={}),
        ),
        StepType(
            name="utility.assert",
            summary="Fail the step unless a condition holds",
            description="condition is usually a template, e.g. "
            "\"{{ step.info.version == '8.3.2' }}\".",
            handler=_assert,
            parameters=closed_object(
                ["condition"], condition={"type": "boolean"}, message={"type": "string"}
            ),
            output=object_output(passed={"type": "boolean"}),
        ),
        StepType(
            name="utility.fail",
            summary="Fail the step with a message",
            handler=_fail,
            parameters=closed_object(message={"type": "string"}),
            output=object_output(),
        ),
        StepType(
            name="playbook.run",
            summary="Run another playbook of the library inside this execution",
            description="The path is looked up beside the calling playbook first, then from the "
            "library's top. Its failure fails this step; it shares this execution's browser and "
            "gateway resources.",
            handler=_run_playbook,
            parameters=closed_object(
                ["playbook"],
                playbook={"type": "string", "minLength": 1},
                # A secret may be passed on whole; the nested playbook's parameter must be
                # declared secret: true, which is checked when it starts.
                parameters={"type": "object", "additionalProperties": {"writeOnly": True}},
            ),
            output=object_output(status={"type": "string"}, steps={"type": "object"}),
        ),
    ]
