"""Reading the current request: who is calling, from where, and its JSON body as an object."""

from __future__ import annotations

from typing import Any

from quart import g, request

from ignition_toolbox.core import ValidationError

from .auth import LOCAL_PRINCIPAL, Principal

MAX_JSON_DEPTH = 64


def principal() -> Principal:
    found: Principal | None = g.get("principal")
    return found or LOCAL_PRINCIPAL


def client_ip() -> str | None:
    """The peer address; ``X-Forwarded-For`` is ignored because no proxy hop is trusted."""
    return request.remote_addr


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


async def json_object() -> dict[str, Any]:
    """The body as a JSON object, refusing other shapes and absurd nesting with 400s, not 500s."""
    raw = await request.get_data()
    import json

    try:
        body = json.loads(raw or b"null")
    except RecursionError:
        raise ValidationError(
            "Request body is nested too deeply", {"limit": MAX_JSON_DEPTH}
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("Request body must be valid JSON") from None
    if not isinstance(body, dict):
        raise ValidationError("Request body must be a JSON object")
    if _depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ValidationError("Request body is nested too deeply", {"limit": MAX_JSON_DEPTH})
    return body


def query_int(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise ValidationError(
            f"{name} must be an integer from {minimum} to {maximum}", {"field": name}
        )
    value = int(raw)
    if not minimum <= value <= maximum:
        raise ValidationError(
            f"{name} must be an integer from {minimum} to {maximum}",
            {"field": name, "min": minimum, "max": maximum},
        )
    return value


__all__ = ["client_ip", "json_object", "principal", "query_int"]
