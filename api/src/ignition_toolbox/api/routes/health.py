"""``GET /api/health``: minimal and public, so it must not reveal anything but liveness."""

from __future__ import annotations

import time
from importlib import metadata
from typing import Any

from quart import Blueprint

from ..state import current

blueprint = Blueprint("health", __name__)


def _version() -> str:
    try:
        return metadata.version("ignition-toolbox-api")
    except metadata.PackageNotFoundError:
        return "0.0.0"


VERSION = _version()


@blueprint.get("/api/health")
async def health() -> dict[str, Any]:
    state = current()
    return {
        "status": "degraded" if state.degraded else "healthy",
        "version": VERSION,
        "uptime_seconds": int(time.monotonic() - state.started),
    }
