"""``/ws/executions``: execution updates and screenshot frames, authenticated before accept.

A sender task drains the client's hub queue with a send timeout; the receive loop answers pings and
subscription changes. Closes: 1001 server going away, 1008 policy (slow, revoked, abusive),
1009 message too big, 1011 server error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from quart import Blueprint, websocket

from .auth import Principal
from .broadcast import Client
from .models import ExecutionRecord
from .path_ids import is_execution_id
from .permissions import Permission, allows
from .state import current

log = logging.getLogger(__name__)

blueprint = Blueprint("websocket", __name__)

MAX_MESSAGE_BYTES = 64 * 1024
MAX_MESSAGES_PER_SECOND = 20
MAX_CONSECUTIVE_ERRORS = 10
MAX_SUBSCRIPTIONS = 100
REVALIDATE_SECONDS = 10.0


def _error(code: str, message: str) -> str:
    return json.dumps({"type": "error", "error": {"code": code, "message": message}})


async def _sender(client: Client, principal: Principal) -> int:
    """Returns the close code that ended it."""
    state = current()
    timeout = state.settings.ws_send_timeout
    last_check = time.monotonic()
    while True:
        batch = await client.next_batch(timeout=REVALIDATE_SECONDS)
        for text in batch:
            # asyncio.timeout, not wait_for: wait_for wraps every send in a new task, a cost paid
            # per message per viewer.
            async with asyncio.timeout(timeout):
                await websocket.send(text)
        if client.overflowed:
            return 1008
        if client.close_code is not None:
            return client.close_code
        if time.monotonic() - last_check >= REVALIDATE_SECONDS:
            last_check = time.monotonic()
            if not await state.auth.still_valid(principal):
                return 1008


async def _known(ids: list[str]) -> set[str]:
    # An id no row can have is unknown without a query: the database layer refuses some of them.
    wanted = [i for i in ids if is_execution_id(i)]
    if not wanted:
        return set()
    found = await ExecutionRecord.filter(id__in=wanted).values_list("id", flat=True)
    return {str(i) for i in found}


async def _handle(client: Client, raw: str | bytes) -> str | None:
    """One client message; returns an error frame, or None when it was fine."""
    if isinstance(raw, bytes):
        return _error("validation_error", "Binary messages are not supported")
    try:
        message: Any = json.loads(raw)
    except ValueError:
        return _error("validation_error", "Messages must be JSON")
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "ping":
        await websocket.send(json.dumps({"type": "pong", "timestamp": message.get("timestamp")}))
        return None
    if kind in ("subscribe", "unsubscribe"):
        ids = message.get("execution_ids", message.get("execution_id"))
        if isinstance(ids, str):
            ids = [ids]
        if ids is None and kind == "subscribe":
            client.subscribe(None)
            return None
        if (
            not isinstance(ids, list)
            or not all(isinstance(i, str) for i in ids)
            or len(ids) > MAX_SUBSCRIPTIONS
        ):
            return _error("validation_error", "execution_ids must be a list of ids")
        if kind == "unsubscribe":
            if client.subscriptions is not None:
                client.subscribe(client.subscriptions - set(ids))
            return None
        known = await _known(ids)
        if len(known) != len(set(ids)):
            return _error("execution_not_found", "Unknown execution id")
        client.subscribe((client.subscriptions or set()) | known)
        return None
    return _error("validation_error", "Unknown message type")


@blueprint.websocket("/ws/executions")
async def executions_ws() -> None:
    from quart import g

    state = current()
    principal: Principal = g.principal
    requested = websocket.args.getlist("execution_id")
    subscriptions: set[str] | None = None
    if requested:
        subscriptions = await _known(requested[:MAX_SUBSCRIPTIONS])
    client = Client(
        frames=allows(principal.role, Permission.SCREENSHOTS_READ),
        execution_ids=subscriptions,
        queue_size=state.settings.ws_queue_size,
        key_id=principal.key_id,
    )
    await websocket.accept()
    state.hub.add(client)
    sender = asyncio.create_task(_sender(client, principal))
    code = 1000
    errors = 0
    window_start, window_count = time.monotonic(), 0
    try:
        while True:
            receive = asyncio.create_task(websocket.receive())
            done, _ = await asyncio.wait({receive, sender}, return_when=asyncio.FIRST_COMPLETED)
            if sender in done:
                receive.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await receive
                try:
                    code = sender.result()
                except TimeoutError:
                    code = 1008
                break
            raw = receive.result()
            now = time.monotonic()
            if now - window_start >= 1.0:
                window_start, window_count = now, 0
            window_count += 1
            if len(raw) > MAX_MESSAGE_BYTES:
                code = 1009
                break
            if window_count > MAX_MESSAGES_PER_SECOND:
                code = 1008
                break
            problem = await _handle(client, raw)
            if problem is None:
                errors = 0
                continue
            errors += 1
            await websocket.send(problem)
            if errors >= MAX_CONSECUTIVE_ERRORS:
                code = 1008
                break
    except asyncio.CancelledError:
        code = 1001
        raise
    finally:
        state.hub.remove(client)
        sender.cancel()
        with contextlib.suppress(BaseException):
            await sender
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(websocket.close(code), 1.0)
