"""Where a playbook's templates use secrets, found before anything runs (SR-20).

A reference to ``credential.<name>.password``, ``credential.<name>.api_token`` or a parameter declared
``secret: true`` is allowed in exactly one shape: a template that is that reference alone, in a step
parameter whose schema accepts secrets. Any other shape is refused when the playbook is validated or
saved. References built at run time (``credential[x][y]``) cannot be seen here; the opaque ``Secret``
values refuse those uses when the step runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from jinja2 import Environment, TemplateSyntaxError, nodes

from .templating import _hyphen_subscripts, has_template, whole_expression

SECRET_FIELDS = frozenset({"password", "api_token"})

# Parsing builds the syntax tree only: nothing is evaluated or folded, so any template is cheap here.
_parser = Environment(autoescape=False)


def _key(node: nodes.Node) -> object:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return node.arg.value
    return None


def _holder(node: nodes.Node) -> nodes.Node | None:
    return node.node if isinstance(node, (nodes.Getattr, nodes.Getitem)) else None


def _label(node: nodes.Node, secret_parameters: frozenset[str]) -> str | None:
    """The secret ``node`` reads, described for a message, or None."""
    key, holder = _key(node), _holder(node)
    if holder is None:
        return None
    if isinstance(holder, nodes.Name) and holder.name == "parameter" and key in secret_parameters:
        return f"parameter '{key}'"
    inner = _holder(holder)
    if key in SECRET_FIELDS and isinstance(inner, nodes.Name) and inner.name == "credential":
        name = _key(holder)
        return f"credential '{name}' {key}" if isinstance(name, str) else f"a credential's {key}"
    return None


def _references(tree: nodes.Node, secret_parameters: frozenset[str]) -> Iterator[tuple[nodes.Node, str]]:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        label = _label(node, secret_parameters)
        if label is not None:
            yield node, label


def secret_uses(text: str, secret_parameters: frozenset[str] = frozenset()) -> tuple[list[str], bool]:
    """The secrets ``text`` reads and whether it is one of them passed whole (``{{ ref }}``)."""
    if not has_template(text) and text.strip():
        text = f"{{{{ {text} }}}}"  # a bare condition (``when: x > 1``) is an expression
    whole = whole_expression(text)
    source = f"{{{{ {whole} }}}}" if whole is not None else _hyphen_subscripts(text)
    try:
        tree = _parser.parse(source)
    except TemplateSyntaxError:
        return [], False  # the syntax check reports it
    found = list(_references(tree, secret_parameters))
    if not found:
        return [], False
    passed_whole = False
    if whole is not None and len(found) == 1:
        output = tree.body[0] if len(tree.body) == 1 else None
        passed_whole = (
            isinstance(output, nodes.Output)
            and len(output.nodes) == 1
            and output.nodes[0] is found[0][0]
        )
    return [label for _, label in found], passed_whole


__all__ = ["SECRET_FIELDS", "secret_uses"]
