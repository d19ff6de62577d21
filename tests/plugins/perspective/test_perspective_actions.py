"""Clicks, inputs, navigation, docks, popups, tables and checks, confirmed through the sim's event log."""

from __future__ import annotations

import pytest

from .conftest import run_steps

pytestmark = pytest.mark.browser

OPEN_DEMO = {"id": "open", "type": "perspective.open", "parameters": {"project": "demo"}}


async def test_button_writes_a_tag_and_a_disabled_button_refuses(plugins, sim, tmp_path):
    since = sim.last_seq()
    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            OPEN_DEMO,
            {
                "id": "before",
                "type": "perspective.verify",
                "parameters": {"locator": {"dom_id": "StartState"}, "text": "false"},
            },
            {
                "id": "start",
                "type": "perspective.click",
                "parameters": {"locator": {"type": "ia.input.button", "text": "Start Line"}},
            },
            {
                "id": "after",
                "type": "perspective.verify",
                "parameters": {"locator": {"dom_id": "StartState"}, "text": "true", "timeout": 5},
            },
            {
                "id": "reset_disabled",
                "type": "perspective.verify",
                "parameters": {
                    "locator": {"dom_id": "ResetBtn"},
                    "enabled": False,
                    "has_class": "ia_button--disabled",
                },
            },
            {
                "id": "reset",
                "type": "perspective.click",
                "on_failure": "continue",
                "parameters": {"locator": {"dom_id": "ResetBtn"}},
            },
            {
                "id": "shot",
                "type": "perspective.screenshot",
                "parameters": {"name": "buttons", "locator": {"path": "C:2"}},
            },
        ],
    )
    assert run.status == "completed", run.execution.error
    assert run.output("start")["dom_id"] == "StartBtn"
    assert run.output("start")["path"] == "C:2:0"
    error = run.error("reset")
    assert "is disabled" in error["message"] and "ia_button--disabled" in error["message"]
    assert sim.gateway.tag_values["[default]Line/Start"] is True
    writes = [e for e in sim.events(since) if e["action"] == "writeTag"]
    assert [(e["domId"], e["tagPath"], e["value"]) for e in writes] == [
        ("StartBtn", "[default]Line/Start", True)
    ]
    assert not [e for e in sim.events(since) if e["domId"] == "ResetBtn"]
    assert run.output("shot")["artifact"] == "buttons.png"
    assert run.output("shot")["path"] == "C:2"


async def test_inputs_commit_on_blur_or_enter_and_round_trip(plugins, sim, tmp_path):
    since = sim.last_seq()
    field = {"dom_id": "NoteField"}
    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            {
                "id": "open",
                "type": "perspective.open",
                "parameters": {"project": "demo", "page": "/inputs"},
            },
            {
                "id": "typed_only",
                "type": "perspective.fill",
                "parameters": {"locator": field, "value": "draft", "commit": "none"},
            },
            {
                "id": "echo_unchanged",
                "type": "perspective.verify",
                "parameters": {"locator": {"dom_id": "NoteEcho"}, "text": ""},
            },
            {
                "id": "blur",
                "type": "perspective.fill",
                "parameters": {"locator": field, "value": "checked by itk"},
            },
            {
                "id": "echo",
                "type": "perspective.verify",
                "parameters": {"locator": {"dom_id": "NoteEcho"}, "text": "checked by itk"},
            },
            {
                "id": "enter",
                "type": "perspective.fill",
                "parameters": {"locator": field, "value": "via enter", "commit": "enter"},
            },
            {
                "id": "speed_bad",
                "type": "perspective.fill",
                "parameters": {"locator": {"dom_id": "SpeedEntry"}, "value": 500},
            },
            {
                "id": "speed",
                "type": "perspective.fill",
                "parameters": {"locator": {"type": "ia.input.numeric-entry-field"}, "value": 42},
            },
            {
                "id": "run_on",
                "type": "perspective.toggle",
                "parameters": {"locator": {"dom_id": "RunToggle"}, "state": True},
            },
            {
                "id": "run_again",
                "type": "perspective.toggle",
                "parameters": {"locator": {"dom_id": "RunToggle"}, "state": True},
            },
            {
                "id": "auto",
                "type": "perspective.toggle",
                "parameters": {"locator": {"dom_id": "AutoCheck"}},
            },
            {
                "id": "mode",
                "type": "perspective.select",
                "parameters": {"locator": {"dom_id": "ModeSelect"}, "option": "Automatic"},
            },
            {
                "id": "mode_echo",
                "type": "perspective.verify",
                "parameters": {"locator": {"dom_id": "ModeEcho"}, "text": "auto"},
            },
            {
                "id": "missing_option",
                "type": "perspective.select",
                "on_failure": "continue",
                "parameters": {
                    "locator": {"dom_id": "ModeSelect"},
                    "option": "Turbo",
                    "timeout": 2,
                },
            },
            {
                "id": "field_value",
                "type": "perspective.verify",
                "parameters": {
                    "locator": field,
                    "property": {"name": "value", "value": "via enter"},
                },
            },
        ],
    )
    assert run.status == "completed", run.execution.error
    assert run.output("speed_bad")["displayed"] == "12.5"
    assert run.output("speed")["displayed"] == "42"
    assert run.output("run_on")["changed"] and not run.output("run_again")["changed"]
    assert run.output("auto")["selected"] is True
    assert "Automatic" in run.output("mode")["selected"]
    assert "no option 'Turbo'" in run.error("missing_option")["message"]
    values = sim.gateway.tag_values
    assert values["[default]Line/Note"] == "via enter"
    assert values["[default]Line/Speed"] == 42
    assert values["[default]Line/Start"] is True and values["[default]Line/Auto"] is True
    assert values["[default]Line/Mode"] == "auto"
    log = sim.events(since)
    commits = [e["value"] for e in log if e["domId"] == "NoteField" and e["action"] == "commit"]
    assert commits == ["checked by itk", "via enter"]
    assert [e["value"] for e in log if e["action"] == "reject"] == ["500"]


async def test_in_app_navigation_tables_and_the_reload_failure(plugins, sim, tmp_path):
    since = sim.last_seq()
    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            OPEN_DEMO,
            {
                "id": "to_motors",
                "type": "perspective.navigate",
                "parameters": {"locator": {"dom_id": "NavMotors"}, "page": "/motors"},
            },
            {
                "id": "table",
                "type": "perspective.table",
                "parameters": {
                    "locator": {"dom_id": "MotorTable"},
                    "rows": 3,
                    "cells": [
                        {"row": 0, "column": "name", "text": "Conveyor 1"},
                        {"row": 2, "column": 1, "text": "Running"},
                    ],
                },
            },
            {
                "id": "table_wrong",
                "type": "perspective.table",
                "on_failure": "continue",
                "parameters": {"locator": {"dom_id": "MotorTable"}, "rows": 4, "timeout": 0.5},
            },
            {
                "id": "home",
                "type": "perspective.navigate",
                "parameters": {
                    "locator": {"type": "ia.input.button", "text": "Back to overview"},
                    "page": "/",
                },
            },
            {
                "id": "title",
                "type": "perspective.verify",
                "parameters": {
                    "locator": {"dom_id": "Title"},
                    "text": "Overview",
                    "match": "contains",
                },
            },
        ],
    )
    assert run.status == "completed", run.execution.error
    nav = run.output("to_motors")
    assert nav["page"] == "/motors" and nav["to"].endswith("/data/perspective/client/demo/motors")
    assert run.output("table")["rows"][1] == ["Conveyor 2", "Stopped", "0"]
    assert "expected 4 row(s), found 3" in run.error("table_wrong")["message"]
    pages = {e["pageId"] for e in sim.events(since)}
    assert len(pages) == 1, "in-app navigation must not create a new Perspective page"

    run = await run_steps(
        plugins,
        sim,
        tmp_path / "reload",
        [
            {"id": "open", "type": "perspective.open", "parameters": {"project": "lab"}},
            {
                "id": "reload",
                "type": "perspective.navigate",
                "parameters": {"locator": {"dom_id": "ReloadBtn"}, "timeout": 5},
            },
        ],
    )
    assert run.status == "failed"
    error = run.error("reload")
    assert "reloaded the page" in error["message"] and "in-app" in error["message"]


async def test_docks_and_popups(plugins, sim, tmp_path):
    since = sim.last_seq()
    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            OPEN_DEMO,
            {"id": "header", "type": "perspective.dock", "parameters": {"dock_id": "header"}},
            {
                "id": "nav_hidden",
                "type": "perspective.dock",
                "parameters": {"dock_id": "nav", "expect": "hidden"},
            },
            {
                "id": "nav_attached",
                "type": "perspective.dock",
                "parameters": {"dock_id": "nav", "expect": "attached"},
            },
            {
                "id": "nav_open",
                "type": "perspective.dock",
                "parameters": {"dock_id": "nav", "action": "open"},
            },
            {
                "id": "nav_item",
                "type": "perspective.verify",
                "parameters": {
                    "locator": {"path_prefix": "L[0]", "type": "ia.display.label"},
                    "visible": True,
                },
            },
            {
                "id": "nav_close",
                "type": "perspective.dock",
                "parameters": {
                    "dock_id": "nav",
                    "action": "close",
                    "handle": {"dom_id": "MenuBtn"},
                },
            },
            {
                "id": "missing_dock",
                "type": "perspective.dock",
                "on_failure": "continue",
                "parameters": {"dock_id": "right", "timeout": 0.5},
            },
            {
                "id": "details",
                "type": "perspective.click",
                "parameters": {"locator": {"dom_id": "DetailsBtn"}},
            },
            {
                "id": "popup",
                "type": "perspective.popup",
                "parameters": {"popup_id": "details", "title": "Line Details"},
            },
            {
                "id": "popup_speed",
                "type": "perspective.verify",
                "parameters": {"locator": {"dom_id": "DetailsSpeed"}, "text": "12.5"},
            },
            {
                "id": "popup_close",
                "type": "perspective.popup",
                "parameters": {"popup_id": "details", "action": "close"},
            },
            {
                "id": "popup_gone",
                "type": "perspective.popup",
                "parameters": {"popup_id": "details", "action": "verify_closed"},
            },
            {
                "id": "popup_missing",
                "type": "perspective.popup",
                "on_failure": "continue",
                "parameters": {"popup_id": "details", "timeout": 0.5},
            },
        ],
    )
    assert run.status == "completed", run.execution.error
    assert run.output("header")["side"] == "top" and run.output("header")["visible"]
    assert run.output("nav_open") == {
        "dock_id": "nav",
        "visible": True,
        "side": "left",
        "changed": True,
    }
    assert run.output("nav_close")["visible"] is False
    assert "docks found" in run.error("missing_dock")["message"]
    popup = run.output("popup")
    assert popup["open"] and popup["modal"] and "Line Details" in popup["title"]
    assert "is not open" in run.error("popup_missing")["message"]
    actions = [e["action"] for e in sim.events(since)]
    assert "dockOpen" in actions and "popupOpen" in actions and "popupClose" in actions


async def test_quality_overlays_and_error_boundaries_are_reported(plugins, sim, tmp_path):
    from ignition_toolbox.gateway.sim.perspective import sessions_of

    sessions_of(sim.gateway).tag_quality["[default]Line/Speed"] = "Bad_Stale"
    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            OPEN_DEMO,
            {
                "id": "bad_speed",
                "type": "perspective.verify",
                "parameters": {
                    "locator": {"dom_id": "SpeedLabel"},
                    "quality_ok": False,
                    "text": "12.5",
                },
            },
            {
                "id": "errors",
                "type": "perspective.verify_no_errors",
                "on_failure": "continue",
                "parameters": {},
            },
            {
                "id": "fine_elsewhere",
                "type": "perspective.verify_no_errors",
                "parameters": {"within": {"path": "C:2"}},
            },
        ],
    )
    assert run.status == "completed", run.execution.error
    message = run.error("errors")["message"]
    assert "bad-quality overlay" in message and "C:1:1" in message

    run = await run_steps(
        plugins,
        sim,
        tmp_path / "broken",
        [
            {
                "id": "open",
                "type": "perspective.open",
                "parameters": {"project": "lab", "page": "/broken"},
            },
            {
                "id": "errors",
                "type": "perspective.verify_no_errors",
                "parameters": {"console_errors": True},
            },
        ],
    )
    assert run.status == "failed"
    message = run.error("errors")["message"]
    assert "error boundar" in message and "ia.sim.no-such-component" in message
    assert "Bad_NotFound" in message


async def test_locator_failures_name_what_was_tried(plugins, sim, tmp_path):
    run = await run_steps(
        plugins,
        sim,
        tmp_path,
        [
            {"id": "open", "type": "perspective.open", "parameters": {"project": "lab"}},
            {
                "id": "missing",
                "type": "perspective.click",
                "on_failure": "continue",
                "parameters": {
                    "timeout": 0.5,
                    "locator": {
                        "dom_id": "Nope",
                        "path": "C:9",
                        "type": "ia.input.button",
                        "text": "Nope",
                        "selector": "#nope",
                    },
                },
            },
            {
                "id": "twins",
                "type": "perspective.click",
                "on_failure": "continue",
                "parameters": {
                    "timeout": 0.5,
                    "locator": {"type": "ia.input.button", "text": "Same"},
                },
            },
            {
                "id": "second",
                "type": "perspective.click",
                "parameters": {"locator": {"type": "ia.input.button", "text": "Same", "index": 1}},
            },
            {
                "id": "fallback",
                "type": "perspective.verify",
                "parameters": {
                    "locator": {"dom_id": "Gone", "selector": "#LabTitle"},
                    "text": "Lab",
                },
            },
        ],
    )
    assert run.status == "completed", run.execution.error
    error = run.error("missing")
    assert error["code"] == "timeout_error"
    for tried in (
        'dom_id "Nope": 0',
        'path "C:9": 0',
        'type "ia.input.button" + exact text "Nope"',
        "selector '#nope': 0",
    ):
        assert tried in error["message"], error["message"]
    assert "matches 2 components" in run.error("twins")["message"]
    assert run.output("second")["dom_id"] == "Twin2"
    assert run.output("fallback")["dom_id"] == "LabTitle"
