"""Secrets are opaque values with a destination (SR-20, SR-21): refused at validation wherever the
use is visible, refused at run time where it is built dynamically, and revealed only to the origins
a credential is bound to."""

from __future__ import annotations

import base64
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from ignition_toolbox.core import (
    Credential,
    Execution,
    MappingCredentials,
    PlaybookLibrary,
    PlaybookRoot,
    PluginManager,
    Secret,
    Secrets,
    SecretUseError,
    ValidationError,
    parse_origin,
)
from ignition_toolbox.core.origins import OriginError, special_address

from .test_executor import TestPlugin, probe

SECRET = "S3CR3T-plant-pw"
BOUND = "http://127.0.0.1:8088"


@pytest.fixture
def plugins() -> PluginManager:
    probe.__init__()
    return PluginManager(entry_points=False, extra=[("test", TestPlugin())])


@pytest.fixture
def creds() -> MappingCredentials:
    return MappingCredentials(
        {
            "plant-gw": Credential(
                "plant-gw",
                "admin",
                SECRET,
                BOUND,
                api_token="tok:S3CR3T-token",
                extra_origins=("https://idp.example.com",),
            )
        }
    )


def _playbook(step: str, parameters: str = "") -> str:
    return f"name: p\n{parameters}steps:\n  - {step}\n"


# -- refused when the playbook is validated or saved ---------------------------------------------

STATIC_REFUSALS = [
    "{id: a, type: utility.log, parameters: {message: \"{{ credential['plant-gw'].password }}\"}}",
    "{id: a, type: utility.log, parameters: {message: 'pw={{ credential.plant-gw.password }}'}}",
    "{id: a, type: utility.set_variable, parameters: {name: v, value: '{{ credential.plant-gw.api_token }}'}}",
    "{id: a, type: test.send, parameters: {url: \"http://x/?p={{ credential['plant-gw'].password }}\", secret: x}}",
    "{id: a, type: test.send, parameters: {url: u, secret: '{{ credential.plant-gw.password | reverse }}'}}",
    "{id: a, type: test.send, parameters: {url: u, secret: '{{ credential.plant-gw.password | upper }}'}}",
    "{id: a, type: test.send, parameters: {url: u, secret: '{{ credential.plant-gw.password[1:] }}'}}",
    "{id: a, type: test.send, parameters: {url: u, secret: '{{ credential.plant-gw.password | list }}'}}",
    "{id: a, type: test.send, parameters: {url: u, secret: \"{{ credential.plant-gw.password ~ '' }}\"}}",
    "{id: a, type: test.send, parameters: {url: u, secret: \"{{ credential.plant-gw.password.startswith('a') }}\"}}",
    "{id: a, type: test.send, parameters: {url: u, secret: \"{{ credential.plant-gw.password == 'x' }}\"}}",
    "{id: a, type: test.send, parameters: {url: u, secret: 'x{{ credential.plant-gw.password }}'}}",
    "{id: a, type: utility.log, when: \"{{ credential['plant-gw'].password | length > 3 }}\", parameters: {message: m}}",
    "{id: a, type: utility.log, when: \"credential['plant-gw'].password == 'x'\", parameters: {message: m}}",
    "{id: a, type: utility.log, loop: \"{{ credential['plant-gw'].password }}\", parameters: {message: m}}",
    "{id: a, type: utility.log, parameters: {message: '{{ parameter.token | upper }}'}}",
]


@pytest.mark.parametrize("step", STATIC_REFUSALS)
def test_a_secret_used_other_than_whole_is_refused_at_validation(
    plugins: PluginManager, step: str
) -> None:
    text = _playbook(step, "parameters:\n  - {name: token, secret: true}\n")
    with pytest.raises(ValidationError) as caught:
        plugins.parse_playbook(text)
    assert "is a secret" in caught.value.message


def test_a_secret_passed_whole_to_a_parameter_that_accepts_it_is_valid(
    plugins: PluginManager,
) -> None:
    plugins.parse_playbook(
        _playbook("{id: a, type: test.send, parameters: {url: u, secret: '{{ credential.plant-gw.password }}'}}")
    )
    plugins.parse_playbook(
        _playbook(
            "{id: a, type: test.send, parameters: {url: u, secret: '{{ parameter.token }}'}}",
            "parameters:\n  - {name: token, secret: true}\n",
        )
    )


# -- refused at run time where the template builds the reference ----------------------------------

RUNTIME_REFUSALS = [
    "{{ credential[parameter.gw]['pass' ~ 'word'] | reverse }}",
    "{{ credential[parameter.gw]['pass' ~ 'word'] | upper }}",
    "{{ credential[parameter.gw]['pass' ~ 'word'][1:] }}",
    "{{ credential[parameter.gw]['pass' ~ 'word'] | list }}",
    "{{ credential[parameter.gw]['pass' ~ 'word'] ~ '' }}",
    "{{ credential[parameter.gw]['pass' ~ 'word'] | join(',') }}",
    "{{ credential[parameter.gw]['api' ~ '_token'] == 'x' }}",
    "{{ credential[parameter.gw]['pass' ~ 'word'] | length }}",
    "{{ '%s' % credential[parameter.gw]['pass' ~ 'word'] }}",
    "{{ '{}'.format(credential[parameter.gw]['pass' ~ 'word']) }}",
]


@pytest.mark.parametrize("template", RUNTIME_REFUSALS)
async def test_a_secret_transformed_at_run_time_fails_the_step_and_leaks_nothing(
    plugins: PluginManager, creds: MappingCredentials, template: str
) -> None:
    events: list[Any] = []

    async def sink(event: Any) -> None:
        events.append(event)

    playbook = plugins.parse_playbook(
        "name: p\nparameters:\n  - {name: gw, type: credential}\nsteps:\n"
        f"  - {{id: a, type: utility.log, parameters: {{message: \"{template}\"}}}}\n"
    )
    ex = Execution(playbook, plugins=plugins, credentials=creds, credential_name="plant-gw", sink=sink)
    assert await ex.run() == "failed"
    error = ex.step_results[0].error or {}
    assert error["code"] == "validation_error"
    assert "is a secret" in error["message"] or "template failed" in error["message"]
    text = repr(events) + repr([r.describe() for r in ex.step_results])
    for form in (SECRET, SECRET[::-1], SECRET.upper(), SECRET[1:], "S3CR3T-token"):
        assert form not in text


async def test_a_secret_in_a_condition_at_run_time_fails_the_step(
    plugins: PluginManager, creds: MappingCredentials
) -> None:
    playbook = plugins.parse_playbook(
        "name: p\nparameters:\n  - {name: gw, type: credential}\nsteps:\n"
        "  - {id: a, type: utility.log, when: \"credential[parameter.gw]['pass' ~ 'word']\", "
        "parameters: {message: m}}\n"
    )
    ex = Execution(playbook, plugins=plugins, credentials=creds, credential_name="plant-gw")
    assert await ex.run() == "failed"
    assert "using it in a condition" in (ex.step_results[0].error or {})["message"]


# -- revealed only to the bound origins ------------------------------------------------------------


async def _send(
    plugins: PluginManager, creds: MappingCredentials, url: str, field: str = "password"
) -> Execution:
    playbook = plugins.parse_playbook(
        _playbook(
            f"{{id: a, type: test.send, parameters: {{url: '{url}', secret: '{{{{ credential[parameter.gw].{field} }}}}'}}}}",
            "parameters:\n  - {name: gw, type: credential}\n",
        )
    )
    ex = Execution(playbook, plugins=plugins, credentials=creds, parameters={"gw": "plant-gw"})
    await ex.run()
    return ex


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8089/x",  # another port
        "http://localhost:8088/x",  # another spelling of the host is another origin
        "https://127.0.0.1:8088/x",  # another scheme
        "http://127.0.0.1:8088@other.example/x",  # userinfo trick
        "http://other.example/x?p=http://127.0.0.1:8088",
        "http://127.0.0.1:8088\\@other.example/",
        "javascript:alert(1)",
    ],
)
async def test_a_credential_secret_is_refused_for_any_other_origin(
    plugins: PluginManager, creds: MappingCredentials, url: str
) -> None:
    ex = await _send(plugins, creds, url)
    assert ex.status == "failed"
    error = ex.step_results[0].error or {}
    assert error["code"] == "validation_error"
    assert "credential 'plant-gw'" in error["message"]
    assert "http://127.0.0.1:8088" in error["message"]
    assert probe.calls == []
    assert SECRET not in repr(ex.step_results[0].describe())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8088/login",
        "http://127.0.0.1:8088",
        "HTTP://127.0.0.1:8088/",
        "http://[::ffff:127.0.0.1]:8088/",
        "http://2130706433:8088/",
        "https://idp.example.com/login",
    ],
)
async def test_a_credential_secret_reaches_its_bound_origins(
    plugins: PluginManager, creds: MappingCredentials, url: str
) -> None:
    ex = await _send(plugins, creds, url)
    assert ex.status == "completed", ex.step_results[0].error
    assert probe.calls == [f"sent {len(SECRET)} to {url}"]
    assert ex.step_results[0].output == {"echo": "***"}


async def test_a_credential_without_a_gateway_is_bound_nowhere(plugins: PluginManager) -> None:
    creds = MappingCredentials({"plant-gw": Credential("plant-gw", "admin", SECRET)})
    ex = await _send(plugins, creds, "http://127.0.0.1:8088/")
    assert ex.status == "failed"
    assert "no origin" in (ex.step_results[0].error or {})["message"]


async def test_a_secret_passes_to_a_nested_playbook_only_as_a_secret_parameter(
    plugins: PluginManager, creds: MappingCredentials, tmp_path: Path
) -> None:
    (tmp_path / "child.yaml").write_text(
        _playbook(
            f"{{id: c, type: test.send, parameters: {{url: '{BOUND}/x', secret: '{{{{ parameter.pw }}}}'}}}}",
            "parameters:\n  - {name: pw, secret: true}\n",
        )
    )
    (tmp_path / "plain.yaml").write_text(
        _playbook("{id: c, type: utility.log, parameters: {message: m}}", "parameters:\n  - {name: pw}\n")
    )
    library = PlaybookLibrary([PlaybookRoot("lib", tmp_path)])
    for child, expected in (("child.yaml", "completed"), ("plain.yaml", "failed")):
        probe.__init__()
        playbook = plugins.parse_playbook(
            _playbook(
                f"{{id: n, type: playbook.run, parameters: {{playbook: {child}, parameters: {{pw: '{{{{ credential.plant-gw.password }}}}'}}}}}}"
            )
        )
        ex = Execution(playbook, plugins=plugins, credentials=creds, library=library)
        assert await ex.run() == expected, ex.step_results[0].error
        if expected == "failed":
            assert "not declared secret" in (ex.step_results[0].error or {})["message"]
            assert probe.calls == []
        else:
            assert probe.calls == [f"sent {len(SECRET)} to {BOUND}/x"]


async def test_a_secret_parameter_has_no_binding_and_cannot_be_transformed(
    plugins: PluginManager,
) -> None:
    playbook = plugins.parse_playbook(
        _playbook(
            "{id: a, type: test.send, parameters: {url: 'http://anywhere/x', secret: '{{ parameter.token }}'}}",
            "parameters:\n  - {name: token, secret: true}\n",
        )
    )
    ex = Execution(playbook, plugins=plugins, parameters={"token": "tok-1234567"})
    assert await ex.run() == "completed"
    assert probe.calls == ["sent 11 to http://anywhere/x"]


# -- the opaque value and redaction --------------------------------------------------------------


def test_a_secret_value_refuses_every_transformation() -> None:
    secret = Secret("hunter2-hunter2", "credential 'x' password")
    uses = [
        str,
        repr,
        bool,
        len,
        list,
        reversed,
        lambda s: s + "a",
        lambda s: "a" + s,
        lambda s: s[1:],
        lambda s: s == "a",
        lambda s: s.upper(),
        lambda s: f"{s}",
        lambda s: "x" in s,
        lambda s: s * 2,
    ]
    for use in uses:
        if use is repr:
            assert "hunter2" not in repr(secret)
            continue
        with pytest.raises(SecretUseError):
            use(secret)


def test_redaction_catches_encoded_forms_and_spares_ordinary_words() -> None:
    import json

    secrets = Secrets()
    long_secret = 'p@ss "word"/with+chars'
    secrets.add(long_secret, "admin")
    forms = [
        urllib.parse.quote(long_secret, safe=""),
        urllib.parse.quote_plus(long_secret),
        json.dumps(long_secret)[1:-1],
        base64.b64encode(f"user:{long_secret}".encode()).decode(),
        base64.b64encode(f"ab{long_secret}".encode()).decode(),
    ]
    for form in forms:
        redacted = secrets.redact(f"before {form} after")
        assert "***" in redacted and form not in redacted, form
    assert secrets.redact("administrator admin x=admin&") == "administrator *** x=***&"


def test_origins_are_parsed_strictly() -> None:
    assert str(parse_origin("http://0x7f.1:8088/x")) == "http://127.0.0.1:8088"
    assert str(parse_origin("http://[::FFFF:127.0.0.1]:8088")) == "http://127.0.0.1:8088"
    assert str(parse_origin("HTTPS://Bücher.Example/")) == "https://xn--bcher-kva.example"
    for bad in ("http://a@b/", "http://a\\@b/", "ftp://x/", "http://256.0.0.1/", "http:///x"):
        with pytest.raises(OriginError):
            parse_origin(bad)
    assert special_address(parse_origin("http://169.254.169.254").host) == "a link-local address"
    assert special_address(parse_origin("http://[fe80::1]").host) == "a link-local address"
    assert special_address(parse_origin("http://0.0.0.0:8088").host) == "the unspecified address"
    assert special_address(parse_origin("http://10.1.2.3").host) is None
