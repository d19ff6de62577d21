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
    monkeypatch,
):
    modl = tmp_path / "uploads" / "widgets-1.2.0.modl"
    modl.parent.mkdir()
    make_modl("com.example.widgets", "Widgets", "1.2.0", signed=True, path=modl)
    monkeypatch.setenv("ITK_BROWSER_UPLOAD_ROOTS", str(modl.parent))
    restarts = sim.gateway.restarts
    run = await run_shipped(
        every_plugin,
        library,
        sim,
        tmp_path,
        "webui_module_install.yaml",
        parameters={"module_file": str(modl), "module_name": "Widgets"},
        credential_name="admin",
    )
    assert run.status == "completed", run.execution.error
    assert sim.gateway.restarts == restarts + 1
    module = sim.gateway.modules["com.example.widgets"]
    assert module.state == "ACTIVE" and module.version == "1.2.0"
    assert run.output("login")["user"] == "admin"
