"""A test-only plugin: step types that emit screenshot frames and keep artifacts."""

from __future__ import annotations

from typing import Any

from ignition_toolbox.core import StepType, hookimpl

# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5f1d6b90000000049454e44ae426082"
)


async def _frames(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    count = int(params.get("count", 5))
    size = int(params.get("size", 0))
    payload = PNG + b"\0" * size
    for _ in range(count):
        await ctx.emit_frame(payload, "image/png")
        await ctx.sleep(float(params.get("interval", 0.05)))
    return {"frames": count}


async def _artifact(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    event = await ctx.add_artifact(
        params.get("name", "shot.png"), PNG, kind="screenshot", content_type="image/png"
    )
    return {"artifact_id": event.artifact_id}


async def _send_secret(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """A sink, as a plugin's HTTP step would be: the secret revealed for the run's gateway."""
    text = ctx.reveal(params["secret"], params.get("url") or ctx.gateway_url)
    await ctx.log(f"sending {text} ({len(text)} characters)")
    return {"sent": text, "length": len(text)}


async def _read_file(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    return {"size": ctx.resolve_file(params["path"], "Module").stat().st_size}


@hookimpl
def itk_step_types() -> list[StepType]:
    return [
        StepType(
            name="testing.send_secret",
            summary="Reveal a secret for the execution's gateway (or url) and report its length",
            handler=_send_secret,
            parameters={
                "type": "object",
                "required": ["secret"],
                "additionalProperties": False,
                "properties": {
                    "secret": {"type": "string", "writeOnly": True},
                    "url": {"type": "string"},
                },
            },
        ),
        StepType(
            name="testing.read_file",
            summary="Read an input file the server allows",
            handler=_read_file,
            parameters={
                "type": "object",
                "required": ["path"],
                "additionalProperties": False,
                "properties": {"path": {"type": "string"}},
            },
        ),
        StepType(
            name="testing.frames",
            summary="Emit live-view frames",
            handler=_frames,
            parameters={
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "count": {"type": "integer"},
                    "interval": {"type": "number"},
                    "size": {"type": "integer"},
                },
            },
        ),
        StepType(
            name="testing.screenshot",
            summary="Keep a screenshot artifact",
            handler=_artifact,
            parameters={
                "type": "object",
                "additionalProperties": False,
                "properties": {"name": {"type": "string"}},
            },
        ),
    ]
