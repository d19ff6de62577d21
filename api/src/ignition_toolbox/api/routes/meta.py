"""What this server can do: installed plugins, their step types, and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, current_app

from .. import openapi
from ..state import current

blueprint = Blueprint("meta", __name__)


@blueprint.get("/api/step-types")
async def step_types() -> dict[str, Any]:
    plugins = current().plugins
    return {
        "step_types": [
            {**t.describe(), "plugin": plugins.owner_of(t.name)}
            for t in sorted(plugins.step_types.values(), key=lambda t: t.name)
        ]
    }


@blueprint.get("/api/plugins")
async def plugins() -> dict[str, Any]:
    return {"plugins": [p.describe() for p in current().plugins.plugins()]}


@blueprint.get("/api/openapi.json")
async def openapi_document() -> dict[str, Any]:
    return openapi.document(current_app)
