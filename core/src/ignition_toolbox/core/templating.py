"""Playbook templates on Jinja2's sandbox.

A string that is exactly one ``{{ expression }}`` evaluates to the expression's native value (a list
stays a list, a boolean a boolean); any other string with template syntax renders to text. Undefined
references fail with a message naming them. Names with hyphens (``credential.plant-gw.password``)
are rewritten to subscripts, since Jinja2 would read them as subtraction.

Every render is bounded in time, iterations, size and output (``template_limits``, SR-22); a
template made only of names, dots and subscripts (``{{ parameter.x }}``) does a fixed amount of
work, so it runs without starting a budget and the hot path stays as fast as it was.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, nodes
from jinja2.exceptions import SecurityError

from . import template_limits as limits
from .errors import ValidationError

_WHOLE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
_HYPHENATED = re.compile(r"\b(credential|step|variable|parameter)\.([A-Za-z0-9_]*-[A-Za-z0-9_-]*)")
_CREDENTIAL_NAMES = re.compile(
    r"\bcredential\s*(?:\.\s*([A-Za-z0-9_-]+)|\[\s*['\"]([^'\"]+)['\"]\s*\])"
)


class TemplateError(ValidationError):
    """A template that cannot compile or cannot resolve."""


class _Env(limits.LimitedSandbox):
    """Dots on a mapping read its keys only, so ``parameter.items`` is the parameter, never a method."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        limits.check_deadline()
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


# What a template may contain and still run without a budget: static text and lookups only, no
# loop, operator, call, filter or slice, so its cost is fixed by its length (a text one's output
# is still counted, as it is joined).
_PLAIN_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Const,
)


def _plain(source: str) -> bool:
    tree = _env.parse(source)
    return all(isinstance(node, _PLAIN_NODES) for node in tree.find_all(nodes.Node))


def _compile_failure(kind: str, text: str, exc: Exception) -> TemplateError:
    key = "condition" if kind == "condition" else "template"
    if isinstance(exc, TemplateSyntaxError):
        return TemplateError(f"{kind} syntax error: {exc.message}", {key: text})
    # a literal Python cannot hold (a 5,000-digit number) or nesting past the parser's recursion
    return TemplateError(f"{kind} cannot compile: {type(exc).__name__}", {key: text})


@lru_cache(maxsize=8192)
def _compile(text: str) -> tuple[bool, Any, bool]:
    """(whole, compiled, plain): ``whole`` for one ``{{ expression }}``, ``plain`` when it needs
    no budget."""
    text = _hyphen_subscripts(text)
    whole = _WHOLE.match(text)
    try:
        if whole:
            expression = whole.group("expr").strip()
            compiled = _env.compile_expression(expression, undefined_to_none=False)
            return True, compiled, _plain(f"{{{{ {expression} }}}}")
        return False, _env.from_string(text), _plain(text)
    except (TemplateSyntaxError, RecursionError, MemoryError, ValueError, SyntaxError) as exc:
        raise _compile_failure("template", text, exc) from None


@lru_cache(maxsize=4096)
def _compile_condition(text: str) -> tuple[Any, bool]:
    text = _hyphen_subscripts(text)
    try:
        return _env.compile_expression(text, undefined_to_none=False), _plain(f"{{{{ {text} }}}}")
    except (TemplateSyntaxError, RecursionError, MemoryError, ValueError, SyntaxError) as exc:
        raise _compile_failure("condition", text, exc) from None


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


def _excerpt(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _limit_failure(kind: str, text: str, exc: limits.TemplateLimitError) -> TemplateError:
    return TemplateError(
        f"{kind} '{_excerpt(text)}' {exc.message}",
        {"condition" if kind == "condition" else "template": text, **exc.details},
    )


def _recursion_failure(kind: str, text: str) -> TemplateError:
    return TemplateError(
        f"{kind} '{_excerpt(text)}' hit the recursion limit: it nests calls too deeply",
        {"condition" if kind == "condition" else "template": text, "limit": "recursion"},
    )


def render_string(text: str, context: dict[str, Any]) -> Any:
    whole, compiled, plain = _compile(text)
    budget, token = (None, None) if plain else limits.begin()
    try:
        if whole:
            value = compiled(**context)
            if not plain:
                limits.check_value(value)
        elif plain:
            value = limits.join_output(compiled.generate(context))
        else:
            value = compiled.render(context)
    except limits.TemplateLimitError as exc:
        raise _limit_failure("template", text, exc) from None
    except RecursionError:
        raise _recursion_failure("template", text) from None
    except UndefinedError as exc:
        raise TemplateError(
            f"cannot resolve '{text}': {_undefined_name(exc)}", {"template": text}
        ) from None
    except SecurityError:
        raise TemplateError(
            "template tried an operation the sandbox forbids", {"template": text}
        ) from None
    except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as exc:
        raise TemplateError(
            f"template failed: {type(exc).__name__}: {exc}", {"template": text}
        ) from None
    finally:
        if budget is not None:
            limits.end(budget, token)
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
    """Render every template string inside ``value`` (dicts and lists at any depth).

    The strings of one call share one budget: a step's parameters together get one deadline."""
    if isinstance(value, str):
        return render_string(value, context) if has_template(value) else value
    if not isinstance(value, (dict, list)):
        return value
    budget, token = limits.begin()
    try:
        return _render_nested(value, context)
    finally:
        limits.end(budget, token)


def _render_nested(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return render_string(value, context) if has_template(value) else value
    if isinstance(value, dict):
        return {k: _render_nested(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_nested(v, context) for v in value]
    return value


def evaluate_condition(condition: str | bool, context: dict[str, Any]) -> bool:
    """``when:`` accepts ``true``/``false``, a bare expression, or one ``{{ expression }}``."""
    if isinstance(condition, bool):
        return condition
    if has_template(condition):
        return bool(render_string(condition, context))
    compiled, plain = _compile_condition(condition)
    budget, token = (None, None) if plain else limits.begin()
    try:
        value = compiled(**context)
    except limits.TemplateLimitError as exc:
        raise _limit_failure("condition", condition, exc) from None
    except RecursionError:
        raise _recursion_failure("condition", condition) from None
    except UndefinedError as exc:
        raise TemplateError(
            f"cannot resolve condition '{condition}': {_undefined_name(exc)}"
        ) from None
    except SecurityError:
        raise TemplateError("condition tried an operation the sandbox forbids") from None
    finally:
        if budget is not None:
            limits.end(budget, token)
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
