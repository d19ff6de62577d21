"""The simulated gateway web UI (IGNITION.md §4e) driven by a browser playbook: install a module."""

from __future__ import annotations

import pytest

from ignition_toolbox.gateway.sim import make_modl

from .conftest import run_shipped

pytestmark = pytest.mark.browser


async def test_module_install_through_the_web_ui(
    every_plugin,
    library,
    sim,
    tmp_path,
):
    modl = tmp_path / "uploads" / "widgets-1.2.0.modl"
    modl.parent.mkdir()
    make_modl("com.example.widgets", "Widgets", "1.2.0", signed=True, path=modl)
    restarts = sim.gateway.restarts
    run = await run_shipped(
        every_plugin,
        library,
        sim,
        tmp_path,
        "perspective/webui_module_install.yaml",
        parameters={"module_file": str(modl), "module_name": "Widgets"},
        credential_name="admin",
    )
    assert run.status == "completed", run.execution.error
    assert sim.gateway.restarts == restarts + 1
    module = sim.gateway.modules["com.example.widgets"]
    assert module.state == "ACTIVE" and module.version == "1.2.0"
    assert run.output("login")["user"] == "admin"


async def test_licensing_reset_backup_download_and_api_key_pages(every_plugin, sim, tmp_path):
    from .conftest import run_steps

    sim.gateway.expire_trial()
    url = sim.url
    run = await run_steps(
        every_plugin,
        sim,
        tmp_path,
        [
            {
                "id": "licensing",
                "type": "browser.navigate",
                "parameters": {"url": f"{url}/app/platform/system/licensing"},
            },
            {
                "id": "login",
                "type": "perspective.login",
                "parameters": {"credential": "admin", "wait_ready": False},
            },
            {
                "id": "reset",
                "type": "browser.click",
                "parameters": {"selector": "button[data-label='Reset']"},
            },
            {
                "id": "reset_done",
                "type": "browser.verify_text",
                "parameters": {
                    "selector": ".trial-reset-status",
                    "expected": "Trial reset",
                    "match": "contains",
                },
            },
            {
                "id": "backup_page",
                "type": "browser.navigate",
                "parameters": {"url": f"{url}/app/platform/system/backup-restore/backup"},
            },
            {
                "id": "backup",
                "type": "browser.download",
                "parameters": {"selector": "text=Download Backup"},
            },
            {
                "id": "keys_page",
                "type": "browser.navigate",
                "parameters": {"url": f"{url}/app/platform/security/api-keys"},
            },
            {
                "id": "create",
                "type": "browser.click",
                "parameters": {"selector": "button[data-label='Create API Key']"},
            },
            {"id": "next", "type": "browser.click", "parameters": {"selector": "text=Next"}},
            {
                "id": "name",
                "type": "browser.fill",
                "parameters": {"selector": "#name-input", "value": "ci-key"},
            },
            {
                "id": "submit",
                "type": "browser.click",
                "parameters": {"selector": ".create-key-panel button[data-label='Create API Key']"},
            },
            {
                "id": "key",
                "type": "browser.get_attribute",
                "parameters": {"selector": "input#api-key[disabled]", "attribute": "value"},
            },
        ],
    )
    assert run.status == "completed", run.execution.error
    assert sim.gateway.trial_seconds_left() > 0 and sim.gateway.trial_resets >= 1
    assert run.output("backup")["filename"].endswith(".gwbk")
    key = run.output("key")["value"]
    assert key.startswith("ci-key:")
    assert sim.gateway.check_token(key, write=True, secure=False) == "ci-key"
