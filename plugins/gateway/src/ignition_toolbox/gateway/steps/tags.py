"""Tag export and import (tag configuration JSON; 8.3 has no REST API for tag values)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ignition_toolbox.core import StepContext, StepFailedError, StepType

from .backups import save_artifact
from .connect import connect, local_file, output, parameters

PROVIDER = {"type": "string", "minLength": 1, "default": "default"}


def _count(node: Any) -> int:
    if isinstance(node, list):
        return sum(_count(n) for n in node)
    if isinstance(node, dict):
        children = node.get("tags") or []
        own = 0 if node.get("tagType") in ("Provider", "Folder", None) else 1
        return own + _count(children)
    return 0


async def export_tags(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    tags = await client.export_tags(
        params.get("provider", "default"),
        params.get("path", ""),
        recursive=params.get("recursive", True),
        include_udts=params.get("include_udts", True),
    )
    out: dict[str, Any] = {"tags": tags, "count": _count(tags), "artifact_id": None, "path": None}
    if params.get("save_artifact", True):
        saved = await save_artifact(
            ctx,
            json.dumps(tags, indent=2).encode(),
            params.get("filename") or "tags.json",
            kind="tags",
            content_type="application/json",
        )
        out.update(artifact_id=saved["artifact_id"], path=saved["path"])
    return out


async def import_tags(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    if "tags" in params:
        tags = params["tags"]
    elif "file" in params:
        file = local_file(ctx, params["file"], "Tag")
        try:
            tags = json.loads(await asyncio.to_thread(file.read_text))
        except ValueError as exc:
            raise StepFailedError(f"{file.name} is not tag JSON", code="validation_error") from exc
    else:
        raise StepFailedError("gateway.import_tags needs tags or file", code="validation_error")
    result = await client.import_tags(
        tags,
        params.get("provider", "default"),
        params.get("path", ""),
        collision_policy=params.get("collision_policy", "Abort"),
    )
    if isinstance(result, list) and result:
        raise StepFailedError(
            f"Gateway reported {len(result)} bad tag(s) on import", {"quality_codes": result[:50]}
        )
    return {"result": result, "count": _count(tags)}


STEP_TYPES = [
    StepType(
        name="gateway.export_tags",
        summary="Export tag configuration as JSON (output and, by default, an artifact)",
        handler=export_tags,
        parameters=parameters(
            {
                "provider": PROVIDER,
                "path": {"type": "string", "default": ""},
                "recursive": {"type": "boolean", "default": True},
                "include_udts": {"type": "boolean", "default": True},
                "save_artifact": {"type": "boolean", "default": True},
                "filename": {"type": "string", "pattern": r"^[^/\\]+$"},
            }
        ),
        output=output(
            {
                "tags": {"type": ["object", "array"]},
                "count": {"type": "integer"},
                "artifact_id": {"type": ["string", "null"]},
                "path": {"type": ["string", "null"]},
            }
        ),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.import_tags",
        summary="Import tag configuration JSON (given inline or as a file)",
        handler=import_tags,
        parameters=parameters(
            {
                "tags": {"type": ["object", "array"]},
                "file": {"type": "string", "minLength": 1},
                "provider": PROVIDER,
                "path": {"type": "string", "default": ""},
                "collision_policy": {
                    "enum": ["Abort", "Overwrite", "Rename", "Ignore", "MergeOverwrite"],
                    "default": "Abort",
                },
            },
            oneOf=[{"required": ["tags"]}, {"required": ["file"]}],
        ),
        output=output({"result": {}, "count": {"type": "integer"}}),
        resources=("gateway",),
    ),
]
