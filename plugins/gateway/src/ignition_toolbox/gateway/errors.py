"""Errors from talking to a gateway, phrased for the integrator reading a failed step.

They are ``StepFailedError``s, so a step handler can let them through unchanged: the executor records
the message, the API code and the details (method, path, HTTP status — never a secret).
"""

from __future__ import annotations

from typing import Any

from ignition_toolbox.core import StepFailedError


class GatewayError(StepFailedError):
    """The gateway answered with an error, or could not be used as asked."""

    reason = "http_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        gateway_message: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        merged: dict[str, Any] = {"reason": self.reason}
        if status is not None:
            merged["status"] = status
        if method:
            merged["method"] = method
        if path:
            merged["path"] = path
        if gateway_message:
            merged["gateway_message"] = gateway_message
        merged.update(details or {})
        super().__init__(message, merged, code=code)
        self.status = status
        self.gateway_message = gateway_message or ""


class GatewayUnreachableError(GatewayError):
    """No HTTP answer at all: refused, reset, DNS, TLS."""

    reason = "unreachable"


class GatewayRestartingError(GatewayError):
    """503 from ``/data``: the webserver is up but the gateway is still starting (C1)."""

    reason = "restarting"


class GatewayAuthError(GatewayError):
    """401 or 403: the token or session was refused or lacks a security level."""

    reason = "unauthorized"


class GatewayNotFoundError(GatewayError):
    reason = "not_found"


class GatewayConflictError(GatewayError):
    """409: already accepted, already exists, nothing staged."""

    reason = "conflict"


__all__ = [
    "GatewayAuthError",
    "GatewayConflictError",
    "GatewayError",
    "GatewayNotFoundError",
    "GatewayRestartingError",
    "GatewayUnreachableError",
]
