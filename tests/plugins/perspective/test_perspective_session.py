"""Opening, readiness, login gate and terminal states, in real Chromium against the simulator."""

from __future__ import annotations

import json

import pytest

from .conftest import run_steps

pytestmark = pytest.mark.browser


async def test_open_waits_out_the_spinner_then_discovers_components(plugins, sim, tmp_path):
    sim.gateway.options.render_delay_ms = 900
    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            {
                "id": "open",
                "type": "perspective.open",
                "parameters": {"project": "demo", "wait_ready": False},
            },
            {
                "id": "early",
                "type": "perspective.wait_ready",
                "timeout": 5,
                "parameters": {"timeout": 0.4},
                "on_failure": "continue",
            },
            {
                "id": "ready",
                "type": "perspective.wait_ready",
                "parameters": {"primary": {"dom_id": "StartBtn"}, "timeout": 10},
            },
            {"id": "inventory", "type": "perspective.discover", "parameters": {}},
            {
                "id": "centre",
                "type": "perspective.discover",
                "parameters": {
                    "region": "C",
                    "types": ["ia.input.button"],
                    "artifact": "buttons.json",
                },
            },
        ],
    )
    assert run.status == "completed", run.execution.error
    assert "loading spinner" in run.error("early")["message"]
    ready = run.output("ready")
    assert ready["state"] == "ready" and ready["content_components"] > 5
    components = {c["domId"]: c for c in run.output("inventory")["components"] if c["domId"]}
    start = components["StartBtn"]
    assert start["type"] == "ia.input.button" and start["path"] == "C:2:0"
    assert start["region"] == "C" and start["enabled"] and start["visible"]
    assert start["bbox"]["width"] > 0 and "ia_button" in start["classes"]
    assert components["ResetBtn"]["enabled"] is False
    assert components["SpeedLabel"]["text"] == "12.5"
    assert (
        components["EmbeddedStatus"]["path"].startswith("C:")
        and "$0" in components["EmbeddedStatus"]["path"]
    )
    assert (
        components["NavHeading"]["region"] == "L" and components["NavHeading"]["visible"] is False
    )
    assert components["HeaderTitle"]["path"].startswith("T[0]")
    centre = run.output("centre")
    assert set(centre["by_type"]) == {"ia.input.button"}
    assert {c["region"] for c in centre["components"]} == {"C"}
    names = {a.name: a for a in run.artifacts("inventory")}
    saved = json.loads(names["perspective-inventory.json"].path.read_text())
    assert len(saved["components"]) == run.output("inventory")["count"]
    assert "buttons.json" in names


async def test_login_gate_then_login_with_a_vault_credential(plugins, sim, tmp_path):
    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            {"id": "open", "type": "perspective.open", "parameters": {"project": "demo_secure"}},
            {"id": "gate", "type": "perspective.wait_ready", "parameters": {"allow_login": True}},
            {"id": "login", "type": "perspective.login", "parameters": {"credential": "admin"}},
            {
                "id": "user",
                "type": "perspective.verify",
                "parameters": {"locator": {"dom_id": "Title"}, "text": "Line Overview"},
            },
        ],
    )
    assert run.status == "completed", run.execution.error
    assert run.output("open")["state"] == "login_required"
    assert run.output("gate")["state"] == "login_required"
    login = run.output("login")
    assert login["user"] == "admin" and not login["already_logged_in"]
    assert "/data/perspective/client/demo_secure" in login["url"]
    for event in run.events:
        assert "password" not in json.dumps(getattr(event, "output", None) or {}).replace(
            '"password"', ""
        )


async def test_a_rejected_password_fails_login_with_the_form_message(plugins, sim, tmp_path):
    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            {"id": "open", "type": "perspective.open", "parameters": {"project": "demo_secure"}},
            {
                "id": "login",
                "type": "perspective.login",
                "parameters": {"credential": "wrong", "timeout": 8},
            },
        ],
    )
    assert run.status == "failed"
    error = run.error("login")
    assert (
        "rejected the login" in error["message"]
        and "Invalid username or password" in error["message"]
    )
    assert "not-the-password" not in json.dumps(error)
    assert {a.kind for a in run.artifacts()} >= {"screenshot"}


async def test_a_page_without_login_needs_none(plugins, sim, tmp_path):
    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            {"id": "open", "type": "perspective.open", "parameters": {"project": "demo"}},
            {"id": "ready", "type": "perspective.wait_ready", "parameters": {}},
        ],
    )
    assert run.status == "completed", run.execution.error
    assert run.output("open")["state"] == "ready"


@pytest.mark.parametrize(
    ("project", "setup", "header"),
    [
        ("nope", None, "Project Not Found"),
        ("demo", "expire", "Trial Expired"),
    ],
    ids=["project-not-found", "trial-expired"],
)
async def test_terminal_states_fail_with_their_header(
    plugins, sim, tmp_path, project, setup, header
):
    if setup == "expire":
        sim.gateway.expire_trial()
    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            {"id": "open", "type": "perspective.open", "parameters": {"project": project}},
        ],
    )
    assert run.status == "failed"
    error = run.error("open")
    assert f"terminal state: {header}" in error["message"]
    assert error["details"]["terminal_state"] == header


async def test_a_closed_session_shows_its_terminal_state(plugins, sim, tmp_path):
    from ignition_toolbox.gateway.sim.perspective import sessions_of

    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            {"id": "open", "type": "perspective.open", "parameters": {"project": "lab"}},
            {
                "id": "close",
                "type": "browser.evaluate",
                "parameters": {
                    "expression": "fetch('/__sim__/perspective/close', {method: 'POST', body: JSON.stringify("
                    "{sessionId: window.__perspectiveSim.sessionId, message: 'Closed by test'})})"
                    ".then(r => r.status)"
                },
            },
            {"id": "ready", "type": "perspective.wait_ready", "parameters": {"timeout": 5}},
        ],
    )
    assert run.status == "failed"
    assert "terminal state: Session Closed — Closed by test" in run.error("ready")["message"]
    assert any(s.closed for s in sessions_of(sim.gateway).sessions.values())


async def test_open_twice_is_refused_unless_reopen(plugins, sim, tmp_path):
    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            {"id": "open", "type": "perspective.open", "parameters": {"project": "lab"}},
            {
                "id": "again",
                "type": "perspective.open",
                "parameters": {"project": "lab"},
                "on_failure": "continue",
            },
            {
                "id": "reopen",
                "type": "perspective.open",
                "parameters": {"project": "lab", "page": "/other", "reopen": True},
            },
        ],
    )
    assert run.status == "completed", run.execution.error
    assert "perspective.navigate" in run.error("again")["message"]
    assert run.output("reopen")["url"].endswith("/data/perspective/client/lab/other")
