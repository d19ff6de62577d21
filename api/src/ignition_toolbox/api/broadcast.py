"""The broadcast hub: every WebSocket client gets its own bounded queue.

State updates are queued in order; a client that lets its queue fill up is too slow to follow the
run and is disconnected. Screenshot frames are latest-wins per execution, so a slow viewer loses
frames instead of slowing the execution or the other viewers. Messages are encoded once and the
same string is handed to every client.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any


class Client:
    def __init__(
        self,
        *,
        frames: bool,
        execution_ids: set[str] | None = None,
        queue_size: int = 256,
        key_id: str | None = None,
    ) -> None:
        self.frames_allowed = frames
        self.subscriptions = execution_ids
        self.queue_size = queue_size
        self.key_id = key_id
        self.overflowed = False
        self.close_code: int | None = None
        self.frames_dropped = 0
        self._updates: deque[str] = deque()
        self._frames: dict[str, str] = {}
        self._wake = asyncio.Event()

    def wants(self, execution_id: str) -> bool:
        return self.subscriptions is None or execution_id in self.subscriptions

    def subscribe(self, execution_ids: set[str] | None) -> None:
        self.subscriptions = execution_ids

    def offer(self, text: str) -> None:
        if len(self._updates) >= self.queue_size:
            self.overflowed = True
        else:
            self._updates.append(text)
        self._wake.set()

    def offer_frame(self, execution_id: str, text: str) -> None:
        if execution_id in self._frames:
            self.frames_dropped += 1
        self._frames[execution_id] = text
        self._wake.set()

    def request_close(self, code: int) -> None:
        self.close_code = code
        self._wake.set()

    async def next_batch(self, timeout: float | None = None) -> list[str]:
        """Queued updates first (in order), then the newest frame of each execution."""
        if not self._updates and not self._frames:
            try:
                async with asyncio.timeout(timeout):  # no task per wait, unlike wait_for
                    await self._wake.wait()
            except TimeoutError:
                return []
        self._wake.clear()
        batch = list(self._updates)
        self._updates.clear()
        batch.extend(self._frames.values())
        self._frames.clear()
        return batch


class Hub:
    def __init__(self) -> None:
        self.clients: set[Client] = set()
        self.closing = False

    def add(self, client: Client) -> None:
        self.clients.add(client)

    def remove(self, client: Client) -> None:
        self.clients.discard(client)

    def count_for_key(self, key_id: str | None) -> int:
        return sum(1 for c in self.clients if c.key_id == key_id)

    def publish(self, execution_id: str, message: dict[str, Any]) -> None:
        text: str | None = None
        for client in list(self.clients):
            if client.wants(execution_id):
                if text is None:
                    text = json.dumps(message, default=str)
                client.offer(text)

    def wants_frames(self, execution_id: str) -> bool:
        return any(c.frames_allowed and c.wants(execution_id) for c in self.clients)

    def publish_frame(self, execution_id: str, message: dict[str, Any]) -> None:
        text: str | None = None
        for client in list(self.clients):
            if client.frames_allowed and client.wants(execution_id):
                if text is None:
                    text = json.dumps(message)
                client.offer_frame(execution_id, text)

    def close_all(self, code: int = 1001) -> None:
        self.closing = True
        for client in list(self.clients):
            client.request_close(code)

    def revoke_key(self, key_id: str) -> None:
        for client in list(self.clients):
            if client.key_id == key_id:
                client.request_close(1008)


__all__ = ["Client", "Hub"]
