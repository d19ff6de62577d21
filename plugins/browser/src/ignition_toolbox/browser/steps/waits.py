"""``browser.wait``: wait for an element to reach a state."""

from __future__ import annotations

import time
from typing import Any

from ignition_toolbox.core import StepContext, StepType

from ..session import BrowserSession
from .schema import SELECTOR, TIMEOUT, output, params, step_type


async def _wait(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    state = p.get("state", "visible")
    started = time.perf_counter()
    await session.page.locator(p["selector"]).first.wait_for(
        state=state, timeout=session.timeout_ms(p)
    )
    return {
        "selector": p["selector"],
        "state": state,
        "waited": round(time.perf_counter() - started, 3),
    }


STEP_TYPES: list[StepType] = [
    step_type(
        "wait",
        "Wait until an element is attached, detached, visible or hidden",
        _wait,
        params(
            ["selector"],
            selector=SELECTOR,
            state={"enum": ["attached", "detached", "visible", "hidden"], "default": "visible"},
            timeout=TIMEOUT,
        ),
        output(
            selector={"type": "string"},
            state={"type": "string"},
            waited={"type": "number", "description": "Seconds"},
        ),
        description="Runs out with timeout_error. When several elements match, the first counts.",
    ),
]
