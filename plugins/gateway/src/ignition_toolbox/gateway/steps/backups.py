"""Backup (kept as an execution artifact) and restore steps."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from ignition_toolbox.core import StepContext, StepType

from ..readiness import wait_for_restart
from .connect import INTERVAL, TIMEOUT, connect, local_file, output, parameters

ARTIFACT = {
    "artifact_id": {"type": "string"},
    "filename": {"type": "string"},
    "path": {"type": "string", "description": "Local path of the saved file, for later steps"},
    "size": {"type": "integer"},
    "sha256": {"type": "string"},
}


async def save_artifact(
    ctx: StepContext, data: bytes, filename: str, *, kind: str, content_type: str
) -> dict[str, Any]:
    event = await ctx.add_artifact(filename, data, kind=kind, content_type=content_type)
    return {
        "artifact_id": event.artifact_id,
        "filename": filename,
        "path": str(event.path),
        "size": event.size,
        "sha256": hashlib.sha256(data).hexdigest(),
    }


async def backup(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    data, filename = await client.backup(params.get("type", "all"))
    filename = params.get("filename") or filename
    await ctx.log(f"Downloaded backup {filename} ({len(data)} bytes)")
    return await save_artifact(
        ctx, data, filename, kind="backup", content_type="application/octet-stream"
    )


async def restore(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    file = local_file(ctx, params["path"], "Backup")
    data = await asyncio.to_thread(file.read_bytes)
    await client.restore(
        data,
        restore_disabled=params.get("restore_disabled", False),
        new_name=params.get("new_name"),
        timeout=params.get("timeout", 300),
    )
    await ctx.log(f"Restored {file.name}; the gateway restarts to apply it")
    out: dict[str, Any] = {
        "restored": True,
        "filename": file.name,
        "waited": False,
        "state": "RESTARTING",
    }
    if params.get("wait", True):
        result = await wait_for_restart(
            client,
            sleep=ctx.sleep,
            timeout=params.get("timeout", 300),
            interval=params.get("interval", 2),
            grace=params.get("grace", 10),
        )
        out.update(waited=True, state=result["state"])
    return out


STEP_TYPES = [
    StepType(
        name="gateway.backup",
        summary="Download a gateway backup (.gwbk) and keep it as an execution artifact",
        handler=backup,
        parameters=parameters(
            {
                "type": {"enum": ["all", "roaming"], "default": "all"},
                "filename": {"type": "string", "pattern": r"^[^/\\]+$"},
            }
        ),
        output=output(ARTIFACT),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.restore",
        summary="Restore a .gwbk backup; the gateway restarts, and by default the step waits",
        handler=restore,
        parameters=parameters(
            {
                "path": {"type": "string", "minLength": 1},
                "restore_disabled": {"type": "boolean", "default": False},
                "new_name": {"type": "string", "minLength": 1},
                "wait": {"type": "boolean", "default": True},
                "timeout": {**TIMEOUT, "default": 300},
                "interval": INTERVAL,
                "grace": {"type": "number", "minimum": 0, "default": 10},
            },
            ("path",),
        ),
        output=output(
            {
                "restored": {"type": "boolean"},
                "filename": {"type": "string"},
                "waited": {"type": "boolean"},
                "state": {"type": "string"},
            }
        ),
        resources=("gateway",),
    ),
]
