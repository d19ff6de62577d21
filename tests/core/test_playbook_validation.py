"""Playbooks are validated whole, step parameters included, before anything runs."""

from __future__ import annotations

import pytest

from ignition_toolbox.core import PluginManager, ValidationError, coerce_parameters, playbook_schema

GOOD = """\
name: Good
version: "1.0"
description: a playbook
domain: examples
parameters:
  - {name: who, type: string, required: true}
  - {name: count, type: integer, default: 2}
  - {name: gw, type: credential}
steps:
  - id: hello
    name: Say hello
    type: utility.log
    parameters: {message: "hi {{ parameter.who }}"}
    timeout: 5
    retry: {count: 2, delay: 0.1, backoff: 2}
    on_failure: continue
    when: "parameter.count > 1"
finally:
  - {id: bye, type: utility.log, parameters: {message: bye}}
metadata: {owner: qa}
"""


def parse(plugins: PluginManager, text: str):
    return plugins.parse_playbook(text, source="p.yaml")


def test_a_complete_playbook_parses_into_the_model(plugins: PluginManager) -> None:
    playbook = parse(plugins, GOOD)
    assert playbook.name == "Good" and playbook.version == "1.0"
    step = playbook.steps[0]
    assert (step.id, step.name, step.timeout, step.on_failure) == (
        "hello",
        "Say hello",
        5,
        "continue",
    )
    assert (step.retry.count, step.retry.delay, step.retry.backoff) == (2, 0.1, 2)
    assert playbook.finally_steps[0].id == "bye"
    assert [p.type for p in playbook.parameters] == ["string", "integer", "credential"]
    assert len(playbook.content_hash) == 64


def fault(plugins: PluginManager, text: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse(plugins, text)
    return caught.value


def test_unknown_step_type_names_the_nearest_known_ones(plugins: PluginManager) -> None:
    error = fault(plugins, "name: x\nsteps:\n  - {id: a, type: utility.slep}\n")
    assert "utility.sleep" in error.message
    assert error.details["path"] == "steps[0].type"
    assert error.details["errors"][0]["suggestions"][0] == "utility.sleep"
    assert (error.details["line"], error.details["column"]) == (3, 19)


@pytest.mark.parametrize("kind", ["utility.python", "shell.exec"])
def test_no_code_executing_step_type_exists(plugins: PluginManager, kind: str) -> None:
    assert (
        "unknown step type"
        in fault(plugins, f"name: x\nsteps:\n  - {{id: a, type: {kind}}}\n").message
    )


def test_step_parameters_are_checked_against_the_step_schema(plugins: PluginManager) -> None:
    error = fault(
        plugins,
        "name: x\nsteps:\n  - id: a\n    type: utility.sleep\n    parameters: {seconds: soon}\n",
    )
    assert error.details["path"] == "steps[0].parameters.seconds"
    assert error.details["line"] == 5
    error = fault(
        plugins, "name: x\nsteps:\n  - {id: a, type: utility.sleep, parameters: {secs: 1}}\n"
    )
    assert "'secs'" in error.message or "seconds" in error.message


def test_templates_are_allowed_where_a_typed_value_is_expected(plugins: PluginManager) -> None:
    parse(
        plugins,
        "name: x\nsteps:\n  - {id: a, type: utility.sleep, parameters: {seconds: '{{ parameter.n }}'}}\n",
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "name: x\nsteps:\n  - {id: a, type: utility.log, parameters: {message: m}}\n  - {id: a, type: utility.log, parameters: {message: m}}\n",
            "duplicate step id 'a'",
        ),
        (
            "name: x\nversion: 1.10\nsteps:\n  - {id: a, type: utility.fail}\n",
            "is not of type 'string'",
        ),
        ("- a\n- b\n", "must be a mapping"),
        ("just text\n", "must be a mapping"),
        ("name: x\nsteps: []\n", "should be non-empty"),
        (
            "name: x\nsteps:\n  - {id: a, type: utility.fail, colour: red}\n",
            "unknown key(s) 'colour'",
        ),
        (
            "name: x\nparameters:\n  - {name: pw, type: credential, default: 'hunter2 !'}\nsteps:\n  - {id: a, type: utility.fail}\n",
            "must name a stored credential",
        ),
        (
            "name: x\nparameters:\n  - {name: pw, type: string, secret: true, default: hunter2}\nsteps:\n  - {id: a, type: utility.fail}\n",
            "cannot have a literal default",
        ),
        (
            "name: x\nsteps:\n  - {id: a, type: utility.log, parameters: {message: '{{ oops'}}\n",
            "template syntax error",
        ),
        (
            "name: x\nsteps:\n  - {id: a, type: utility.fail, when: 'a ==='}\n",
            "condition syntax error",
        ),
        (
            "name: x\nparameters:\n  - {name: n, type: integer, default: two}\nsteps:\n  - {id: a, type: utility.fail}\n",
            "is not of type 'integer'",
        ),
        ("name: x\nsteps:\n  - {id: a, type: utility.fail, on_failure: ignore}\n", "is not one of"),
    ],
)
def test_invalid_playbooks_are_refused_before_anything_runs(
    plugins: PluginManager, text: str, fragment: str
) -> None:
    assert fragment in fault(plugins, text).message


def test_every_fault_is_reported_not_only_the_first(plugins: PluginManager) -> None:
    error = fault(
        plugins, "name: x\nsteps:\n  - {id: a, type: nope.one}\n  - {id: b, type: nope.two}\n"
    )
    assert [e["path"] for e in error.details["errors"]] == ["steps[0].type", "steps[1].type"]
    assert "(and 1 more)" in error.message


def test_parameters_get_defaults_types_and_required_checks(plugins: PluginManager) -> None:
    playbook = parse(plugins, GOOD)
    assert coerce_parameters(playbook, {"who": "me"}) == {"who": "me", "count": 2, "gw": None}
    assert coerce_parameters(playbook, {"who": "me", "count": "7"}, from_text=True)["count"] == 7
    with pytest.raises(ValidationError, match="'who' is required"):
        coerce_parameters(playbook, {})
    with pytest.raises(ValidationError, match="unknown parameter 'colour'"):
        coerce_parameters(playbook, {"who": "me", "colour": "red"})
    with pytest.raises(ValidationError, match="not a valid integer"):
        coerce_parameters(playbook, {"who": "me", "count": "many"}, from_text=True)


def test_composed_schema_accepts_good_and_rejects_bad_step_parameters(
    plugins: PluginManager,
) -> None:
    from jsonschema import Draft202012Validator

    schema = playbook_schema(plugins.step_types.values())
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    from ignition_toolbox.core.yaml_loader import load_yaml

    assert not list(validator.iter_errors(load_yaml(GOOD).data))
    bad = {
        "name": "x",
        "steps": [{"id": "a", "type": "utility.sleep", "parameters": {"seconds": "soon"}}],
    }
    assert list(validator.iter_errors(bad))
    unknown = {"name": "x", "steps": [{"id": "a", "type": "utility.python"}]}
    assert list(validator.iter_errors(unknown))
