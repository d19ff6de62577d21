"""``gateway.request``: an authenticated call to any path of the configured gateway.

Only a path is accepted, never a full URL, so a playbook cannot point the credential at another host.
"""

from __future__ import annotations

import base64
from typing import Any

from ignition_toolbox.core import StepContext, StepFailedError, StepType

from .connect import TIMEOUT, connect, output, parameters

MAX_TEXT = 1_000_000


async def request(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    expect = params.get("expect_status")
    response = await client.request(
        params.get("method", "GET"),
        params["path"],
        auth=params.get("auth", "token"),
        params=params.get("query"),
        json_body=params.get("json"),
        content=params["body"].encode() if "body" in params else None,
        headers=params.get("headers"),
        timeout=params.get("timeout"),
        check=expect is None,
    )
    if expect is not None:
        allowed = expect if isinstance(expect, list) else [expect]
        if response.status_code not in allowed:
            raise StepFailedError(
                f"{params.get('method', 'GET')} {params['path']} answered {response.status_code}, "
                f"expected {', '.join(map(str, allowed))}",
                {"status": response.status_code},
            )
    ctype = response.headers.get("content-type", "")
    body: Any = None
    if "json" in ctype:
        try:
            body = response.json()
        except ValueError:
            body = None
    text = ""
    if ctype.startswith("text/") or "json" in ctype or "xml" in ctype:
        text = response.text[:MAX_TEXT]
    else:
        text = base64.b64encode(response.content[:MAX_TEXT]).decode()
    return {"status": response.status_code, "content_type": ctype, "json": body, "text": text}


STEP_TYPES = [
    StepType(
        name="gateway.request",
        summary="Call any path on the gateway (e.g. a WebDev route) with the step's credential",
        handler=request,
        parameters=parameters(
            {
                "method": {
                    "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
                    "default": "GET",
                },
                "path": {"type": "string", "pattern": "^/(?!/)"},
                "query": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                },
                "json": {},
                "body": {"type": "string"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "auth": {"enum": ["token", "session", "none"], "default": "token"},
                "expect_status": {
                    "oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]
                },
                "timeout": TIMEOUT,
            },
            ("path",),
        ),
        output=output(
            {
                "status": {"type": "integer"},
                "content_type": {"type": "string"},
                "json": {},
                "text": {"type": "string"},
            }
        ),
        resources=("gateway",),
    ),
]
