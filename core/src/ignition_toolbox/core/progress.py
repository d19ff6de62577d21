"""The CLI's event sink: one line per step, and a progress bar when the output is a terminal."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from .events import Event, ExecutionStateEvent, LogEvent, StepResultEvent

if TYPE_CHECKING:
    from .playbook import Playbook

_MARKS = {"completed": "✔", "failed": "✘", "skipped": "↷", "cancelled": "■"}
_BAR_WIDTH = 24


class ProgressPrinter:
    def __init__(
        self, playbook: Playbook, stream: TextIO | None = None, quiet: bool = False
    ) -> None:
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.total = len(playbook.steps)
        self.done = 0
        self.tty = self.stream.isatty()
        self._bar_shown = False
        self._started = False

    def _write(self, line: str) -> None:
        if self.quiet:
            return
        if self._bar_shown:
            self.stream.write("\r\x1b[2K")
            self._bar_shown = False
        self.stream.write(line + "\n")
        self.stream.flush()

    def _bar(self, label: str) -> None:
        if self.quiet or not self.tty:
            return
        filled = int(_BAR_WIDTH * self.done / max(self.total, 1))
        bar = "█" * filled + "░" * (_BAR_WIDTH - filled)
        self.stream.write(f"\r\x1b[2K[{bar}] {self.done}/{self.total} {label}"[:120])
        self.stream.flush()
        self._bar_shown = True

    async def __call__(self, event: Event) -> None:
        if isinstance(event, StepResultEvent):
            if event.status == "running":
                self._bar(f"{event.step_name}…")
                return
            if event.step_index < self.total:
                self.done += 1
            seconds = ""
            if event.started_at and event.completed_at:
                seconds = f" ({(event.completed_at - event.started_at).total_seconds():.2f}s)"
            mark = _MARKS.get(event.status, "·")
            line = f"{mark} {event.step_id:<24} {event.status}{seconds}"
            if event.error:
                line += f" — {event.error.get('message', '')}"
            self._write(line)
            self._bar("")
        elif isinstance(event, LogEvent) and event.level in ("warning", "error"):
            self._write(f"  {event.level}: {event.message}")
        elif isinstance(event, ExecutionStateEvent):
            if event.status in ("completed", "failed", "cancelled"):
                self._write(f"{event.playbook_name}: {event.status}")
            elif event.status == "running" and not self._started:
                self._started = True
                self._write(f"{event.playbook_name}: running {self.total} steps")
