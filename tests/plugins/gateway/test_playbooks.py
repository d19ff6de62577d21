"""The shipped gateway playbooks validate and run end to end against the simulator."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from ignition_toolbox.core import Credential, Execution, MappingCredentials, PluginManager
from ignition_toolbox.gateway.sim import (
    SimGateway,
    create_app,
    make_gwbk,
    make_modl,
    make_project_zip,
)
from ignition_toolbox.gateway.sim import running as running_sim

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks" / "gateway"
URL = "http://sim.test:8088"


@pytest.fixture(scope="module")
def pm() -> PluginManager:
    return PluginManager()


@pytest.fixture
def sim() -> SimGateway:
    return SimGateway(restart_seconds=0.4, grace_seconds=0.05, restore_seconds=0.05)


def credential(url: str = URL, **over: Any) -> MappingCredentials:
    values = {
        "name": "gw",
        "username": "admin",
        "password": "password",
        "api_token": "itk:sim-secret",
        "gateway_url": url,
        **over,
    }
    return MappingCredentials({"gw": Credential(**values)})


async def run(
    pm: PluginManager,
    name: str,
    sim: SimGateway | None,
    tmp_path: Path,
    parameters: dict[str, Any] | None = None,
    *,
    url: str = URL,
    credential_name: str | None = "gw",
    credentials: MappingCredentials | None = None,
) -> Execution:
    playbook = pm.load_playbook_file(PLAYBOOKS / name)
    options = {"gateway_transport": httpx.ASGITransport(app=create_app(sim))} if sim else {}
    ex = Execution(
        playbook,
        plugins=pm,
        parameters=parameters or {},
        gateway_url=url,
        credential_name=credential_name,
        credentials=credentials or credential(url),
        artifacts_dir=tmp_path / "artifacts",
        options=options,
    )
    await ex.run()
    return ex


def by_id(ex: Execution) -> dict[str, Any]:
    return {r.step_id: r for r in ex.step_results}


def explain(ex: Execution) -> str:
    return "; ".join(f"{r.step_id}={r.status} {r.error or ''}" for r in ex.step_results)


@pytest.mark.parametrize("path", sorted(PLAYBOOKS.glob("*.yaml")), ids=lambda p: p.name)
def test_playbook_validates(pm: PluginManager, path: Path) -> None:
    assert pm.load_playbook_file(path).steps


def test_library_has_the_promised_playbooks() -> None:
    names = {p.stem for p in PLAYBOOKS.glob("*.yaml")}
    assert {
        "health_check",
        "module_install",
        "module_upgrade",
        "module_uninstall",
        "backup",
        "restore",
        "restart",
        "project_export",
        "project_import",
        "trial_reset",
        "info_check",
    } <= names


async def test_health_check(pm, sim, tmp_path) -> None:
    ex = await run(pm, "health_check.yaml", sim, tmp_path)
    assert ex.status == "completed", explain(ex)
    assert by_id(ex)["info"].output["full_version"] == "8.3.6 (b2026042713)"


async def test_health_check_fails_on_quarantine(pm, sim, tmp_path) -> None:
    sim.quarantined["com.x"] = {"id": "com.x", "name": "X", "version": "1", "reason": "bad"}
    ex = await run(pm, "health_check.yaml", sim, tmp_path)
    assert ex.status == "failed"
    assert "com.x" in by_id(ex)["no_quarantine"].error["message"]


@pytest.mark.parametrize("version", ["8.3.6", "8.1.44"])
async def test_info_check_needs_no_credential(pm, tmp_path, version) -> None:
    sim = SimGateway(version=version)
    ex = await run(
        pm,
        "info_check.yaml",
        sim,
        tmp_path,
        credential_name=None,
        credentials=MappingCredentials({}),
    )
    assert ex.status == "completed", explain(ex)
    steps = by_id(ex)
    assert steps["info"].output["version"] == version
    assert steps["trial"].status == ("completed" if version.startswith("8.3") else "skipped")


async def test_module_install(pm, sim, tmp_path) -> None:
    modl = tmp_path / "a.modl"
    make_modl("com.example.a", "A", "1.0.0", signed=True, eula=True, path=modl)
    ex = await run(pm, "module_install.yaml", sim, tmp_path, {"module_file": str(modl)})
    assert ex.status == "completed", explain(ex)
    assert sim.sync().modules["com.example.a"].state == "ACTIVE"


async def _preinstall(sim: SimGateway, version: str) -> None:
    sim.upload_module(make_modl("com.example.up", "Up", version, signed=True), "up.modl")
    sim.accept_certificate("com.example.up")
    sim.install_module("com.example.up")
    sim.restart()
    sim.clock.advance(1)
    sim.sync()


async def test_module_upgrade(pm, sim, tmp_path) -> None:
    await _preinstall(sim, "1.0.0")
    modl = tmp_path / "up-1.1.0.modl"
    make_modl("com.example.up", "Up", "1.1.0", signed=True, eula=True, path=modl)
    ex = await run(pm, "module_upgrade.yaml", sim, tmp_path, {"module_path": str(modl)})
    assert ex.status == "completed", explain(ex)
    steps = by_id(ex)
    assert steps["install"].output["action"] == "upgrade"
    assert steps["install"].output["previous_version"] == "1.0.0"
    assert steps["verify"].output == {
        "module_id": "com.example.up",
        "present": True,
        "state": "ACTIVE",
        "version": "1.1.0",
        "waited_seconds": steps["verify"].output["waited_seconds"],
    }
    backup = Path(steps["backup"].output["path"])
    assert backup.is_file() and "gateway.xml" in zipfile.ZipFile(backup).namelist()


async def test_module_upgrade_refuses_too_new_module_in_words(pm, sim, tmp_path) -> None:
    modl = tmp_path / "new.modl"
    make_modl("com.example.new", "New", "2.0.0", required="8.3.9", signed=True, path=modl)
    ex = await run(pm, "module_upgrade.yaml", sim, tmp_path, {"module_path": str(modl)})
    assert ex.status == "failed"
    error = by_id(ex)["upload"].error
    assert (
        error["message"]
        == "Module com.example.new 2.0.0 requires Ignition 8.3.9, gateway runs 8.3.6"
    )


async def test_module_uninstall(pm, sim, tmp_path) -> None:
    ex = await run(
        pm, "module_uninstall.yaml", sim, tmp_path, {"module_id": "com.inductiveautomation.webdev"}
    )
    assert ex.status == "completed", explain(ex)
    assert "com.inductiveautomation.webdev" not in sim.sync().modules


async def test_backup_is_an_artifact(pm, sim, tmp_path) -> None:
    ex = await run(pm, "backup.yaml", sim, tmp_path)
    assert ex.status == "completed", explain(ex)
    out = by_id(ex)["backup"].output
    assert out["filename"].endswith(".gwbk") and Path(out["path"]).stat().st_size == out["size"]


async def test_restore(pm, sim, tmp_path) -> None:
    source = SimGateway()
    source.import_project("from_backup", make_project_zip("from_backup"))
    gwbk = tmp_path / "x.gwbk"
    make_gwbk(source, path=gwbk)
    ex = await run(pm, "restore.yaml", sim, tmp_path, {"backup_file": str(gwbk)})
    assert ex.status == "completed", explain(ex)
    assert by_id(ex)["projects"].output["names"] == ["from_backup"]


async def test_restart_applies_pending_changes(pm, sim, tmp_path) -> None:
    sim.uninstall_modules(["com.inductiveautomation.opcua"])
    ex = await run(pm, "restart.yaml", sim, tmp_path)
    assert ex.status == "completed", explain(ex)
    assert sim.restarts == 1 and "com.inductiveautomation.opcua" not in sim.sync().modules


async def test_project_export_and_import(pm, sim, tmp_path) -> None:
    sim.import_project("alpha", make_project_zip("alpha", title="Alpha"))
    ex = await run(pm, "project_export.yaml", sim, tmp_path, {"project": "alpha"})
    assert ex.status == "completed", explain(ex)
    exported = Path(by_id(ex)["export"].output["path"])
    assert "project.json" in zipfile.ZipFile(io.BytesIO(exported.read_bytes())).namelist()
    ex = await run(
        pm, "project_import.yaml", sim, tmp_path, {"project_file": str(exported), "project": "beta"}
    )
    assert ex.status == "completed", explain(ex)
    again = await run(
        pm, "project_import.yaml", sim, tmp_path, {"project_file": str(exported), "project": "beta"}
    )
    assert again.status == "failed"
    assert "overwrite: true" in by_id(again)["import"].error["message"]


async def test_project_export_missing_project(pm, sim, tmp_path) -> None:
    ex = await run(pm, "project_export.yaml", sim, tmp_path, {"project": "ghost"})
    assert (
        ex.status == "failed" and "No project named ghost" in by_id(ex)["exists"].error["message"]
    )


async def test_trial_reset(pm, sim, tmp_path) -> None:
    sim.expire_trial()
    ex = await run(pm, "trial_reset.yaml", sim, tmp_path)
    assert ex.status == "completed", explain(ex)
    assert by_id(ex)["reset"].output["reset"] is True and sim.trial_resets == 1


async def test_trial_reset_skips_when_not_expired(pm, sim, tmp_path) -> None:
    ex = await run(pm, "trial_reset.yaml", sim, tmp_path)
    assert ex.status == "completed", explain(ex)
    assert by_id(ex)["reset"].output["reset"] is False and sim.trial_resets == 0


async def test_module_upgrade_over_a_real_port(pm, tmp_path) -> None:
    gw = SimGateway(restart_seconds=0.6, grace_seconds=0.1, down_seconds=0.2)
    await _preinstall(gw, "1.0.0")
    modl = tmp_path / "up.modl"
    make_modl("com.example.up", "Up", "1.2.0", signed=True, path=modl)
    async with running_sim(gw) as server:
        ex = await run(
            pm, "module_upgrade.yaml", None, tmp_path, {"module_path": str(modl)}, url=server.url
        )
    assert ex.status == "completed", explain(ex)
    assert by_id(ex)["verify"].output["version"] == "1.2.0"
    assert by_id(ex)["restart"].output["state"] == "RUNNING"
