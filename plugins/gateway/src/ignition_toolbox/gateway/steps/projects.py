"""Project steps: list, export (artifact), import, and the scans needed after on-disk changes."""

from __future__ import annotations

import asyncio
from typing import Any

from ignition_toolbox.core import StepContext, StepFailedError, StepType

from ..errors import GatewayConflictError
from .backups import ARTIFACT, save_artifact
from .connect import connect, local_file, output, parameters

NAME = {"type": "string", "minLength": 1, "pattern": r"^[^/\\]+$"}


async def list_projects(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    projects = await client.projects()
    return {
        "projects": projects,
        "names": [str(p.get("name")) for p in projects],
        "count": len(projects),
    }


async def export_project(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    name = params["name"]
    data = await client.export_project(name)
    filename = params.get("filename") or f"{name}.zip"
    return {
        "name": name,
        **await save_artifact(ctx, data, filename, kind="project", content_type="application/zip"),
    }


async def import_project(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    file = local_file(ctx, params["path"], "Project")
    name = params.get("name") or file.stem
    overwrite = params.get("overwrite", False)
    existed = name in await client.project_names()
    if existed and not overwrite:
        raise StepFailedError(
            f"Project {name} already exists on the gateway: set overwrite: true to replace it",
            {"name": name},
            code="validation_error",
        )
    data = await asyncio.to_thread(file.read_bytes)
    try:
        await client.import_project(name, data, overwrite=overwrite)
    except GatewayConflictError as exc:
        raise StepFailedError(
            f"Project {name} already exists on the gateway: set overwrite: true to replace it",
            {"name": name},
            code="validation_error",
        ) from exc
    return {"name": name, "replaced": existed, "size": len(data)}


async def scan(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    target = params.get("target", "both")
    out: dict[str, Any] = {"projects": None, "config": None}
    if target in ("projects", "both"):
        out["projects"] = await client.scan("projects")
    if target in ("config", "both"):
        out["config"] = await client.scan("config")
    return out


STEP_TYPES = [
    StepType(
        name="gateway.list_projects",
        summary="List the gateway's projects",
        handler=list_projects,
        parameters=parameters(),
        output=output(
            {
                "projects": {"type": "array"},
                "names": {"type": "array", "items": {"type": "string"}},
                "count": {"type": "integer"},
            }
        ),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.export_project",
        summary="Export a project as a zip and keep it as an execution artifact",
        handler=export_project,
        parameters=parameters({"name": NAME, "filename": NAME}, ("name",)),
        output=output({"name": {"type": "string"}, **ARTIFACT}),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.import_project",
        summary="Import a project zip (refuses to replace one unless overwrite is true)",
        handler=import_project,
        parameters=parameters(
            {
                "path": {"type": "string", "minLength": 1},
                "name": NAME,
                "overwrite": {"type": "boolean", "default": False},
            },
            ("path",),
        ),
        output=output(
            {
                "name": {"type": "string"},
                "replaced": {"type": "boolean"},
                "size": {"type": "integer"},
            }
        ),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.scan",
        summary="Ask the gateway to rescan projects and/or config after changes made on disk",
        handler=scan,
        parameters=parameters(
            {"target": {"enum": ["projects", "config", "both"], "default": "both"}}
        ),
        output=output(
            {"projects": {"type": ["object", "null"]}, "config": {"type": ["object", "null"]}}
        ),
        resources=("gateway",),
    ),
]
