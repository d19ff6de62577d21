"""The shipped Perspective playbooks, run by the core executor against the simulator's demo project."""

from __future__ import annotations

import json

import pytest

from .conftest import run_shipped

pytestmark = pytest.mark.browser

SHIPPED = (
    "perspective/smoke_test.yaml",
    "perspective/component_inventory.yaml",
    "perspective/button_and_tag.yaml",
    "perspective/input_round_trip.yaml",
    "perspective/navigation_and_docks.yaml",
    "perspective/webui_module_install.yaml",
)


def test_the_library_lists_the_perspective_playbooks_as_valid(library, every_plugin):
    entries = {e.path: e for e in library.entries(every_plugin) if e.root.name == "perspective"}
    assert set(SHIPPED) <= set(entries)
    for path in SHIPPED:
        assert entries[path].valid, entries[path].error
        assert not entries[path].root.writable


async def test_smoke_test_without_and_with_login(every_plugin, library, sim, tmp_path):
    run = await run_shipped(every_plugin, library, sim, tmp_path, "perspective/smoke_test.yaml")
    assert run.status == "completed", run.execution.error
    assert run.result("login").status == "skipped"
    assert [a.name for a in run.artifacts("screenshot")] == ["smoke.png"]

    run = await run_shipped(
        every_plugin,
        library,
        sim,
        tmp_path / "secure",
        "perspective/smoke_test.yaml",
        parameters={"project": "demo_secure"},
        credential_name="admin",
    )
    assert run.status == "completed", run.execution.error
    assert run.output("login")["user"] == "admin"
    assert '"password"' not in json.dumps(run.output("login"))


async def test_smoke_test_fails_on_a_missing_project(every_plugin, library, sim, tmp_path):
    run = await run_shipped(
        every_plugin,
        library,
        sim,
        tmp_path,
        "perspective/smoke_test.yaml",
        parameters={"project": "missing", "timeout": 10},
    )
    assert run.status == "failed"
    assert run.execution.error["step_id"] == "open"
    assert "Project Not Found" in run.execution.error["message"]


async def test_component_inventory(every_plugin, library, sim, tmp_path):
    run = await run_shipped(
        every_plugin, library, sim, tmp_path, "perspective/component_inventory.yaml"
    )
    assert run.status == "completed", run.execution.error
    inventory = run.output("inventory")
    assert inventory["by_type"]["ia.input.button"] >= 9
    (saved,) = run.artifacts("inventory")
    assert saved.name == "component-inventory.json"
    assert json.loads(saved.path.read_text())["total"] == inventory["total"]


async def test_button_and_tag(every_plugin, library, sim, tmp_path):
    since = sim.last_seq()
    run = await run_shipped(every_plugin, library, sim, tmp_path, "perspective/button_and_tag.yaml")
    assert run.status == "completed", run.execution.error
    writes = [(e["tagPath"], e["value"]) for e in sim.events(since) if e["action"] == "writeTag"]
    assert writes == [("[default]Line/Start", True)]
    assert {a.name for a in run.artifacts("screenshot")} == {"before-click.png", "after-click.png"}


async def test_input_round_trip(every_plugin, library, sim, tmp_path):
    run = await run_shipped(
        every_plugin,
        library,
        sim,
        tmp_path,
        "perspective/input_round_trip.yaml",
        parameters={"text_value": "round trip 1"},
    )
    assert run.status == "completed", run.execution.error
    values = sim.gateway.tag_values
    assert values["[default]Line/Note"] == "round trip 1"
    assert values["[default]Line/Speed"] == 42
    assert values["[default]Line/Mode"] == "auto"


async def test_navigation_and_docks(every_plugin, library, sim, tmp_path):
    since = sim.last_seq()
    run = await run_shipped(
        every_plugin, library, sim, tmp_path, "perspective/navigation_and_docks.yaml"
    )
    assert run.status == "completed", run.execution.error
    assert run.output("go")["page"] == "/motors" and run.output("back")["page"] == "/"
    assert len({e["pageId"] for e in sim.events(since)}) == 1
