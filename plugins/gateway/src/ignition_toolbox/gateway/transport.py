"""The gateway client's HTTP engine: httpx's API on aiohttp's connection pool and C parser.

``GatewayClient`` is an ``httpx.AsyncClient``; what it sends and reads is decided there (URLs,
headers, auth, cookies, timeouts). This transport only moves the bytes. httpx's own engine
(httpcore on anyio) costs about 0.7 ms of CPU per gateway call on the 2-core CI machine; aiohttp's
costs about 0.3 ms. One server runs every execution's gateway calls on one event loop, so for a
fleet upgrade (bench/fleet.py: 50 gateways, ~24 calls each) that CPU is the wall time.

What this adapter keeps exactly as httpx would have it:
- the request: URL bytes as httpx encoded them, httpx's headers and nothing aiohttp would add;
- cookies: httpx's jar only (aiohttp's jar is a dummy), so the IdP session flow is unchanged;
- timeouts: httpx's per-phase connect/read timeouts;
- errors: aiohttp's exceptions become the httpx exceptions httpcore raises for the same fault
  (refused → ``ConnectError``, dropped → ``RemoteProtocolError``, slow → ``ReadTimeout``...).
"""

from __future__ import annotations

import contextlib
import os
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx
from yarl import URL

# Headers aiohttp adds on its own when the request lacks them; httpx already sent what it wants.
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")
_CHUNK = 64 * 1024


@contextlib.contextmanager
def httpx_errors(request: httpx.Request) -> Iterator[None]:
    """Raise aiohttp's failures as the httpx errors the client already understands."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
    except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
        raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
    except aiohttp.ClientConnectorError as exc:  # refused, unresolvable, TLS verification
        raise httpx.ConnectError(str(exc), request=request) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(
            "server disconnected without sending a complete response", request=request
        ) from exc
    except aiohttp.ClientPayloadError as exc:
        raise httpx.ReadError(str(exc), request=request) from exc
    except aiohttp.ClientResponseError as exc:  # a malformed status line or headers
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise httpx.NetworkError(str(exc), request=request) from exc


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with httpx_errors(self._request):
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk

    async def aclose(self) -> None:
        # Back to the pool when the body was read to the end; aiohttp closes the connection
        # instead when it was not, so a half-read answer never reaches the next request.
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one ``aiohttp.ClientSession``, made on first use (it needs a loop)."""

    def __init__(self, *, verify: bool | ssl.SSLContext = True, max_connections: int = 100) -> None:
        if verify is True:
            verify = httpx.create_ssl_context()
        self._ssl: ssl.SSLContext | bool = verify
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=self._max_connections),
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=_NO_AUTO_HEADERS,
                auto_decompress=False,  # httpx decodes, as it does for its own engine
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        headers = request.headers.multi_items()
        data: Any
        try:
            data = request.content or None
        except httpx.RequestNotRead:  # a streamed upload: aiohttp chunks it itself
            data = request.stream
            headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
        with httpx_errors(request):
            response = await self._open().request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def default_transport(verify: bool | ssl.SSLContext) -> AiohttpTransport | None:
    """This transport, or ``None`` (httpx's own engine) where the environment names a proxy:
    httpx applies ``HTTP(S)_PROXY``/``NO_PROXY`` itself, and those setups keep exactly that."""
    if any(os.environ.get(name) or os.environ.get(name.lower()) for name in _PROXY_VARIABLES):
        return None
    return AiohttpTransport(verify=verify)


__all__ = ["AiohttpTransport", "default_transport", "httpx_errors"]
