"""Failed authentications, audited once per source, reason and time window, with a count.

A row per failure let an unauthenticated flood write the database as fast as it could send (600
requests, 600 rows), and the per-IP limiter does not help: a refused request is still a failed
authentication worth knowing about. Here the first failure of a window writes its row at once (an
admin sees an attack as it starts); later ones only count, and the counts reach the row's
``details.count`` in one batched update at most every ``flush_delay`` seconds, and when the server
stops. The table of sources is bounded; past it, failures are counted in one row per reason with no
address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .models import AuditRecord

log = logging.getLogger(__name__)

ACTION = "auth.failed"
WINDOW_SECONDS = 60.0
FLUSH_DELAY = 1.0
MAX_SOURCES = 10_000
OVERFLOW = "(other sources)"


@dataclass
class _Entry:
    ip: str | None
    reason: str
    window_start: float
    count: int = 0
    written: int = 0
    row_id: int | None = None
    overflow: bool = False
    lost: bool = False  # a write of its row failed: it is not written again

    @property
    def dirty(self) -> bool:
        return not self.lost and self.count > self.written

    def details(self, window: float) -> dict[str, Any]:
        start = datetime.fromtimestamp(self.window_start, UTC)
        details: dict[str, Any] = {
            "reason": self.reason,
            "count": self.count,
            "window_start": start.isoformat().replace("+00:00", "Z"),
            "window_seconds": int(window),
        }
        if self.overflow:
            details["sources"] = OVERFLOW
        return details


class FailureAudit:
    def __init__(
        self,
        *,
        window: float = WINDOW_SECONDS,
        flush_delay: float = FLUSH_DELAY,
        max_sources: int = MAX_SOURCES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.window = window
        self.flush_delay = flush_delay
        self.max_sources = max_sources
        self._clock = clock
        self._window_start = 0.0
        self._entries: dict[tuple[str | None, str, bool], _Entry] = {}
        self._previous: list[_Entry] = []  # ended windows with counts still to write
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, ip: str | None, reason: str) -> None:
        """Count one failure; best effort, like every audit write."""
        now = self._clock()
        start = now - now % self.window
        if start != self._window_start:
            self._previous.extend(e for e in self._entries.values() if e.dirty)
            self._entries = {}
            self._window_start = start
        key = (ip, reason, False)
        if key not in self._entries and len(self._entries) >= self.max_sources:
            key = (None, reason, True)
        entry = self._entries.get(key)
        if entry is not None:
            entry.count += 1
            self._schedule()
            return
        # Entered before the insert is awaited, so concurrent failures count into this row.
        entry = self._entries[key] = _Entry(key[0], reason, start, count=1, overflow=key[2])
        try:
            row = await AuditRecord.create(
                action=ACTION,
                actor=None,
                outcome="failure",
                ip=entry.ip,
                details=entry.details(self.window),
            )
        except Exception:
            entry.lost = True
            log.exception("could not write audit row for %s", ACTION)
            return
        entry.row_id = row.id
        entry.written = row.details["count"]
        if entry.count > entry.written:
            self._schedule()

    def _schedule(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later(), name="itk-audit-failures")

    async def _flush_later(self) -> None:
        # Failures counted while a flush was writing are written by the next round.
        while True:
            await asyncio.sleep(self.flush_delay)
            await self.flush()
            if not any(e.dirty for e in (*self._previous, *self._entries.values())):
                return

    async def flush(self) -> None:
        """Write every count not yet in its row."""
        pending = [
            e
            for e in (*self._previous, *self._entries.values())
            if e.row_id is not None and e.dirty
        ]
        for entry in pending:
            count = entry.count
            try:
                await AuditRecord.filter(id=entry.row_id).update(details=entry.details(self.window))
            except Exception:
                # Best effort, as every audit write: no retry loop against a failing database.
                entry.lost = True
                log.exception("could not update audit row %s", entry.row_id)
                continue
            entry.written = count
        # Ended windows are kept only while a count (or the insert it waits for) is outstanding.
        self._previous = [e for e in self._previous if e.dirty]

    async def close(self) -> None:
        """At shutdown, before the database closes: the last counts are written, not lost."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        self._flusher = None
        await self.flush()


__all__ = ["ACTION", "FailureAudit"]
