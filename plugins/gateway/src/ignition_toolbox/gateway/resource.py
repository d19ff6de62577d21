"""The per-execution ``gateway`` resource: one ``GatewayClient`` per (URL, credential), reused by every
step of the run and closed when it ends.

Execution options may carry ``gateway_transport`` (an httpx transport, or a callable taking the URL
and returning one) so tests run steps against the in-process simulator, and ``gateway_timeout``
(seconds per call).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from ignition_toolbox.core import Credential, ExecutionContext, ResourceType, SecretOriginError

from .client import DEFAULT_TIMEOUT, GatewayClient


class GatewayConnections:
    """The clients one execution opened, keyed by gateway URL and credential name."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = dict(options or {})
        self._clients: dict[tuple[str, str | None], GatewayClient] = {}

    def _transport(self, url: str) -> httpx.AsyncBaseTransport | None:
        override = self.options.get("gateway_transport")
        if override is None or isinstance(override, httpx.AsyncBaseTransport):
            return override
        if callable(override):
            return override(url)
        return None

    def client(self, url: str, credential: Credential | None = None) -> GatewayClient:
        """The client for ``url`` acting as ``credential``.

        The one place a credential's token and password enter an HTTP client, so the origin
        binding (SR-21) is held here: whichever step, parameter or nested playbook chose the URL
        and the credential, the secrets go only to an origin the credential is bound to. For any
        other origin the client gets no secrets; its unauthenticated calls (ping, info) still
        work, and an authenticated one fails naming both origins.
        """
        withheld = None
        if credential is not None and credential.secrets() and not credential.allows(url):
            withheld = SecretOriginError.refusing(credential.binding, url, "sent")
        key = (url.rstrip("/"), credential.name if credential else None)
        existing = self._clients.get(key)
        if existing is not None:
            return existing
        secrets = credential if credential is not None and withheld is None else None
        client = GatewayClient(
            url,
            api_token=secrets.api_token if secrets else None,
            username=credential.username if credential else None,
            password=secrets.password if secrets else None,
            ca_cert=credential.ca_cert if credential else None,
            timeout=float(self.options.get("gateway_timeout", DEFAULT_TIMEOUT)),
            transport=self._transport(url),
            credential_name=credential.name if credential else None,
            withheld=withheld,
        )
        self._clients[key] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


@asynccontextmanager
async def open_gateway_connections(ctx: ExecutionContext) -> AsyncIterator[GatewayConnections]:
    connections = GatewayConnections(ctx.options)
    try:
        yield connections
    finally:
        await connections.aclose()


GATEWAY_RESOURCE = ResourceType(
    name="gateway",
    open=open_gateway_connections,
    summary="HTTP clients for the Ignition gateways an execution talks to",
)

__all__ = ["GATEWAY_RESOURCE", "GatewayConnections", "open_gateway_connections"]
