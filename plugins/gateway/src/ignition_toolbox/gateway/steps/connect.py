"""How a gateway step finds its gateway and identity, and the schema pieces every step shares.

Precedence: a step's ``gateway_url`` parameter; else the ``gateway_url`` of the credential the step
names; else the execution's gateway; else the execution credential's ``gateway_url``. The identity is
the credential the step names (``credential``), else the execution's, else none — enough for the
unauthenticated calls (``/StatusPing``, ``/system/gwinfo``, trial state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ignition_toolbox.core import Credential, StepContext, StepFailedError

from ..client import GatewayClient
from ..resource import GatewayConnections

CONNECTION_PROPERTIES: dict[str, Any] = {
    "gateway_url": {
        "type": "string",
        "description": "Gateway base URL (http or https); defaults to the execution's gateway",
    },
    "credential": {
        "type": "string",
        "minLength": 1,
        "description": "Name of a stored credential to use instead of the execution's",
    },
}

TIMEOUT = {"type": "number", "exclusiveMinimum": 0}
INTERVAL = {
    "type": "number",
    "exclusiveMinimum": 0,
    "default": 2,
    "description": "Longest pause between polls, in seconds; polls start 0.25 s apart and "
    "stretch to a tenth of the time waited so far",
}


def parameters(
    properties: dict[str, Any] | None = None,
    required: tuple[str, ...] = (),
    *,
    connection: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """A closed object schema (additionalProperties false) for step parameters."""
    props = {**(properties or {}), **(CONNECTION_PROPERTIES if connection else {})}
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": props,
        "additionalProperties": False,
        **extra,
    }
    if required:
        schema["required"] = list(required)
    return schema


def output(properties: dict[str, Any], required: tuple[str, ...] | None = None) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
    }


async def credential_for(ctx: StepContext, params: dict[str, Any]) -> Credential | None:
    if params.get("credential"):
        return await ctx.credential(str(params["credential"]))
    if ctx.credential_name:
        return await ctx.credential()
    return None


async def connect(ctx: StepContext, params: dict[str, Any]) -> GatewayClient:
    """The client for this step's gateway and credential, from the execution's ``gateway`` resource."""
    credential = await credential_for(ctx, params)
    url = (
        params.get("gateway_url")
        or (credential.gateway_url if params.get("credential") and credential else None)
        or ctx.gateway_url
        or (credential.gateway_url if credential else None)
    )
    if not url:
        raise StepFailedError(
            "No gateway URL: give the execution a gateway_url, the step a gateway_url parameter, "
            "or the credential a gateway_url",
            code="validation_error",
        )
    connections: GatewayConnections = await ctx.resource("gateway")
    return connections.client(str(url), credential)


def local_file(ctx: StepContext, path: str, what: str) -> Path:
    """A local input file (module, backup, project zip) that must exist where the caller allows."""
    return ctx.resolve_file(path, what)


__all__ = [
    "CONNECTION_PROPERTIES",
    "INTERVAL",
    "TIMEOUT",
    "connect",
    "credential_for",
    "local_file",
    "output",
    "parameters",
]
