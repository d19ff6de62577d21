"""Recording what is on screen: the component inventory and screenshots, both kept as artifacts."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from ignition_toolbox.browser import BrowserSession
from ignition_toolbox.core import StepContext, StepType

from ..discovery import COMPONENT_SCHEMA, discover
from ..locators import resolve
from .schema import LOCATOR, TIMEOUT, output, params, step_type

REGION = {"type": "string", "pattern": "^[A-Z]{1,3}$", "description": "C, T, L, R, B, P…"}


async def _discover(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    regions = p.get("region")
    found = await discover(
        session.page,
        regions=[regions] if isinstance(regions, str) else regions,
        types=p.get("types"),
        include_hidden=p.get("include_hidden", True),
        max_components=p.get("max_components", 2000),
    )
    components = found["components"]
    name = p.get("artifact", "perspective-inventory.json")
    inventory = {"url": session.page.url, "total": found["total"], "components": components}
    await ctx.add_artifact(
        name,
        json.dumps(ctx.redact(inventory), indent=2).encode(),
        kind="inventory",
        content_type="application/json",
    )
    return {
        "count": len(components),
        "total": found["total"],
        "by_type": dict(Counter(c["type"] for c in components)),
        "components": components,
        "artifact": name,
    }


async def _screenshot(
    ctx: StepContext, session: BrowserSession, p: dict[str, Any]
) -> dict[str, Any]:
    element = None
    component = None
    if p.get("locator"):
        component = await resolve(ctx, session.page, p["locator"], session.timeout_s(p))
        element = component.locator
    event = await session.screenshot(
        ctx, p.get("name", "perspective"), full_page=p.get("full_page", False), element=element
    )
    return {
        "artifact": event.name,
        "size": event.size,
        "path": component.path if component else None,
    }


STEP_TYPES: list[StepType] = [
    step_type(
        "discover",
        "List the page's components (type, path, domId, text, visible, enabled, bbox, region)",
        _discover,
        params(
            [],
            region={"anyOf": [REGION, {"type": "array", "items": REGION, "maxItems": 20}]},
            types={"type": "array", "items": {"type": "string"}, "maxItems": 100},
            include_hidden={"type": "boolean", "default": True},
            max_components={"type": "integer", "minimum": 1, "maximum": 20000, "default": 2000},
            artifact={
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "default": "perspective-inventory.json",
            },
            timeout=TIMEOUT,
        ),
        output(
            count={"type": "integer"},
            total={"type": "integer"},
            by_type={"type": "object", "additionalProperties": {"type": "integer"}},
            components={"type": "array", "items": COMPONENT_SCHEMA},
            artifact={"type": "string"},
        ),
        description="The inventory is also saved as a JSON artifact (kind inventory).",
    ),
    step_type(
        "screenshot",
        "Take a masked screenshot of the page or one component, kept as an artifact",
        _screenshot,
        params(
            [],
            name={"type": "string", "minLength": 1, "maxLength": 200, "default": "perspective"},
            locator=LOCATOR,
            full_page={"type": "boolean", "default": False},
            timeout=TIMEOUT,
        ),
        output(
            artifact={"type": "string"}, size={"type": "integer"}, path={"type": ["string", "null"]}
        ),
    ),
]
