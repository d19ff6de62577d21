"""A start request's top-level gateway_url and credential_name fill the playbook's parameters of
those roles (a ``gateway_url`` string parameter, the credential parameter); a disagreement is a
validation error."""

from __future__ import annotations

from pathlib import Path

import pytest

from ignition_toolbox.core import Execution, PluginManager, ValidationError

DECLARING = """\
name: declares both
parameters:
  - {name: gateway_url, type: string, required: true, description: Gateway base URL}
  - {name: gateway, type: credential, required: true}
steps:
  - {id: s, type: utility.log, parameters: {message: "{{ parameter.gateway_url }} {{ parameter.gateway }}"}}
"""


@pytest.fixture(scope="module")
def plugins() -> PluginManager:
    return PluginManager(entry_points=False)


def make(plugins: PluginManager, tmp_path: Path, **kwargs: object) -> Execution:
    playbook = plugins.parse_playbook(DECLARING)
    return Execution(playbook, plugins=plugins, artifacts_dir=tmp_path / "a", **kwargs)  # type: ignore[arg-type]


def test_top_level_fields_satisfy_required_parameters(plugins, tmp_path) -> None:
    ex = make(plugins, tmp_path, gateway_url="http://gw:8088", credential_name="my-gateway")
    assert ex.parameters == {"gateway_url": "http://gw:8088", "gateway": "my-gateway"}
    assert ex.gateway_url == "http://gw:8088"


def test_agreeing_values_are_accepted(plugins, tmp_path) -> None:
    ex = make(
        plugins,
        tmp_path,
        parameters={"gateway_url": "http://gw:8088/", "gateway": "my-gateway"},
        gateway_url="http://gw:8088",
        credential_name="my-gateway",
    )
    assert ex.parameters["gateway_url"] == "http://gw:8088"


def test_a_parameter_alone_names_the_runs_gateway(plugins, tmp_path) -> None:
    ex = make(plugins, tmp_path, parameters={"gateway_url": "http://gw:8088"}, credential_name="c")
    assert ex.gateway_url == "http://gw:8088"


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"gateway_url": "http://other:8088"}, "gateway_url"),
        ({"gateway": "someone-else"}, "credential_name"),
    ],
)
def test_disagreeing_values_are_a_validation_error(plugins, tmp_path, parameters, field) -> None:
    with pytest.raises(ValidationError) as caught:
        make(
            plugins,
            tmp_path,
            parameters=parameters,
            gateway_url="http://gw:8088",
            credential_name="my-gateway",
        )
    assert caught.value.code == "validation_error"
    assert caught.value.details["field"] == field


def test_without_the_top_level_fields_required_parameters_are_still_required(
    plugins, tmp_path
) -> None:
    with pytest.raises(ValidationError, match="parameter 'gateway_url' is required"):
        make(plugins, tmp_path, credential_name="my-gateway")


def test_several_credential_parameters_get_the_name_only_where_left_out(plugins, tmp_path) -> None:
    playbook = plugins.parse_playbook(
        "name: two\nparameters:\n  - {name: source, type: credential}\n"
        "  - {name: target, type: credential}\n"
        "steps:\n  - {id: s, type: utility.log, parameters: {message: hi}}\n"
    )
    ex = Execution(
        playbook,
        plugins=plugins,
        parameters={"target": "other"},
        credential_name="mine",
        artifacts_dir=tmp_path / "a",
    )
    assert ex.parameters == {"source": "mine", "target": "other"}
