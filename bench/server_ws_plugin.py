"""A bench-only plugin for bench/server_ws.py: one step type that emits live-view frames of a fixed
size at a fixed rate, like the browser plugin's live view (emit, then sleep one interval), and
reports how long the emitting took so a slowed-down execution shows up in its own output."""

from __future__ import annotations

import os
import time
from typing import Any

from ignition_toolbox.core import StepType, hookimpl


async def _frames(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    count = int(params.get("count", 100))
    interval = 1.0 / float(params.get("fps", 10))
    # Random bytes: a real JPEG does not compress either, so nothing downstream gets it cheaper.
    payload = os.urandom(int(params.get("size", 50_000)))
    began = time.perf_counter()
    for _ in range(count):
        await ctx.emit_frame(payload, "image/jpeg")
        await ctx.sleep(interval)
    return {"frames": count, "elapsed_s": time.perf_counter() - began}


@hookimpl
def itk_step_types() -> list[StepType]:
    return [
        StepType(
            name="bench.frames",
            summary="Emit live-view frames of a fixed size at a fixed rate",
            handler=_frames,
            parameters={
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "count": {"type": "integer"},
                    "fps": {"type": "number"},
                    "size": {"type": "integer"},
                },
            },
        )
    ]
