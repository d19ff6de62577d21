"""Every gateway step type: declared schemas, success outputs matching them, and failures in words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from ignition_toolbox.core import Credential, Execution, MappingCredentials, PluginManager
from ignition_toolbox.gateway.sim import SimGateway, create_app, make_modl, make_project_zip
from ignition_toolbox.gateway.steps import STEP_TYPES

URL = "http://sim.test:8088"
EXPECTED = {
    "gateway.login",
    "gateway.ping",
    "gateway.info",
    "gateway.wait_for_ready",
    "gateway.list_modules",
    "gateway.module_info",
    "gateway.upload_module",
    "gateway.install_module",
    "gateway.uninstall_module",
    "gateway.wait_for_module",
    "gateway.restart",
    "gateway.backup",
    "gateway.restore",
    "gateway.list_projects",
    "gateway.export_project",
    "gateway.import_project",
    "gateway.scan",
    "gateway.export_tags",
    "gateway.import_tags",
    "gateway.trial_status",
    "gateway.reset_trial",
    "gateway.request",
}
TYPES = {t.name: t for t in STEP_TYPES}


@pytest.fixture(scope="module")
def pm() -> PluginManager:
    return PluginManager()


@pytest.fixture
def sim() -> SimGateway:
    return SimGateway(restart_seconds=0.3, grace_seconds=0.05, restore_seconds=0.05)


def creds(**extra: Credential) -> MappingCredentials:
    base = Credential(
        name="gw",
        username="admin",
        password="password",
        api_token="itk:sim-secret",
        gateway_url=URL,
    )
    return MappingCredentials({"gw": base, **extra})


async def step(
    pm: PluginManager,
    sim: SimGateway,
    tmp_path: Path,
    type_: str,
    parameters: dict[str, Any] | None = None,
    *,
    credentials: MappingCredentials | None = None,
    credential_name: str | None = "gw",
    timeout: float | None = None,
) -> Any:
    doc: dict[str, Any] = {
        "name": "one step",
        "steps": [{"id": "s", "type": type_, "parameters": parameters or {}}],
    }
    if timeout:
        doc["steps"][0]["timeout"] = timeout
    playbook = pm.parse_playbook(yaml.safe_dump(doc), source="t.yaml")
    ex = Execution(
        playbook,
        plugins=pm,
        gateway_url=URL,
        credential_name=credential_name,
        credentials=credentials or creds(),
        artifacts_dir=tmp_path / "art",
        options={"gateway_transport": httpx.ASGITransport(app=create_app(sim))},
    )
    await ex.run()
    result = ex.step_results[0]
    if result.status == "completed":
        Draft202012Validator(TYPES[type_].output).validate(result.output)
    return result


def test_all_promised_step_types_are_registered(pm: PluginManager) -> None:
    assert set(pm.step_types) >= EXPECTED
    assert {t.name for t in STEP_TYPES} == EXPECTED


@pytest.mark.parametrize("step_type", STEP_TYPES, ids=lambda t: t.name)
def test_schemas_are_closed_draft_2020_12(step_type) -> None:
    Draft202012Validator.check_schema(step_type.parameters)
    Draft202012Validator.check_schema(step_type.output)
    assert step_type.parameters["additionalProperties"] is False
    assert step_type.summary and step_type.output["type"] == "object"


def test_unknown_parameter_is_a_validation_error(pm: PluginManager) -> None:
    doc = {"name": "x", "steps": [{"id": "s", "type": "gateway.ping", "parameters": {"bogus": 1}}]}
    with pytest.raises(Exception, match="bogus"):
        pm.parse_playbook(yaml.safe_dump(doc), source="x.yaml")


async def test_ping_info_ready(pm, sim, tmp_path) -> None:
    assert (await step(pm, sim, tmp_path, "gateway.ping")).output["state"] == "RUNNING"
    info = (await step(pm, sim, tmp_path, "gateway.info")).output
    assert info["gateway_info"]["ignitionVersion"] == "8.3.6 (b2026042713)"
    ready = await step(pm, sim, tmp_path, "gateway.wait_for_ready", {"timeout": 5})
    assert ready.output["state"] == "RUNNING"


async def test_wait_for_ready_times_out_with_last_state(pm, sim, tmp_path) -> None:
    sim.faults.force_503_until = sim.now() + 60
    result = await step(
        pm, sim, tmp_path, "gateway.wait_for_ready", {"timeout": 0.5, "interval": 0.1}
    )
    assert result.status == "failed" and result.error["code"] == "timeout_error"
    assert "was not ready after 0.5 s (last state: RESTARTING)" in result.error["message"]


async def test_restart_waits(pm, sim, tmp_path) -> None:
    result = await step(pm, sim, tmp_path, "gateway.restart", {"interval": 0.1})
    assert result.output["state"] == "RUNNING" and result.output["waited"] is True
    assert sim.restarts == 1


async def test_module_steps(pm, sim, tmp_path) -> None:
    path = tmp_path / "m.modl"
    make_modl("com.example.m", "M", "3.1.0", signed=True, eula=True, path=path)
    info = await step(pm, sim, tmp_path, "gateway.module_info", {"path": str(path)})
    assert info.output["id"] == "com.example.m" and info.output["has_eula"] is True
    refused = await step(pm, sim, tmp_path, "gateway.install_module", {"path": str(path)})
    assert refused.status == "failed"
    assert (
        "certificate that must be accepted first: set accept_certificate: true"
        in refused.error["message"]
    )
    installed = await step(
        pm,
        sim,
        tmp_path,
        "gateway.install_module",
        {"path": str(path), "accept_certificate": True, "accept_eula": True},
    )
    assert installed.output["action"] == "install" and installed.output["restart_required"]
    listed = await step(pm, sim, tmp_path, "gateway.list_modules")
    assert "com.example.m" in listed.output["ids"]
    sim.restart()
    waited = await step(
        pm,
        sim,
        tmp_path,
        "gateway.wait_for_module",
        {"module_id": "com.example.m", "version": "3.1.0", "timeout": 10, "interval": 0.1},
    )
    assert waited.output["state"] == "ACTIVE"
    gone = await step(pm, sim, tmp_path, "gateway.uninstall_module", {"module_id": "com.example.m"})
    assert gone.output["uninstalled"] is True


async def test_upload_then_install_by_id(pm, sim, tmp_path) -> None:
    path = tmp_path / "m.modl"
    make_modl("com.example.id", signed=True, path=path)
    up = await step(
        pm, sim, tmp_path, "gateway.upload_module", {"path": str(path), "accept_certificate": True}
    )
    assert up.output["cert_accepted"] is True
    inst = await step(pm, sim, tmp_path, "gateway.install_module", {"module_id": "com.example.id"})
    assert inst.status == "completed", inst.error


async def test_malformed_module_fails_in_words(pm, sim, tmp_path) -> None:
    path = tmp_path / "bad.modl"
    path.write_bytes(b"not a zip")
    result = await step(pm, sim, tmp_path, "gateway.upload_module", {"path": str(path)})
    assert (
        result.error["message"]
        == "bad.modl is not a usable Ignition module: The module file is not a zip archive"
    )
    missing = await step(pm, sim, tmp_path, "gateway.module_info", {"path": str(tmp_path / "no")})
    assert "does not exist" in missing.error["message"]


async def test_unsigned_module_refused_in_words(pm, sim, tmp_path) -> None:
    path = tmp_path / "u.modl"
    make_modl("com.example.u", path=path)
    result = await step(pm, sim, tmp_path, "gateway.upload_module", {"path": str(path)})
    assert "unsigned and the gateway does not allow unsigned modules" in result.error["message"]


async def test_fail_next_upload_reported(pm, sim, tmp_path) -> None:
    path = tmp_path / "m.modl"
    make_modl(signed=True, path=path)
    sim.faults.fail_next_upload = "disk full"
    result = await step(pm, sim, tmp_path, "gateway.upload_module", {"path": str(path)})
    assert "Upload of m.modl (com.example.sim 1.0.0) failed" in result.error["message"]
    assert "disk full" in result.error["message"]


async def test_wait_for_module_fails_fast_on_quarantine(pm, sim, tmp_path) -> None:
    path = tmp_path / "q.modl"
    make_modl("com.example.q", signed=True, description="SIM:FAULT", path=path)
    await step(
        pm, sim, tmp_path, "gateway.install_module", {"path": str(path), "accept_certificate": True}
    )
    sim.restart()
    result = await step(
        pm,
        sim,
        tmp_path,
        "gateway.wait_for_module",
        {"module_id": "com.example.q", "timeout": 10, "interval": 0.1},
    )
    assert result.status == "failed"
    assert "com.example.q 1.0.0 is quarantined: Module failed to start" in result.error["message"]


async def test_wait_for_module_timeout(pm, sim, tmp_path) -> None:
    result = await step(
        pm,
        sim,
        tmp_path,
        "gateway.wait_for_module",
        {"module_id": "com.example.never", "timeout": 0.3, "interval": 0.1},
    )
    assert result.error["code"] == "timeout_error"
    assert "did not become ACTIVE within 0.3 s (now: not installed)" in result.error["message"]


async def test_uninstall_unknown_module(pm, sim, tmp_path) -> None:
    result = await step(pm, sim, tmp_path, "gateway.uninstall_module", {"module_id": "com.none"})
    assert result.error["message"].startswith("Module com.none is not installed on")


async def test_project_steps_and_scan(pm, sim, tmp_path) -> None:
    zip_path = tmp_path / "p.zip"
    zip_path.write_bytes(make_project_zip("p"))
    imported = await step(pm, sim, tmp_path, "gateway.import_project", {"path": str(zip_path)})
    assert imported.output == {"name": "p", "replaced": False, "size": zip_path.stat().st_size}
    listed = await step(pm, sim, tmp_path, "gateway.list_projects")
    assert listed.output["names"] == ["p"]
    exported = await step(pm, sim, tmp_path, "gateway.export_project", {"name": "p"})
    assert Path(exported.output["path"]).is_file()
    scanned = await step(pm, sim, tmp_path, "gateway.scan")
    assert scanned.output["projects"]["scanActive"] is False and scanned.output["config"]
    missing = await step(pm, sim, tmp_path, "gateway.export_project", {"name": "ghost"})
    assert "Project ghost not found" in missing.error["message"]


async def test_tag_steps(pm, sim, tmp_path) -> None:
    exported = await step(pm, sim, tmp_path, "gateway.export_tags", {"path": "Line"})
    assert exported.output["count"] == 2 and Path(exported.output["path"]).is_file()
    tags = {"tags": [{"name": "Extra", "tagType": "AtomicTag", "value": 1}]}
    imported = await step(pm, sim, tmp_path, "gateway.import_tags", {"tags": tags, "path": "Line"})
    assert imported.output["result"]["created"] == 1
    tag_file = tmp_path / "tags.json"
    tag_file.write_text(json.dumps(tags))
    conflict = await step(
        pm, sim, tmp_path, "gateway.import_tags", {"file": str(tag_file), "path": "Line"}
    )
    assert "already exists (collisionPolicy=Abort)" in conflict.error["message"]


async def test_trial_steps(pm, sim, tmp_path) -> None:
    status = await step(pm, sim, tmp_path, "gateway.trial_status", credential_name=None)
    assert status.output["expired"] is False
    forced = await step(pm, sim, tmp_path, "gateway.reset_trial", {"only_if_expired": False})
    assert forced.error["message"].startswith("The gateway resets a trial only once it has expired")
    sim.expire_trial()
    token_only = creds(gw=Credential(name="gw", api_token="itk:sim-secret", gateway_url=URL))
    no_login = await step(pm, sim, tmp_path, "gateway.reset_trial", credentials=token_only)
    assert "needs a gateway web login" in no_login.error["message"]
    reset = await step(pm, sim, tmp_path, "gateway.reset_trial")
    assert reset.output["reset"] is True and reset.output["seconds_left"] == 7200


async def test_request_step(pm, sim, tmp_path) -> None:
    wrote = await step(
        pm,
        sim,
        tmp_path,
        "gateway.request",
        {
            "method": "POST",
            "path": "/system/webdev/__sim__/tags",
            "auth": "none",
            "json": {"[default]Line/Start": True},
        },
    )
    assert wrote.output["json"]["[default]Line/Start"] is True
    got = await step(pm, sim, tmp_path, "gateway.request", {"path": "/data/api/v1/overview"})
    assert got.output["status"] == 200 and got.output["json"]["license"]["state"] == "trial"
    expect = await step(
        pm, sim, tmp_path, "gateway.request", {"path": "/data/api/v1/nope", "expect_status": 404}
    )
    assert expect.status == "completed"
    denied = await step(
        pm, sim, tmp_path, "gateway.request", {"path": "/data/api/v1/nope", "expect_status": [200]}
    )
    assert "answered 404, expected 200" in denied.error["message"]


async def test_backup_and_restore_steps(pm, sim, tmp_path) -> None:
    sim.import_project("keep", make_project_zip("keep"))
    backup = await step(pm, sim, tmp_path, "gateway.backup", {"type": "roaming"})
    del sim.projects["keep"]
    restored = await step(
        pm, sim, tmp_path, "gateway.restore", {"path": backup.output["path"], "interval": 0.1}
    )
    assert restored.output["state"] == "RUNNING"
    assert "keep" in sim.sync().projects


async def test_bad_token_fails_in_words_without_leaking(pm, sim, tmp_path) -> None:
    bad = creds(gw=Credential(name="gw", api_token="itk:S3CR3T-x", gateway_url=URL))
    result = await step(pm, sim, tmp_path, "gateway.list_modules", credentials=bad)
    assert result.error["code"] == "unauthorized"
    assert "rejected API token 'itk'" in result.error["message"]
    assert "S3CR3T" not in json.dumps(result.error)


async def test_step_credential_and_url_override(pm, sim, tmp_path) -> None:
    other = SimGateway(name="Other")
    other.add_token("ops", "ops-secret")
    transports = {"http://a.test": create_app(sim), "http://b.test": create_app(other)}
    both = MappingCredentials(
        {
            "gw": Credential(name="gw", api_token="itk:sim-secret"),
            "ops": Credential(name="ops", api_token="ops:ops-secret", gateway_url="http://b.test"),
        }
    )
    doc = {
        "name": "two",
        "steps": [
            {"id": "a", "type": "gateway.info"},
            {"id": "b", "type": "gateway.info", "parameters": {"credential": "ops"}},
            {"id": "c", "type": "gateway.ping", "parameters": {"gateway_url": "http://b.test"}},
        ],
    }
    ex = Execution(
        pm.parse_playbook(yaml.safe_dump(doc), source="t.yaml"),
        plugins=pm,
        gateway_url="http://a.test",
        credential_name="gw",
        credentials=both,
        artifacts_dir=tmp_path,
        options={"gateway_transport": lambda url: httpx.ASGITransport(app=transports[url])},
    )
    assert await ex.run() == "completed"
    a, b, c = ex.step_results
    assert a.output["name"] == "Ignition-sim" and b.output["name"] == "Other"
    assert c.output["url"] == "http://b.test"


async def test_no_gateway_url_is_a_clear_error(pm, sim, tmp_path) -> None:
    doc = {"name": "x", "steps": [{"id": "s", "type": "gateway.ping"}]}
    ex = Execution(
        pm.parse_playbook(yaml.safe_dump(doc), source="t.yaml"), plugins=pm, artifacts_dir=tmp_path
    )
    await ex.run()
    assert ex.step_results[0].error["message"].startswith("No gateway URL")


async def test_step_timeout_reaches_a_slow_gateway(pm, sim, tmp_path) -> None:
    sim.faults.slow_seconds = 5
    result = await step(pm, sim, tmp_path, "gateway.ping", timeout=0.3)
    assert result.error["code"] == "timeout_error"
