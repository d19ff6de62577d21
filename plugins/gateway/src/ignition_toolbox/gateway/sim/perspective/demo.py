"""The demo project ``itk gateway-sim`` loads by default, which the shipped Perspective playbooks
target: an overview with tag-bound labels and buttons, an inputs page, a motors table, a header dock,
an on-demand left dock, a popup and an embedded view. ``demo_secure`` is the same behind the IdP.
"""

from __future__ import annotations

import json
from typing import Any

from ..builders import make_project_zip
from ..state import SimGateway
from .views import PAGE_CONFIG

DEMO = "demo"
DEMO_SECURE = "demo_secure"

DEMO_TAGS: dict[str, Any] = {
    "[default]Line/Start": False,
    "[default]Line/Speed": 12.5,
    "[default]Line/Note": "",
    "[default]Line/Auto": False,
    "[default]Line/Mode": "manual",
}


def _c(kind: str, name: str, dom_id: str | None = None, **props: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if dom_id:
        meta["domId"] = dom_id
    return {"type": f"ia.{kind}", "meta": meta, "props": props}


def _bound(component: dict[str, Any], prop: str, tag: str, bidirectional: bool = False) -> dict:
    config: dict[str, Any] = {"mode": "direct", "tagPath": tag}
    if bidirectional:
        config["bidirectional"] = True
    component["propConfig"] = {f"props.{prop}": {"binding": {"type": "tag", "config": config}}}
    return component


def _on_action(component: dict[str, Any], *actions: dict[str, Any]) -> dict[str, Any]:
    component["events"] = {"component": {"onActionPerformed": list(actions)}}
    return component


def _flex(name: str, children: list[dict[str, Any]], direction: str = "column") -> dict:
    return {
        "type": "ia.container.flex",
        "meta": {"name": name},
        "props": {"direction": direction},
        "children": children,
    }


def _write(tag: str, value: Any) -> dict[str, Any]:
    return {"type": "tag-write", "scope": "G", "config": {"tagPath": tag, "value": value}}


def _nav(page: str) -> dict[str, Any]:
    return {"type": "nav", "scope": "C", "config": {"page": page}}


def demo_views() -> dict[str, dict[str, Any]]:
    """The demo project's ``view.json`` documents, by view path."""
    main = _flex(
        "root",
        [
            _c("display.label", "Title", "Title", text="Line Overview"),
            _flex(
                "Status",
                [
                    _c("display.label", "SpeedCaption", text="Speed:"),
                    _bound(
                        _c("display.label", "Speed", "SpeedLabel", text="?"),
                        "text",
                        "[default]Line/Speed",
                    ),
                    _c("display.label", "StartCaption", text="Running:"),
                    _bound(
                        _c("display.label", "Running", "StartState", text="?"),
                        "text",
                        "[default]Line/Start",
                    ),
                ],
                direction="row",
            ),
            _flex(
                "Buttons",
                [
                    _on_action(
                        _c("input.button", "Start", "StartBtn", text="Start Line"),
                        _write("[default]Line/Start", True),
                    ),
                    _on_action(
                        _c("input.button", "Stop", "StopBtn", text="Stop Line", primary=False),
                        _write("[default]Line/Start", False),
                    ),
                    _c("input.button", "Reset", "ResetBtn", text="Reset Counters", enabled=False),
                    _on_action(
                        _c("input.button", "Details", "DetailsBtn", text="Details"),
                        {
                            "type": "popup",
                            "scope": "C",
                            "config": {
                                "type": "open",
                                "id": "details",
                                "viewPath": "Popups/Details",
                                "title": "Line Details",
                                "modal": True,
                            },
                        },
                    ),
                    _on_action(
                        _c("input.button", "Menu", "MenuBtn", text="Menu"),
                        {"type": "dock", "scope": "C", "config": {"type": "toggle", "id": "nav"}},
                    ),
                ],
                direction="row",
            ),
            _c("display.view", "StatusView", "StatusView", path="Embedded/Status"),
        ],
    )
    inputs = _flex(
        "root",
        [
            _c("display.label", "Title", "InputsTitle", text="Inputs"),
            _bound(
                _c("input.text-field", "Note", "NoteField", text="", placeholder="Note"),
                "text",
                "[default]Line/Note",
                bidirectional=True,
            ),
            _bound(
                _c("display.label", "NoteEcho", "NoteEcho", text=""), "text", "[default]Line/Note"
            ),
            _bound(
                _c(
                    "input.numeric-entry-field",
                    "Speed",
                    "SpeedEntry",
                    value=0,
                    minValue=0,
                    maxValue=100,
                ),
                "value",
                "[default]Line/Speed",
                bidirectional=True,
            ),
            _bound(
                _c("input.toggle-switch", "Run", "RunToggle", selected=False),
                "selected",
                "[default]Line/Start",
                bidirectional=True,
            ),
            _bound(
                _c("input.checkbox", "Auto", "AutoCheck", text="Auto mode", selected=False),
                "selected",
                "[default]Line/Auto",
                bidirectional=True,
            ),
            _bound(
                _c(
                    "input.dropdown",
                    "Mode",
                    "ModeSelect",
                    value="manual",
                    options=[
                        {"value": "manual", "label": "Manual"},
                        {"value": "auto", "label": "Automatic"},
                        {"value": "maint", "label": "Maintenance"},
                    ],
                ),
                "value",
                "[default]Line/Mode",
                bidirectional=True,
            ),
            _bound(
                _c("display.label", "ModeEcho", "ModeEcho", text=""), "text", "[default]Line/Mode"
            ),
        ],
    )
    motors = _flex(
        "root",
        [
            _c("display.label", "Title", "MotorsTitle", text="Motors"),
            _c(
                "display.table",
                "Motors",
                "MotorTable",
                columns=["name", "state", "amps"],
                data=[
                    {"name": "Conveyor 1", "state": "Running", "amps": 12.1},
                    {"name": "Conveyor 2", "state": "Stopped", "amps": 0},
                    {"name": "Mixer", "state": "Running", "amps": 30.4},
                ],
            ),
            _on_action(_c("input.button", "Home", "BackHome", text="Back to overview"), _nav("/")),
        ],
    )
    header = _flex(
        "root",
        [
            _c("display.label", "Plant", "HeaderTitle", text="Demo Plant"),
            _on_action(_c("input.button", "Overview", "NavOverview", text="Overview"), _nav("/")),
            _on_action(_c("input.button", "Inputs", "NavInputs", text="Inputs"), _nav("/inputs")),
            _on_action(_c("input.button", "Motors", "NavMotors", text="Motors"), _nav("/motors")),
        ],
        direction="row",
    )
    nav = _flex(
        "root",
        [
            _c("display.label", "Heading", "NavHeading", text="Navigation"),
            _on_action(
                _c("input.button", "Motors", "DockMotors", text="Go to motors"), _nav("/motors")
            ),
        ],
    )
    details = _flex(
        "root",
        [
            _c("display.label", "Heading", "DetailsHeading", text="Line details"),
            _bound(
                _c("display.label", "Speed", "DetailsSpeed", text="?"),
                "text",
                "[default]Line/Speed",
            ),
            _on_action(
                _c("input.button", "Close", "DetailsClose", text="Close"),
                {"type": "popup", "scope": "C", "config": {"type": "close", "id": "details"}},
            ),
        ],
    )
    status = _flex("root", [_c("display.label", "Status", "EmbeddedStatus", text="Status: OK")])
    return {
        "Main": {"root": main},
        "Inputs": {"root": inputs},
        "Motors": {"root": motors},
        "Docks/Header": {"root": header},
        "Docks/Nav": {"root": nav},
        "Popups/Details": {"root": details},
        "Embedded/Status": {"root": status},
    }


def demo_page_config() -> dict[str, Any]:
    return {
        "pages": {
            "/": {"viewPath": "Main", "title": "Overview"},
            "/inputs": {"viewPath": "Inputs", "title": "Inputs"},
            "/motors": {"viewPath": "Motors", "title": "Motors"},
        },
        "sharedDocks": {
            "top": [{"id": "header", "viewPath": "Docks/Header", "show": "visible"}],
            "left": [{"id": "nav", "viewPath": "Docks/Nav", "show": "onDemand", "handle": "show"}],
        },
    }


def demo_project_zip(name: str = DEMO, *, requires_auth: bool = False) -> bytes:
    """The demo project as an export zip (importable into any gateway, simulated or real)."""
    return make_project_zip(
        name,
        title="Demo Plant" + (" (login required)" if requires_auth else ""),
        description="Perspective demo project of the simulated gateway",
        views=demo_views(),
        extra_files={PAGE_CONFIG: json.dumps(demo_page_config())},
        settings={"requiresAuth": True} if requires_auth else None,
    )


def load_demo(gw: SimGateway) -> SimGateway:
    """Import ``demo`` and ``demo_secure`` (behind the IdP) and seed the tags their views bind."""
    gw.import_project(DEMO, demo_project_zip(DEMO), overwrite=True)
    gw.import_project(
        DEMO_SECURE, demo_project_zip(DEMO_SECURE, requires_auth=True), overwrite=True
    )
    for path, value in DEMO_TAGS.items():
        gw.tag_values.setdefault(path, value)
    return gw


__all__ = ["DEMO", "DEMO_SECURE", "DEMO_TAGS", "demo_project_zip", "demo_views", "load_demo"]
