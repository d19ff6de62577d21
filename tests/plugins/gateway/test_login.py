"""``gateway.login``: the credential checked against the simulator up front, the session kept for
the following steps, and every refusal in words an integrator acts on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from ignition_toolbox.core import Credential, Execution, MappingCredentials, PluginManager
from ignition_toolbox.gateway.sim import SimGateway, create_app, make_modl
from ignition_toolbox.gateway.steps import STEP_TYPES

URL = "http://sim.test:8088"
LOGIN = next(t for t in STEP_TYPES if t.name == "gateway.login")


@pytest.fixture(scope="module")
def pm() -> PluginManager:
    return PluginManager()


@pytest.fixture
def sim() -> SimGateway:
    return SimGateway(restart_seconds=0.3, grace_seconds=0.05, restore_seconds=0.05)


def credential(**over: Any) -> MappingCredentials:
    values: dict[str, Any] = {
        "name": "gw",
        "username": "admin",
        "password": "password",
        "api_token": "itk:sim-secret",
        "gateway_url": URL,
        **over,
    }
    return MappingCredentials({"gw": Credential(**values)})


async def run(
    pm: PluginManager,
    sim: SimGateway | None,
    tmp_path: Path,
    steps: list[dict[str, Any]],
    *,
    credentials: MappingCredentials | None = None,
    credential_name: str | None = "gw",
    url: str = URL,
) -> Execution:
    doc = {"name": "login", "steps": steps}
    playbook = pm.parse_playbook(yaml.safe_dump(doc), source="login.yaml")
    options: dict[str, Any] = {"gateway_timeout": 3}
    if sim is not None:
        options["gateway_transport"] = httpx.ASGITransport(app=create_app(sim))
    ex = Execution(
        playbook,
        plugins=pm,
        gateway_url=url,
        credential_name=credential_name,
        credentials=credentials or credential(),
        artifacts_dir=tmp_path / "art",
        options=options,
    )
    await ex.run()
    return ex


LOGIN_STEP = {"id": "login", "name": "Login to Gateway", "type": "gateway.login"}


async def login(pm: PluginManager, sim: SimGateway | None, tmp_path: Path, **kw: Any) -> Any:
    parameters = kw.pop("parameters", None)
    step = {**LOGIN_STEP, **({"parameters": parameters} if parameters else {})}
    ex = await run(pm, sim, tmp_path, [step], **kw)
    result = ex.step_results[0]
    if result.status == "completed":
        Draft202012Validator(LOGIN.output).validate(result.output)
    return result


def test_the_step_is_schema_declared_and_registered(pm: PluginManager) -> None:
    assert pm.step_types["gateway.login"] is LOGIN
    Draft202012Validator.check_schema(LOGIN.parameters)
    assert LOGIN.parameters["additionalProperties"] is False
    assert set(LOGIN.parameters["properties"]) == {"method", "gateway_url", "credential"}
    assert LOGIN.resources == ("gateway",)


async def test_token_and_password_both_checked(pm, sim, tmp_path) -> None:
    result = await login(pm, sim, tmp_path)
    assert result.status == "completed", result.error
    out = result.output
    assert out["method"] == "token+session"
    assert (out["user"], out["username"], out["token_name"]) == ("admin", "admin", "itk")
    assert out["roles"] == ["Administrator"]
    assert "Administrator" in out["security_levels"]
    assert out["gateway"]["ignitionVersion"].startswith("8.3.6")
    assert out["credential"] == "gw" and out["url"] == URL
    assert "sim-secret" not in str(out)


async def test_a_token_only_credential_is_proven_with_an_authenticated_read(
    pm, sim, tmp_path
) -> None:
    result = await login(pm, sim, tmp_path, credentials=credential(username="", password=""))
    assert result.status == "completed", result.error
    assert result.output["method"] == "token"
    assert result.output["user"] == "itk" and result.output["username"] is None
    assert len(sim.sessions) == 0


async def test_a_password_session_is_kept_for_the_following_steps(pm, sim, tmp_path) -> None:
    modl = tmp_path / "m.modl"
    make_modl("com.example.session", "Session", "1.0.0", signed=True, path=modl)
    ex = await run(
        pm,
        sim,
        tmp_path,
        [
            LOGIN_STEP,
            {"id": "list", "type": "gateway.list_modules"},
            {
                "id": "install",
                "type": "gateway.install_module",
                "parameters": {"path": str(modl), "accept_certificate": True},
            },
        ],
        credentials=credential(api_token=None),
    )
    assert ex.status == "completed", [r.error for r in ex.step_results]
    assert ex.step_results[0].output["method"] == "session"
    assert ex.step_results[0].output["user"] == "admin"
    # One login for the whole run: the following steps used its session (and CSRF token).
    assert len(sim.sessions) == 1
    assert "com.example.session" in sim.sync().modules


async def test_a_later_token_mutation_works_after_the_web_login(pm, sim, tmp_path) -> None:
    modl = tmp_path / "m.modl"
    make_modl("com.example.both", "Both", "1.0.0", signed=True, path=modl)
    ex = await run(
        pm,
        sim,
        tmp_path,
        [
            LOGIN_STEP,
            {
                "id": "install",
                "type": "gateway.install_module",
                "parameters": {"path": str(modl), "accept_certificate": True},
            },
        ],
    )
    assert ex.status == "completed", [r.error for r in ex.step_results]


async def test_a_wrong_token_is_named(pm, sim, tmp_path) -> None:
    result = await login(
        pm, sim, tmp_path, credentials=credential(api_token="itk:wrong", password="")
    )
    assert result.status == "failed"
    assert result.error["code"] == "unauthorized"
    assert "Gateway rejected API token 'itk' (401" in result.error["message"]
    assert "check the token name and secret" in result.error["message"]


async def test_a_token_without_the_security_level_is_named(pm, sim, tmp_path) -> None:
    sim.add_token("weak", "weak-secret", levels=["Operator"])
    result = await login(
        pm, sim, tmp_path, credentials=credential(api_token="weak:weak-secret", password="")
    )
    assert result.status == "failed"
    assert result.error["code"] == "permission_denied"
    assert "API token 'weak' lacks permission" in result.error["message"]
    assert "Gateway Read permission" in result.error["message"]


async def test_a_wrong_password_is_named(pm, sim, tmp_path) -> None:
    result = await login(pm, sim, tmp_path, credentials=credential(api_token=None, password="nope"))
    assert result.status == "failed"
    assert result.error["code"] == "unauthorized"
    assert result.error["message"] == (
        "Gateway login failed for user 'admin': wrong username or password"
    )
    assert "nope" not in str(result.error)


async def test_a_gateway_that_is_down_is_named(pm, tmp_path) -> None:
    url = "http://127.0.0.1:9"  # the discard port: nothing listens
    result = await login(pm, None, tmp_path, url=url, credentials=credential(gateway_url=url))
    assert result.status == "failed"
    assert result.error["details"]["reason"] == "unreachable"
    assert result.error["message"].startswith(f"Cannot log in: Cannot reach gateway {url}")
    assert "is the gateway running" in result.error["message"]


async def test_without_a_credential_the_step_says_what_it_needs(pm, sim, tmp_path) -> None:
    result = await login(pm, sim, tmp_path, credential_name=None)
    assert result.status == "failed" and result.error["code"] == "validation_error"
    assert "gateway.login needs a credential" in result.error["message"]


async def test_a_method_the_credential_cannot_serve_is_refused(pm, sim, tmp_path) -> None:
    result = await login(
        pm,
        sim,
        tmp_path,
        parameters={"method": "token"},
        credentials=credential(api_token=None),
    )
    assert result.status == "failed" and result.error["code"] == "validation_error"
    assert "has no API token" in result.error["message"]


async def test_secrets_never_go_to_a_gateway_the_credential_is_not_bound_to(
    pm, sim, tmp_path
) -> None:
    result = await login(pm, sim, tmp_path, credentials=credential(gateway_url="http://elsewhere"))
    assert result.status == "failed"
    assert "http://elsewhere" in result.error["message"]
    assert len(sim.sessions) == 0
