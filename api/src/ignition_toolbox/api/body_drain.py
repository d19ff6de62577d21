"""A response sent before its request body was read must not cost the connection's next request.

Hypercorn reuses a keep-alive connection only once the request has been received to its end. When
the app answers first (a 401 or 403 from the guard, a 404, a handler that ignores the body), it
closes the connection after the response without saying so, with no ``Connection: close``: a client
that reuses the connection, or has already sent its next request on it, loses that request
(measured: every POST with a body answered 401 cost the request after it).

So after every response, whatever of the body is still to come is read and dropped, up to the body
limit and for at most ``DRAIN_SECONDS``; a larger or slower body gets ``Connection: close`` instead,
so the client opens a new connection rather than losing a request. Reading is bounded either way: an
unauthenticated client cannot make the server read more than the limit it already applies.
"""

from __future__ import annotations

import asyncio

from quart import Response, request
from werkzeug.exceptions import HTTPException

DRAIN_SECONDS = 2.0


def _declares_body() -> bool:
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


async def settle_body(response: Response, limit: int) -> None:
    """Read the rest of the request body (at most ``limit`` more bytes), or mark the response
    ``Connection: close``."""
    if not _declares_body():
        return
    received = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            # Yields only what no handler took yet: nothing for a body already streamed, the
            # retained bytes (within the limit) of one already awaited.
            async for chunk in request.body:
                received += len(chunk)
                if received > limit:
                    break
    except (TimeoutError, HTTPException):
        # Too slow, or the body is over the limit (Quart raises RequestEntityTooLarge).
        received = limit + 1
    if received > limit:
        response.headers["Connection"] = "close"


__all__ = ["DRAIN_SECONDS", "settle_body"]
