"""The one mapping from error code to HTTP status, and the envelope every 4xx/5xx body uses."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from quart import Quart, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ignition_toolbox.core import (
    InvalidPathError,
    RateLimitedError,
    ToolboxError,
    UnauthorizedError,
)

log = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    "validation_error": 400,
    "invalid_path": 400,
    "unauthorized": 401,
    "permission_denied": 403,
    "playbook_not_found": 404,
    "execution_not_found": 404,
    "credential_not_found": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "rate_limited": 429,
    "internal_error": 500,
    "timeout_error": 504,
}


class NotFoundError(ToolboxError):
    """A URL that matches no route (and any resource without a dedicated code)."""

    code = "not_found"


class MethodNotAllowedError(ToolboxError):
    code = "method_not_allowed"


class _MethodNotAllowed(MethodNotAllowedError):
    """A 405 that remembers the methods the URL takes, for its ``Allow`` header."""

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message, {"allowed_methods": allowed})
        self.allowed = allowed


# An /api path whose decoded form has an empty segment (``//``, from ``%2F`` too), a backslash, or
# a slash still encoded after one decoding (``%252F``). The router would merge or redirect these.
_UNSAFE_API_PATH = re.compile(r"//|\\|%(?:2f|5c)", re.IGNORECASE)


def check_api_path() -> None:
    """Refuse an /api path that names an absolute or ambiguous location: 400 ``invalid_path``.

    The request guard calls this before the route runs, so no /api URL is ever merged or
    redirected (werkzeug's 308 for ``//``). It reads the ASGI path as decoded, before werkzeug
    drops its leading slashes (``//api/...``).
    """
    path = str(request.scope.get("path") or request.path)
    relative = path.lstrip("/")
    if relative != "api" and not relative.startswith("api/"):
        return
    if _UNSAFE_API_PATH.search(path):
        raise InvalidPathError(
            "Invalid or unsafe path: an /api URL must not hold an empty segment (// or an encoded "
            "slash that makes one), a backslash, or a twice-encoded slash",
            {"path": path[:200]},
        )


def status_for(code: str) -> int:
    return STATUS_BY_CODE.get(code, 500)


def request_id() -> str:
    try:
        rid = g.get("request_id")
        if rid is None:
            rid = g.request_id = uuid.uuid4().hex[:16]
        return str(rid)
    except RuntimeError:
        return uuid.uuid4().hex[:16]


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "detail": {
            "error": code,
            "message": message,
            "details": details or {},
            "request_id": request_id(),
        }
    }


def error_response(error: ToolboxError) -> Response:
    response = jsonify(envelope(error.code, error.message, error.details))
    response.status_code = status_for(error.code)
    if isinstance(error, RateLimitedError):
        response.headers["Retry-After"] = str(max(1, int(error.retry_after)))
    if isinstance(error, UnauthorizedError):
        response.headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    if isinstance(error, _MethodNotAllowed) and error.allowed:
        response.headers["Allow"] = ", ".join(error.allowed)
    return response


def _from_http(exc: HTTPException) -> ToolboxError:
    from ignition_toolbox.core import ValidationError

    if isinstance(exc, RequestEntityTooLarge):
        from quart import current_app, request

        from .request_class import UPLOAD_PATHS
        from .state import current

        if request.path in UPLOAD_PATHS:
            limit = current().settings.max_upload_bytes
        else:
            limit = int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
        return ValidationError(f"Request body is larger than {limit} bytes", {"limit_bytes": limit})
    status = exc.code or 500
    if status == 404:
        return NotFoundError("The requested URL was not found")
    if status == 405:
        allowed = sorted(getattr(exc, "valid_methods", None) or ())
        return _MethodNotAllowed("The method is not allowed for this URL", allowed)
    if status < 500:
        return ValidationError(exc.name or "Bad request")
    return ToolboxError("Internal server error")


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(ToolboxError)
    async def _toolbox(exc: ToolboxError) -> Response:
        return error_response(exc)

    @app.errorhandler(HTTPException)
    async def _http(exc: HTTPException) -> Response:
        return error_response(_from_http(exc))

    @app.errorhandler(Exception)
    async def _unexpected(exc: Exception) -> Response:
        rid = request_id()
        log.error("unhandled error (request_id=%s)", rid, exc_info=exc)
        return error_response(ToolboxError("Internal server error", {}))


__all__ = [
    "STATUS_BY_CODE",
    "MethodNotAllowedError",
    "NotFoundError",
    "check_api_path",
    "envelope",
    "error_response",
    "register_error_handlers",
    "status_for",
]
