"""``browser.screenshot``: a masked PNG of the page, the full page or one element, kept as an artifact."""

from __future__ import annotations

from typing import Any

from ignition_toolbox.core import StepContext, StepType

from ..session import BrowserSession
from .schema import SELECTOR, output, params, step_type


async def _screenshot(
    ctx: StepContext, session: BrowserSession, p: dict[str, Any]
) -> dict[str, Any]:
    name = p.get("name") or f"{ctx.step_id}.png"
    event = await session.screenshot(
        ctx, name, full_page=p.get("full_page", False), element=p.get("selector")
    )
    return {
        "artifact_id": event.artifact_id,
        "name": event.name,
        "path": event.path.name,
        "size": event.size,
        "content_type": event.content_type,
    }


STEP_TYPES: list[StepType] = [
    step_type(
        "screenshot",
        "Keep a screenshot (page, full page or element) as an artifact, secrets masked",
        _screenshot,
        params(
            [],
            name={"type": "string", "minLength": 1, "maxLength": 200},
            full_page={"type": "boolean", "default": False},
            selector=SELECTOR,
        ),
        output(
            artifact_id={"type": "string"},
            name={"type": "string"},
            path={"type": "string"},
            size={"type": "integer"},
            content_type={"type": "string"},
        ),
        description="Password inputs, [data-secret] and the mask_selectors option are painted "
        "over in the mask colour.",
    ),
]
