"""Templates: native types for whole values, a sandbox, and named failures."""

from __future__ import annotations

import pytest

from ignition_toolbox.core.context import Secrets
from ignition_toolbox.core.templating import (
    TemplateError,
    credential_names,
    evaluate_condition,
    render,
)

CONTEXT = {
    "parameter": {"flag": True, "items": [1, 2], "version": "1.10", "n": 3},
    "step": {"info": {"modules": [{"name": "Vision", "state": "ACTIVE"}]}},
    "variable": {"x": {"y": 5}},
    "credential": {"plant-gw": {"username": "admin", "password": "pw"}},
    "loop": {"item": "a", "index": 0},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ parameter.flag }}", True),
        ("{{ parameter.items }}", [1, 2]),
        ("{{ parameter.version }}", "1.10"),
        ("v{{ parameter.version }}", "v1.10"),
        ("{{ step.info.modules[0].state }}", "ACTIVE"),
        ("{{ variable.x.y * 2 }}", 10),
        ("{{ credential.plant-gw.username }}", "admin"),
        ("{{ loop.item }}-{{ loop.index }}", "a-0"),
        ("no template", "no template"),
    ],
)
def test_references_resolve_keeping_native_types(template: str, expected: object) -> None:
    assert render(template, CONTEXT) == expected


def test_nested_structures_render_at_every_depth() -> None:
    assert render({"a": ["{{ parameter.n }}", {"b": "{{ parameter.flag }}"}]}, CONTEXT) == {
        "a": [3, {"b": True}]
    }


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ parameter.nope }}", "nope"),
        ("{{ step.missing.key }}", "missing"),
        ("x {{ variable.none }} y", "none"),
    ],
)
def test_unresolvable_references_fail_naming_them(template: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(template, CONTEXT)
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    "template",
    [
        "{{ ().__class__.__bases__[0].__subclasses__() }}",
        "{{ parameter.items.__class__ }}",
        "{{ parameter.items.append(3) }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_the_sandbox_refuses_python_internals(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, CONTEXT)
    assert CONTEXT["parameter"]["items"] == [1, 2]


def test_conditions_accept_bare_expressions_templates_and_booleans() -> None:
    assert evaluate_condition("parameter.n > 2", CONTEXT) is True
    assert evaluate_condition("{{ parameter.n > 5 }}", CONTEXT) is False
    assert evaluate_condition(False, CONTEXT) is False


def test_credential_names_are_found_for_resolution() -> None:
    found = credential_names(
        {"a": "{{ credential.plant-gw.password }}", "b": ["{{ credential['x y'].username }}"]}
    )
    assert found == {"plant-gw", "x y"}


def test_secrets_are_redacted_at_any_depth() -> None:
    secrets = Secrets()
    secrets.add("hunter2", "", None, "ab")
    assert secrets.redact({"a": ["pw=hunter2!"], "b": 1}) == {"a": ["pw=***!"], "b": 1}
    assert secrets.redact("ab") == "ab"  # two characters are too short to be a secret worth masking
