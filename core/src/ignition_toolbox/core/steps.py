"""What a plugin declares: step types and per-execution resources.

A step type is data plus one async handler. The playbook schema, validation, ``itk step-types``,
``GET /api/step-types`` and the docs are all generated from these declarations.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import ExecutionContext, StepContext

StepHandler = Callable[["StepContext", dict[str, Any]], Awaitable[dict[str, Any] | None]]
ResourceOpener = Callable[["ExecutionContext"], AbstractAsyncContextManager[Any]]

STEP_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")

EMPTY_OBJECT: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}


def closed_object(required: Iterable[str] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """A parameter schema that refuses unknown keys, so a typo fails validation before the run."""
    return {
        "type": "object",
        "required": list(required),
        "additionalProperties": False,
        "properties": properties,
    }


def object_output(**properties: dict[str, Any]) -> dict[str, Any]:
    """An output schema: the keys a step returns, for docs and for ``{{ step.<id>.<key> }}``."""
    return {"type": "object", "properties": properties}


@dataclass(frozen=True)
class StepType:
    """One step type.

    ``parameters`` and ``output`` are JSON Schemas (Draft 2020-12) of type object. ``resources``
    names the per-execution resources the handler asks for, so a listing can say what a step needs.
    Parameters whose schema says ``writeOnly: true`` accept secrets (``{{ credential.x.password }}``
    passed whole); no other parameter does. ``secret_parameters`` names parameters whose literal
    values are redacted from events and outputs too.
    """

    name: str
    summary: str
    handler: StepHandler
    parameters: dict[str, Any] = field(default_factory=lambda: dict(EMPTY_OBJECT))
    output: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    resources: tuple[str, ...] = ()
    description: str = ""
    secret_parameters: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not STEP_NAME.match(self.name):
            raise ValueError(f"step type name {self.name!r} is not of the form domain.action")

    def accepts_secret(self, path: tuple[str | int, ...]) -> bool:
        """True when the parameter at ``path`` declares ``writeOnly: true``: it may get a secret."""
        schema: Any = self.parameters
        for key in path:
            if not isinstance(schema, dict):
                return False
            if isinstance(key, int):
                schema = schema.get("items")
            else:
                properties = schema.get("properties") or {}
                schema = properties[key] if key in properties else schema.get("additionalProperties")
        return isinstance(schema, dict) and schema.get("writeOnly") is True

    @property
    def domain(self) -> str:
        return self.name.split(".", 1)[0]

    def describe(self) -> dict[str, Any]:
        """The public description used by listings and docs."""
        return {
            "name": self.name,
            "domain": self.domain,
            "summary": self.summary,
            "description": self.description,
            "parameters": self.parameters,
            "output": self.output,
            "resources": list(self.resources),
        }


@dataclass(frozen=True)
class ResourceType:
    """A per-execution resource (a browser session, a gateway client).

    ``open`` is an async context manager factory: entering it creates the resource on the first step
    that asks for it, leaving it tears the resource down when the execution ends, cancel included.
    """

    name: str
    open: ResourceOpener
    summary: str = ""


@dataclass(frozen=True)
class PlaybookRoot:
    """A folder of playbooks. Plugin-shipped roots are read-only.

    ``prefix`` mounts the folder under a library path: a plugin shipping ``gateway/backup.yaml``
    gives its folder of gateway playbooks the prefix ``gateway``, so the playbook has the same path
    whether it comes from the plugin or from a checkout's ``playbooks/`` (and is listed once).
    """

    name: str
    path: Path
    writable: bool = False
    prefix: str = ""


__all__ = [
    "PlaybookRoot",
    "ResourceType",
    "StepHandler",
    "StepType",
    "closed_object",
    "object_output",
]
