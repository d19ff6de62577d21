"""The typed events an execution emits, and the sink type that receives them.

A sink is any ``async`` callable taking one event. The executor awaits the sink for state and step
events (so a server can persist before it broadcasts) and for frames too, so a sink that is slow with
frames must drop them itself rather than block.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ExecutionStateEvent:
    execution_id: str
    status: str
    current_step_index: int
    total_steps: int
    playbook_name: str
    error: dict[str, Any] | None = None
    timestamp: datetime = field(default_factory=utcnow)
    type: str = "execution_state"


@dataclass(frozen=True, slots=True)
class StepResultEvent:
    execution_id: str
    step_index: int
    step_id: str
    step_name: str
    step_type: str
    status: str
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    attempts: int = 0
    timestamp: datetime = field(default_factory=utcnow)
    type: str = "step_result"


@dataclass(frozen=True, slots=True)
class LogEvent:
    execution_id: str
    level: str
    message: str
    step_id: str | None = None
    timestamp: datetime = field(default_factory=utcnow)
    type: str = "log"


@dataclass(frozen=True, slots=True)
class ScreenshotFrameEvent:
    """One live-view frame. ``data`` is the encoded image; ``timestamp`` is capture time in ms."""

    execution_id: str
    data: bytes
    mime_type: str = "image/jpeg"
    timestamp: int = field(default_factory=lambda: int(time.time() * 1000))
    type: str = "screenshot_frame"

    def data_url(self) -> str:
        import base64

        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True, slots=True)
class ArtifactEvent:
    """A file an execution kept (screenshot, trace, backup, report) inside its artifacts directory."""

    execution_id: str
    artifact_id: str
    name: str
    kind: str
    content_type: str
    path: Path
    size: int
    step_id: str | None = None
    timestamp: datetime = field(default_factory=utcnow)
    type: str = "artifact"


Event = ExecutionStateEvent | StepResultEvent | LogEvent | ScreenshotFrameEvent | ArtifactEvent
EventSink = Callable[[Event], Awaitable[None]]


async def discard(event: Event) -> None:
    """A sink that keeps nothing, for callers that only want the final result."""
