"""Ids in URL paths: one parser for every route, so an id no row can have is the resource's 404.

Tortoise validates a filter value against its column before any query runs: a string longer than
the ``id`` column's ``max_length`` raises Tortoise's own ``ValidationError``, which no handler
knows, so ``/api/executions/<37 characters>`` was a 500. Holding every path id to its column's
shape here, once, before any handler runs, keeps such values away from the database; the charset
also keeps NUL and other bytes a PostgreSQL driver refuses out of queries. The WebSocket's
subscriptions, which carry execution ids in messages, use the same parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.models import Model

from ignition_toolbox.core import ExecutionNotFoundError, ToolboxError

from .errors import NotFoundError
from .models import ApiKeyRecord, ArtifactRecord, ExecutionRecord

# Every id the server hands out is a UUID (hex, with or without dashes); older rows and the
# tests' rows use readable ids such as ``left-running``. Nothing else can match a row.
_ID_CHARS = re.compile(r"[A-Za-z0-9_-]+")
# How much of a refused id an error message echoes: enough to recognise, never a 5 KB blob.
SHOWN_CHARS = 64


def _column_length(model: type[Model]) -> int:
    """The id column's length, read from the model so the two cannot drift apart."""
    length = getattr(model._meta.fields_map["id"], "max_length", None)
    assert isinstance(length, int), f"{model.__name__}.id has no max_length"
    return length


@dataclass(frozen=True)
class IdKind:
    max_length: int
    not_found: Callable[[str], ToolboxError]

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, str)
            and 0 < len(value) <= self.max_length
            and _ID_CHARS.fullmatch(value) is not None
        )


def _execution_missing(shown: str) -> ToolboxError:
    return ExecutionNotFoundError(f"Execution '{shown}' not found", {"execution_id": shown})


def _key_missing(shown: str) -> ToolboxError:
    return NotFoundError(f"API key '{shown}' not found", {"key_id": shown})


def _artifact_missing(shown: str) -> ToolboxError:
    return NotFoundError(f"Artifact '{shown}' not found", {"artifact_id": shown})


# Keyed by the URL variable name the routes use (``/api/executions/<execution_id>`` …).
KINDS: dict[str, IdKind] = {
    "execution_id": IdKind(_column_length(ExecutionRecord), _execution_missing),
    "key_id": IdKind(_column_length(ApiKeyRecord), _key_missing),
    "artifact_id": IdKind(_column_length(ArtifactRecord), _artifact_missing),
}


def is_execution_id(value: Any) -> bool:
    return KINDS["execution_id"].accepts(value)


def check_path_ids(view_args: Mapping[str, Any] | None) -> None:
    """Raise the resource's not-found error for the first path id of a shape no row can have."""
    for name, value in (view_args or {}).items():
        kind = KINDS.get(name)
        if kind is not None and not kind.accepts(value):
            raise kind.not_found(str(value)[:SHOWN_CHARS])


__all__ = ["KINDS", "SHOWN_CHARS", "IdKind", "check_path_ids", "is_execution_id"]
