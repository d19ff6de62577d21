"""The playbook model and its validation, driven by the step types' declared schemas."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema import ValidationError as SchemaError

from . import templating
from .errors import ValidationError
from .schema import base_playbook_schema, step_parameters_schema
from .secret_references import secret_uses
from .secrets import Secret
from .yaml_loader import LoadedDocument, load_yaml

if TYPE_CHECKING:
    from .plugins import PluginManager
    from .steps import StepType

_BASE_VALIDATOR = Draft202012Validator(base_playbook_schema())
_PARAMETER_JSON_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "file": {"type": "string"},
    "credential": {"type": "string"},
    "integer": {"type": "integer"},
    "float": {"type": "number"},
    "boolean": {"type": "boolean"},
    "list": {"type": "array"},
    "dict": {"type": "object"},
}


@dataclass(frozen=True)
class Retry:
    count: int = 0
    delay: float = 1.0
    backoff: float = 1.0


@dataclass(frozen=True)
class Step:
    id: str
    type: str
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    timeout: float | str | None = None
    retry: Retry = Retry()
    on_failure: str = "abort"
    when: str | bool | None = None
    loop: list[Any] | str | None = None
    description: str = ""

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": self.type}


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str = "string"
    required: bool = False
    default: Any = None
    description: str = ""
    enum: list[Any] | None = None
    secret: bool = False
    label: str = ""
    accept: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "description": self.description,
        }
        if self.default is not None:
            out["default"] = self.default
        if self.enum is not None:
            out["enum"] = self.enum
        if self.secret:
            out["secret"] = True
        if self.label:
            out["label"] = self.label
        if self.accept:
            out["accept"] = list(self.accept)
        return out

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = dict(_PARAMETER_JSON_TYPES[self.type])
        if self.enum is not None:
            schema["enum"] = self.enum
        return schema


@dataclass(frozen=True)
class Playbook:
    name: str
    steps: tuple[Step, ...]
    version: str = ""
    description: str = ""
    domain: str = ""
    parameters: tuple[Parameter, ...] = ()
    finally_steps: tuple[Step, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = "<playbook>"
    content_hash: str = ""

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "domain": self.domain,
            "parameters": [p.describe() for p in self.parameters],
            "steps": [s.describe() for s in self.steps],
            "finally": [s.describe() for s in self.finally_steps],
        }


def _path_text(path: list[str | int] | tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


class _Faults:
    """Collects validation faults with JSON path, line and column, then raises them as one error."""

    def __init__(self, source: str, document: LoadedDocument | None) -> None:
        self.source = source
        self.document = document
        self.items: list[dict[str, Any]] = []

    def add(
        self, path: list[str | int] | tuple[str | int, ...], message: str, **extra: Any
    ) -> None:
        item: dict[str, Any] = {"path": _path_text(path), "message": message, **extra}
        position = self.document.position(tuple(path)) if self.document else None
        if position:
            item["line"], item["column"] = position
        self.items.append(item)

    def add_schema_error(self, prefix: tuple[str | int, ...], error: SchemaError) -> None:
        path = (*prefix, *error.absolute_path)
        self.add(path, _schema_message(error))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        first = self.items[0]
        where = (
            f"{self.source}:{first['line']}:{first['column']}" if "line" in first else self.source
        )
        more = f" (and {len(self.items) - 1} more)" if len(self.items) > 1 else ""
        details: dict[str, Any] = {"file": self.source, "path": first["path"], "errors": self.items}
        if "line" in first:
            details.update(line=first["line"], column=first["column"])
        raise ValidationError(f"{where}: {first['path']}: {first['message']}{more}", details)


def _schema_message(error: SchemaError) -> str:
    if error.validator == "additionalProperties":
        declared = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        given = error.instance if isinstance(error.instance, dict) else {}
        extra = sorted(set(given) - set(declared))
        return f"unknown key(s) {', '.join(map(repr, extra))}"
    if error.validator == "anyOf" and error.context:
        best = min(error.context, key=lambda e: len(list(e.absolute_path)))
        return best.message
    return error.message


def _best_errors(validator: Draft202012Validator, instance: Any) -> list[SchemaError]:
    return sorted(
        validator.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)), e.message)
    )


def _build_step(raw: dict[str, Any]) -> Step:
    retry = raw.get("retry") or {}
    return Step(
        id=raw["id"],
        type=raw["type"],
        name=raw.get("name") or raw["id"],
        parameters=raw.get("parameters") or {},
        timeout=raw.get("timeout"),
        retry=Retry(
            count=int(retry.get("count", 0)),
            delay=float(retry.get("delay", 1.0)),
            backoff=float(retry.get("backoff", 1.0)),
        ),
        on_failure=raw.get("on_failure", "abort"),
        when=raw.get("when"),
        loop=raw.get("loop"),
        description=raw.get("description", ""),
    )


def _check_templates(value: Any, path: tuple[str | int, ...], faults: _Faults) -> None:
    if isinstance(value, str):
        try:
            templating.check_syntax(value)
        except ValidationError as exc:
            faults.add(path, exc.message)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_templates(item, (*path, key), faults)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_templates(item, (*path, index), faults)


def _check_secret_uses(
    value: Any,
    path: tuple[str | int, ...],
    step_type: StepType | None,
    secret_parameters: frozenset[str],
    faults: _Faults,
    where: tuple[str | int, ...],
) -> None:
    """Refuse every template that uses a secret other than whole, in a parameter accepting it.

    ``step_type`` is None for the step's control keys (``when``, ``loop``, ``timeout``), where no
    secret may appear at all.
    """
    if isinstance(value, str):
        labels, whole = secret_uses(value, secret_parameters)
        if not labels:
            return
        key = ".".join(map(str, path)) or str(where[-1])
        if step_type is None:
            reason = f"'{key}' may not depend on a secret (no secret-driven control flow)"
        elif not step_type.accepts_secret(path):
            reason = f"parameter '{key}' of {step_type.name} does not accept secrets"
        elif not whole:
            reason = "it may only be passed whole, as '{{ … }}' alone, never transformed or inside text"
        else:
            return
        faults.add(where, f"{labels[0]} is a secret: {reason}")
    elif isinstance(value, dict):
        for k, item in value.items():
            _check_secret_uses(item, (*path, k), step_type, secret_parameters, faults, (*where, k))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_secret_uses(item, (*path, i), step_type, secret_parameters, faults, (*where, i))


def validate_playbook(
    data: Any,
    plugins: PluginManager,
    *,
    source: str = "<playbook>",
    document: LoadedDocument | None = None,
    content_hash: str = "",
) -> Playbook:
    """Check a parsed playbook against the composed schema and return the model, or raise."""
    faults = _Faults(source, document)
    if not isinstance(data, dict):
        faults.add((), "a playbook must be a mapping with 'name' and 'steps'")
        faults.raise_if_any()
    for error in _best_errors(_BASE_VALIDATOR, data):
        faults.add_schema_error((), error)
    faults.raise_if_any()

    secret_parameters = frozenset(
        p["name"] for p in data.get("parameters") or [] if isinstance(p, dict) and p.get("secret")
    )
    seen_ids: dict[str, str] = {}
    for section in ("steps", "finally"):
        for index, raw in enumerate(data.get(section) or []):
            where: tuple[str | int, ...] = (section, index)
            if raw["id"] in seen_ids:
                faults.add(
                    (*where, "id"),
                    f"duplicate step id '{raw['id']}' (first at {seen_ids[raw['id']]})",
                )
            else:
                seen_ids[raw["id"]] = _path_text(where)
            step_type = plugins.step_types.get(raw["type"])
            if step_type is None:
                near = difflib.get_close_matches(
                    raw["type"], list(plugins.step_types), n=3, cutoff=0.5
                )
                hint = f"; did you mean {', '.join(near)}?" if near else ""
                faults.add(
                    (*where, "type"), f"unknown step type '{raw['type']}'{hint}", suggestions=near
                )
                continue
            validator = plugins.parameter_validator(step_type.name, step_parameters_schema)
            for error in _best_errors(validator, raw.get("parameters") or {}):
                faults.add_schema_error((*where, "parameters"), error)
            _check_templates(raw.get("parameters") or {}, (*where, "parameters"), faults)
            _check_secret_uses(
                raw.get("parameters") or {},
                (),
                step_type,
                secret_parameters,
                faults,
                (*where, "parameters"),
            )
            for key in ("timeout", "loop", "when"):
                _check_secret_uses(raw.get(key), (), None, secret_parameters, faults, (*where, key))
            for key in ("timeout", "loop"):
                _check_templates(raw.get(key), (*where, key), faults)
            if isinstance(raw.get("when"), str):
                try:
                    templating.check_condition(raw["when"])
                except ValidationError as exc:
                    faults.add((*where, "when"), exc.message)

    parameters: list[Parameter] = []
    names: set[str] = set()
    for index, raw in enumerate(data.get("parameters") or []):
        where = ("parameters", index)
        parameter = Parameter(
            name=raw["name"],
            type=raw.get("type", "string"),
            required=bool(raw.get("required", False)),
            default=raw.get("default"),
            description=raw.get("description", ""),
            enum=raw.get("enum"),
            secret=bool(raw.get("secret", False)),
            label=raw.get("label", ""),
            accept=tuple(raw.get("accept") or ()),
        )
        if parameter.name in names:
            faults.add((*where, "name"), f"duplicate parameter '{parameter.name}'")
        names.add(parameter.name)
        if parameter.default is not None:
            if parameter.type == "credential" and not _is_credential_name(parameter.default):
                faults.add(
                    (*where, "default"),
                    "a credential parameter's default must name a stored credential, not hold a secret",
                )
            elif parameter.secret:
                faults.add((*where, "default"), "secret parameters cannot have a literal default")
            else:
                for error in Draft202012Validator(parameter.json_schema()).iter_errors(
                    parameter.default
                ):
                    faults.add((*where, "default"), error.message)
        parameters.append(parameter)
    faults.raise_if_any()

    return Playbook(
        name=data["name"],
        version=str(data.get("version", "")),
        description=data.get("description", ""),
        domain=data.get("domain", ""),
        parameters=tuple(parameters),
        steps=tuple(_build_step(s) for s in data["steps"]),
        finally_steps=tuple(_build_step(s) for s in data.get("finally") or []),
        metadata=data.get("metadata") or {},
        source=source,
        content_hash=content_hash,
    )


def _is_credential_name(value: Any) -> bool:
    import re

    return isinstance(value, str) and bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value))


def parse_playbook(
    text: str | bytes, plugins: PluginManager, source: str = "<playbook>"
) -> Playbook:
    """YAML text or bytes to a validated ``Playbook``; every fault is a ``ValidationError``."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    document = load_yaml(text, source)
    return validate_playbook(
        document.data,
        plugins,
        source=source,
        document=document,
        content_hash=hashlib.sha256(raw).hexdigest(),
    )


def coerce_parameters(
    playbook: Playbook, given: dict[str, Any], *, from_text: bool = False
) -> dict[str, Any]:
    """Apply defaults, convert CLI strings when ``from_text``, and validate against the declarations."""
    faults = _Faults(playbook.source, None)
    unknown = sorted(set(given) - {p.name for p in playbook.parameters})
    for name in unknown:
        faults.add(("parameters", name), f"unknown parameter '{name}'")
    values: dict[str, Any] = {}
    for parameter in playbook.parameters:
        if parameter.name in given:
            value = given[parameter.name]
            if from_text and isinstance(value, str):
                value = _from_text(parameter, value, faults)
        elif parameter.default is not None:
            value = parameter.default
        elif parameter.required:
            faults.add(("parameters", parameter.name), f"parameter '{parameter.name}' is required")
            continue
        else:
            value = None
        if isinstance(value, Secret):
            # Only a nested playbook passes a secret on, and only to a parameter declared secret.
            if not parameter.secret:
                faults.add(
                    ("parameters", parameter.name),
                    f"parameter '{parameter.name}' gets {value.label}, a secret, but is not "
                    "declared secret: true",
                )
        elif value is not None:
            if parameter.type == "float" and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            for error in Draft202012Validator(parameter.json_schema()).iter_errors(value):
                faults.add(
                    ("parameters", parameter.name), f"parameter '{parameter.name}': {error.message}"
                )
        values[parameter.name] = value
    faults.raise_if_any()
    return values


def _from_text(parameter: Parameter, text: str, faults: _Faults) -> Any:
    import json

    try:
        if parameter.type == "integer":
            return int(text)
        if parameter.type == "float":
            return float(text)
        if parameter.type == "boolean":
            lowered = text.strip().lower()
            if lowered in ("true", "yes", "1", "on"):
                return True
            if lowered in ("false", "no", "0", "off"):
                return False
            raise ValueError(text)
        if parameter.type in ("list", "dict"):
            return json.loads(text)
    except ValueError:
        faults.add(
            ("parameters", parameter.name),
            f"parameter '{parameter.name}' is not a valid {parameter.type}",
        )
    return text
