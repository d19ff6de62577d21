"""The playbook JSON Schema (Draft 2020-12), composed from the step types' own schemas.

``playbook_schema`` is what ``itk schema`` prints for editors; ``validate_playbook`` in playbook.py uses
the same pieces, step by step, so every error carries the JSON path of its fault.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .steps import StepType

DRAFT = "https://json-schema.org/draft/2020-12/schema"
PARAMETER_TYPES = ("string", "integer", "float", "boolean", "file", "credential", "list", "dict")
TEMPLATE_STRING: dict[str, Any] = {
    "type": "string",
    "pattern": r"\{\{|\{%",
    "description": "A template resolved when the step runs",
}
SECONDS: dict[str, Any] = {"type": "number", "exclusiveMinimum": 0, "maximum": 86400}
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"

PARAMETER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": IDENTIFIER},
        "type": {"enum": list(PARAMETER_TYPES), "default": "string"},
        "required": {"type": "boolean"},
        "default": {},
        "description": {"type": "string"},
        "enum": {"type": "array", "minItems": 1},
        "secret": {"type": "boolean"},
        "label": {"type": "string"},
        "accept": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^\.[A-Za-z0-9]{1,10}$"},
            "description": "For file parameters: the file name endings a client should offer",
        },
    },
}

RETRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "count": {"type": "integer", "minimum": 0, "maximum": 100},
        "delay": {"type": "number", "minimum": 0, "maximum": 3600},
        "backoff": {"type": "number", "minimum": 1, "maximum": 10},
    },
}


def step_schema(type_names: list[str] | None = None) -> dict[str, Any]:
    """The schema of one step; ``type_names`` closes the ``type`` enum when given."""
    type_schema: dict[str, Any] = (
        {"enum": type_names}
        if type_names
        else {"type": "string", "pattern": r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"}
    )
    return {
        "type": "object",
        "required": ["id", "type"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": IDENTIFIER},
            "name": {"type": "string", "maxLength": 200},
            "description": {"type": "string"},
            "type": type_schema,
            "parameters": {"type": "object"},
            "timeout": {"anyOf": [SECONDS, TEMPLATE_STRING]},
            "retry": RETRY_SCHEMA,
            "on_failure": {"enum": ["abort", "continue"]},
            "when": {"anyOf": [{"type": "string", "minLength": 1}, {"type": "boolean"}]},
            "loop": {"anyOf": [{"type": "array"}, TEMPLATE_STRING]},
        },
    }


def base_playbook_schema(type_names: list[str] | None = None) -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "title": "Ignition Toolbox playbook",
        "type": "object",
        "required": ["name", "steps"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "version": {"type": "string", "maxLength": 50},
            "description": {"type": "string"},
            "domain": {"type": "string", "pattern": r"^[a-z][a-z0-9_-]*$"},
            "parameters": {"type": "array", "items": {"$ref": "#/$defs/parameter"}},
            "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"}},
            "finally": {"type": "array", "items": {"$ref": "#/$defs/step"}},
            "metadata": {"type": "object"},
        },
        "$defs": {"parameter": PARAMETER_SCHEMA, "step": step_schema(type_names)},
    }


def allow_templates(schema: Any) -> Any:
    """Let any value in ``schema`` be a template string too, at every depth.

    Parameters are checked twice: before the run with templates allowed, and after rendering against
    the step type's own schema.
    """
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: allow_templates(v) for k, v in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = allow_templates(out["items"])
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = allow_templates(out["additionalProperties"])
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(out.get(key), list):
            out[key] = [allow_templates(s) for s in out[key]]
    return {"anyOf": [out, TEMPLATE_STRING]}


def step_parameters_schema(step_type: StepType) -> dict[str, Any]:
    """The pre-run parameter schema: the declared object, each value template-tolerant."""
    declared = dict(step_type.parameters)
    declared.setdefault("type", "object")
    properties = declared.get("properties")
    if isinstance(properties, dict):
        declared["properties"] = {k: allow_templates(v) for k, v in properties.items()}
    if isinstance(declared.get("additionalProperties"), dict):
        declared["additionalProperties"] = allow_templates(declared["additionalProperties"])
    return declared


def playbook_schema(step_types: Iterable[StepType]) -> dict[str, Any]:
    """One schema for a whole playbook file: editors validate and complete step parameters with it."""
    types = sorted(step_types, key=lambda t: t.name)
    schema = base_playbook_schema([t.name for t in types])
    step = schema["$defs"]["step"]
    step["allOf"] = [
        {
            "if": {"properties": {"type": {"const": t.name}}, "required": ["type"]},
            "then": {
                "properties": {"parameters": step_parameters_schema(t)},
                "description": t.summary,
            },
        }
        for t in types
    ]
    return schema
