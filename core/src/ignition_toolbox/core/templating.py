"""Playbook templates on Jinja2's sandbox.

A string that is exactly one ``{{ expression }}`` evaluates to the expression's native value (a list
stays a list, a boolean a boolean); any other string with template syntax renders to text. Undefined
references fail with a message naming them. Names with hyphens (``credential.plant-gw.password``)
are rewritten to subscripts, since Jinja2 would read them as subtraction.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import ValidationError

_WHOLE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
_HYPHENATED = re.compile(r"\b(credential|step|variable|parameter)\.([A-Za-z0-9_]*-[A-Za-z0-9_-]*)")
_CREDENTIAL_NAMES = re.compile(
    r"\bcredential\s*(?:\.\s*([A-Za-z0-9_-]+)|\[\s*['\"]([^'\"]+)['\"]\s*\])"
)


class TemplateError(ValidationError):
    """A template that cannot compile or cannot resolve."""


class _Env(ImmutableSandboxedEnvironment):
    """Dots on a mapping read its keys only, so ``parameter.items`` is the parameter, never a method."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict):
            if attribute in obj:
                return obj[attribute]
            return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


_env = _Env(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def has_template(value: str) -> bool:
    return "{{" in value or "{%" in value


def whole_expression(text: str) -> str | None:
    """The expression of a template that is exactly one ``{{ expression }}``, else None.

    Hyphenated names are already rewritten to subscripts, as the renderer sees them.
    """
    whole = _WHOLE.match(_hyphen_subscripts(text))
    return whole.group("expr").strip() if whole else None


def _hyphen_subscripts(text: str) -> str:
    return _HYPHENATED.sub(lambda m: f'{m.group(1)}["{m.group(2)}"]', text)


@lru_cache(maxsize=8192)
def _compile(text: str) -> tuple[bool, Any]:
    text = _hyphen_subscripts(text)
    whole = _WHOLE.match(text)
    try:
        if whole:
            return True, _env.compile_expression(
                whole.group("expr").strip(), undefined_to_none=False
            )
        return False, _env.from_string(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}", {"template": text}) from None


@lru_cache(maxsize=4096)
def _compile_condition(text: str) -> Any:
    try:
        return _env.compile_expression(_hyphen_subscripts(text), undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"condition syntax error: {exc.message}", {"condition": text}) from None


def check_syntax(value: str) -> None:
    """Raise ``TemplateError`` when ``value`` would not compile (checked before a run starts)."""
    if has_template(value):
        _compile(value)


def check_condition(value: str) -> None:
    if has_template(value):
        _compile(value)
    else:
        _compile_condition(value)


def _undefined_name(exc: Exception) -> str:
    return str(exc).replace("'jinja2.sandbox.", "'").replace("jinja2.", "")


def render_string(text: str, context: dict[str, Any]) -> Any:
    whole, compiled = _compile(text)
    try:
        value = compiled(**context) if whole else compiled.render(context)
    except UndefinedError as exc:
        raise TemplateError(
            f"cannot resolve '{text}': {_undefined_name(exc)}", {"template": text}
        ) from None
    except SecurityError:
        raise TemplateError(
            "template tried an operation the sandbox forbids", {"template": text}
        ) from None
    except (TypeError, ValueError, ZeroDivisionError, AttributeError, LookupError) as exc:
        raise TemplateError(
            f"template failed: {type(exc).__name__}: {exc}", {"template": text}
        ) from None
    if isinstance(value, Undefined):
        try:
            str(value)
        except SecurityError:
            raise TemplateError(
                "template tried an operation the sandbox forbids", {"template": text}
            ) from None
        except UndefinedError as exc:
            raise TemplateError(
                f"cannot resolve '{text}': {_undefined_name(exc)}", {"template": text}
            ) from None
    return value


def render(value: Any, context: dict[str, Any]) -> Any:
    """Render every template string inside ``value`` (dicts and lists at any depth)."""
    if isinstance(value, str):
        return render_string(value, context) if has_template(value) else value
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value


def evaluate_condition(condition: str | bool, context: dict[str, Any]) -> bool:
    """``when:`` accepts ``true``/``false``, a bare expression, or one ``{{ expression }}``."""
    if isinstance(condition, bool):
        return condition
    if has_template(condition):
        return bool(render_string(condition, context))
    try:
        value = _compile_condition(condition)(**context)
    except UndefinedError as exc:
        raise TemplateError(
            f"cannot resolve condition '{condition}': {_undefined_name(exc)}"
        ) from None
    except SecurityError:
        raise TemplateError("condition tried an operation the sandbox forbids") from None
    if isinstance(value, Undefined):
        raise TemplateError(f"cannot resolve condition '{condition}'")
    return bool(value)


def credential_names(value: Any) -> set[str]:
    """Credential names a value refers to literally, so they can be resolved before rendering."""
    found: set[str] = set()
    if isinstance(value, str):
        if "credential" in value:
            for match in _CREDENTIAL_NAMES.finditer(value):
                found.add(match.group(1) or match.group(2))
    elif isinstance(value, dict):
        for v in value.values():
            found |= credential_names(v)
    elif isinstance(value, list):
        for v in value:
            found |= credential_names(v)
    return found
