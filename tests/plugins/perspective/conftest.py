"""Fixtures for the Perspective tests: one simulated gateway per module on a real port, real Chromium.

The simulator runs in its own thread and event loop, so one instance (with the demo project and a
``lab`` project built here with ``make_project_zip``) serves every test of a module while each test
keeps its own function-scoped loop. Tests reset what they change (tag values, options).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ignition_toolbox.browser import plugin as browser_plugin
from ignition_toolbox.core import (
    Credential,
    Event,
    Execution,
    MappingCredentials,
    PlaybookLibrary,
    PluginManager,
)
from ignition_toolbox.gateway.sim import SimGateway, make_project_zip, running
from ignition_toolbox.gateway.sim.perspective import DEMO_TAGS, load_demo, sessions_of
from ignition_toolbox.perspective import plugin as perspective_plugin

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks" / "perspective"
def credentials_for(gateway_url: str) -> MappingCredentials:
    """The vault of these tests, bound to the simulator they run against (SR-21)."""
    return MappingCredentials(
        {
            "admin": Credential("admin", "admin", "password", gateway_url),
            "wrong": Credential("wrong", "admin", "not-the-password", gateway_url),
        }
    )


def lab_views() -> dict[str, dict[str, Any]]:
    """Screens for failure modes the demo project does not have."""

    def comp(kind: str, dom_id: str, **props: Any) -> dict[str, Any]:
        return {"type": kind, "meta": {"name": dom_id, "domId": dom_id}, "props": props}

    reload_button = comp("ia.input.button", "ReloadBtn", text="Reload")
    reload_button["events"] = {
        "component": {
            "onActionPerformed": {
                "type": "nav",
                "config": {"url": "/data/perspective/client/lab/other"},
            }
        }
    }
    bad_label = comp("ia.display.label", "BadLabel", text="?")
    bad_label["propConfig"] = {
        "props.text": {"binding": {"type": "tag", "config": {"tagPath": "[default]Lab/Missing"}}}
    }
    return {
        "Main": {
            "root": {
                "type": "ia.container.flex",
                "meta": {"name": "root"},
                "props": {"direction": "column"},
                "children": [
                    comp("ia.display.label", "LabTitle", text="Lab"),
                    reload_button,
                    comp("ia.input.button", "Twin", text="Same"),
                    comp("ia.input.button", "Twin2", text="Same"),
                ],
            }
        },
        "other": {
            "root": {
                "type": "ia.container.flex",
                "meta": {"name": "root"},
                "props": {},
                "children": [comp("ia.display.label", "OtherTitle", text="Other")],
            }
        },
        "broken": {
            "root": {
                "type": "ia.container.flex",
                "meta": {"name": "root"},
                "props": {},
                "children": [
                    comp("ia.display.label", "Fine", text="Fine"),
                    comp("ia.sim.no-such-component", "Broken"),
                    bad_label,
                ],
            }
        },
    }


class SimThread:
    """A simulator served on 127.0.0.1 from a background thread."""

    def __init__(self, gateway: SimGateway) -> None:
        self.gateway = gateway
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with running(self.gateway) as server:
                self.url = server.url
                self._ready.set()
                await self._stop.wait()

        asyncio.run(main())

    def start(self) -> SimThread:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the simulator did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    # -- what tests look at ----------------------------------------------------------------

    def events(self, since: int = 0) -> list[dict[str, Any]]:
        return [e for e in sessions_of(self.gateway).events if e["seq"] > since]

    def last_seq(self) -> int:
        events = sessions_of(self.gateway).events
        return events[-1]["seq"] if events else 0

    def reset(self) -> None:
        gw = self.gateway
        gw.tag_values.update(DEMO_TAGS)
        sessions_of(gw).tag_quality.clear()
        gw.options.render_delay_ms = 300
        gw.trial_started_at = gw.now()


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    gateway = load_demo(SimGateway(restart_seconds=1.5, grace_seconds=0.2, render_delay_ms=300))
    gateway.import_project("lab", make_project_zip("lab", views=lab_views()))
    server = SimThread(gateway).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_state(sim: SimThread) -> Iterator[None]:
    sim.reset()
    yield
    sim.reset()


@pytest.fixture(scope="session")
def plugins() -> PluginManager:
    """Core, browser and Perspective only: other plugins' work cannot break these tests."""
    return PluginManager(
        entry_points=False,
        extra=[("browser", browser_plugin), ("perspective", perspective_plugin)],
    )


@dataclass
class Run:
    status: str
    execution: Execution
    events: list[Event] = field(default_factory=list)

    def result(self, step_id: str) -> Any:
        return next(r for r in self.execution.step_results if r.step_id == step_id)

    def output(self, step_id: str) -> dict[str, Any]:
        result = self.result(step_id)
        assert result.status == "completed", (step_id, result.status, result.error)
        return result.output or {}

    def error(self, step_id: str) -> dict[str, Any]:
        result = self.result(step_id)
        assert result.status == "failed", (step_id, result.status, result.output)
        return dict(result.error or {})

    def artifacts(self, kind: str | None = None) -> list[Any]:
        return [e for e in self.events if e.type == "artifact" and (kind is None or e.kind == kind)]


async def run_steps(
    plugins: PluginManager,
    sim: SimThread,
    tmp_path: Path,
    steps: list[dict[str, Any]],
    **kwargs: Any,
) -> Run:
    """Run ``steps`` as one playbook (one browser) against the simulator."""
    text = json.dumps({"name": "perspective test", "version": "1.0", "steps": steps})
    playbook = plugins.parse_playbook(text, source="test.yaml")
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    kwargs.setdefault("credentials", credentials_for(sim.url))
    kwargs.setdefault("options", {"browser": {"live_view": False, "keep_trace": "never"}})
    execution = Execution(
        playbook,
        plugins=plugins,
        sink=sink,
        gateway_url=sim.url,
        artifacts_dir=tmp_path / "artifacts",
        **kwargs,
    )
    status = await execution.run()
    return Run(status, execution, events)


@pytest.fixture(scope="module")
def every_plugin() -> PluginManager:
    """All installed plugins, as ``itk run`` loads them."""
    return PluginManager()


@pytest.fixture(scope="module")
def library(every_plugin: PluginManager) -> PlaybookLibrary:
    return PlaybookLibrary.from_plugins(every_plugin)


async def run_shipped(
    every_plugin: PluginManager,
    library: PlaybookLibrary,
    sim: SimThread,
    tmp_path: Path,
    path: str,
    parameters: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Run:
    """Run a shipped playbook from the library with every installed plugin."""
    playbook = every_plugin.parse_playbook(library.read_text(path), source=path)
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    execution = Execution(
        playbook,
        plugins=every_plugin,
        parameters=parameters or {},
        gateway_url=sim.url,
        credentials=credentials_for(sim.url),
        artifacts_dir=tmp_path / "artifacts",
        library=library,
        sink=sink,
        options={"browser": {"live_view": False}},
        **kwargs,
    )
    status = await execution.run()
    return Run(status, execution, events)
