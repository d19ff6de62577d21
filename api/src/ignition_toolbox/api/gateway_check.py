"""``POST /api/credentials/<name>/test``: does the credential's gateway answer ``/StatusPing``?

A plain httpx call, not the gateway plugin: the api never imports a plugin by name. TLS is verified
(SR-18) and a certificate failure is reported as such, never retried without verification; no
redirects are followed, so the check cannot be bounced to another host; every call has a timeout
that ends in the guide's ``timeout_error``. Only the origin is contacted and no secret is sent.
"""

from __future__ import annotations

import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from ignition_toolbox.core import ToolboxError, ValidationError

DEFAULT_TIMEOUT = 5.0
MAX_TIMEOUT = 30.0
MAX_BODY = 4096


class GatewayTimeoutError(ToolboxError):
    code = "timeout_error"


def parse_timeout(body: dict[str, Any]) -> float:
    unknown = sorted(set(body) - {"timeout"})
    if unknown:
        raise ValidationError(
            f"Unknown field(s): {', '.join(unknown[:20])}", {"fields": unknown[:20]}
        )
    value = body.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError("timeout must be a number of seconds", {"field": "timeout"})
    if not 0 < value <= MAX_TIMEOUT:
        raise ValidationError(
            f"timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds",
            {"field": "timeout", "max": MAX_TIMEOUT},
        )
    return float(value)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _state(response: httpx.Response) -> str | None:
    if len(response.content) > MAX_BODY:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    state = data.get("state") if isinstance(data, dict) else None
    return state if isinstance(state, str) else None


async def status_ping(gateway_url: str, timeout: float) -> dict[str, Any]:
    origin = _origin(gateway_url)
    began = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, verify=True) as http:
            response = await http.get(f"{origin}/StatusPing")
    except httpx.TimeoutException:
        raise GatewayTimeoutError(
            f"The gateway did not answer within {timeout:g} s",
            {"gateway_url": origin, "timeout": timeout},
        ) from None
    except httpx.HTTPError as exc:
        if _tls_failure(exc):
            raise ValidationError(
                "The gateway's TLS certificate could not be verified",
                {"gateway_url": origin, "reason": "certificate"},
            ) from None
        return {
            "reachable": False,
            "status": None,
            "gateway_url": origin,
            "reason": "connection_failed",
        }
    return {
        "reachable": True,
        "status": _state(response),
        "gateway_url": origin,
        "http_status": response.status_code,
        "latency_ms": round(1000 * (time.perf_counter() - began), 1),
    }


__all__ = ["GatewayTimeoutError", "parse_timeout", "status_ping"]
