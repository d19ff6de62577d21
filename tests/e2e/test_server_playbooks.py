"""The shipped playbooks through the real server: started by the API, watched over the WebSocket.

Real parts only: ``itk serve`` and ``itk gateway-sim`` as subprocesses on real ports, the repository's
playbooks, real Chromium for the browser and Perspective runs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import httpx
import pytest
import websockets
from webui_support import SIM_TOKEN, Process

from ignition_toolbox.gateway.sim import make_modl

pytestmark = pytest.mark.timeout(180)
TERMINAL = {"completed", "failed", "cancelled", "interrupted"}


async def watch(
    server: Process, start: dict[str, Any], timeout: float = 120
) -> tuple[str, list[dict[str, Any]]]:
    """Subscribe, start the execution, and collect its messages until a terminal update."""
    ws_url = server.url.replace("http://", "ws://") + "/ws/executions"
    messages: list[dict[str, Any]] = []
    async with websockets.connect(ws_url, max_size=None) as socket:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            response = await client.post("/api/executions", json=start)
            assert response.status_code == 202, response.text
            body = response.json()
            assert body["status"] == "started"
            execution_id = body["execution_id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            raw = await asyncio.wait_for(socket.recv(), deadline - time.monotonic())
            message = json.loads(raw)
            if message.get("data", {}).get("execution_id") != execution_id:
                continue
            messages.append(message)
            if message["type"] == "execution_update" and message["data"]["status"] in TERMINAL:
                return execution_id, messages
    raise AssertionError(f"no terminal update within {timeout} s: {messages[-3:]}")


def updates(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["data"] for m in messages if m["type"] == "execution_update"]


def frames(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["data"] for m in messages if m["type"] == "screenshot_frame"]


@pytest.fixture(scope="module")
def gateway_credential(server: Process, sim: Process) -> str:
    with httpx.Client(base_url=server.url, timeout=15) as client:
        response = client.post(
            "/api/credentials",
            json={
                "name": "sim-gateway",
                "username": "admin",
                "password": "password",
                "gateway_url": sim.url,
                "api_token": SIM_TOKEN,
            },
        )
        assert response.status_code in (201, 400), response.text
    return "sim-gateway"


async def test_module_upgrade_runs_through_the_api_and_websocket(
    server: Process, sim: Process, gateway_credential: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        module = make_modl("com.example.e2e", "E2E Module", "3.1.0")
        uploaded = await client.post("/api/modules?fileName=e2e-3.1.0.modl", content=module)
        assert uploaded.status_code == 201, uploaded.text
        path = uploaded.json()["path"]
    execution_id, messages = await watch(
        server,
        {
            "playbook_path": "gateway/module_upgrade.yaml",
            "parameters": {"module_path": path},
            "credential_name": gateway_credential,
        },
    )
    final = updates(messages)[-1]
    assert final["status"] == "completed", final
    streamed = [
        u["step_result"]["step_id"]
        for u in updates(messages)
        if u.get("step_result") and u["step_result"]["status"] == "completed"
    ]
    # Every step's completion was broadcast live, in playbook order (the final state update
    # repeats the last step result, hence the de-duplication).
    assert list(dict.fromkeys(streamed)) == [
        "login",
        "ready",
        "module",
        "before",
        "backup",
        "upload",
        "install",
        "restart",
        "ready_again",
        "verify",
        "report",
    ]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        detail = (await client.get(f"/api/executions/{execution_id}")).json()
        assert detail["status"] == "completed"
        assert all(s["status"] in ("completed", "skipped") for s in detail["step_results"])
        artifacts = (await client.get(f"/api/executions/{execution_id}/artifacts")).json()
        assert any(a["name"].endswith(".gwbk") for a in artifacts["artifacts"]), artifacts
    assert "password" not in json.dumps(messages)


async def test_browser_frames_reach_the_websocket_and_screenshots_go_with_the_execution(
    server: Process, sim: Process
) -> None:
    playbook = f"""\
name: Frames check
description: Opens the simulated gateway's web UI and keeps a screenshot
steps:
  - {{id: open, type: browser.navigate, parameters: {{url: "{sim.url}/app"}}}}
  - {{id: look, type: browser.wait, parameters: {{selector: body}}}}
  - {{id: shot, type: browser.screenshot, parameters: {{name: home}}}}
  - {{id: linger, type: utility.sleep, parameters: {{seconds: 1}}}}
"""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        saved = await client.put(
            "/api/playbooks/e2e/frames.yaml",
            content=playbook,
            headers={"Content-Type": "application/yaml"},
        )
        assert saved.status_code in (200, 201), saved.text
    execution_id, messages = await watch(server, {"playbook_path": "e2e/frames.yaml"})
    assert updates(messages)[-1]["status"] == "completed", updates(messages)[-1]
    received = frames(messages)
    assert received, "no screenshot_frame on the WebSocket"
    header, _, data = received[0]["frame"].partition(",")
    assert header == "data:image/jpeg;base64" and base64.b64decode(data)[:2] == b"\xff\xd8"
    assert isinstance(received[0]["timestamp"], int)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        listed = (await client.get(f"/api/executions/{execution_id}/artifacts")).json()["artifacts"]
        shots = [a for a in listed if a["kind"] == "screenshot"]
        assert shots, listed
        image = await client.get(
            f"/api/executions/{execution_id}/artifacts/{shots[0]['artifact_id']}"
        )
        assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
        deleted = (await client.delete(f"/api/executions/{execution_id}")).json()
        assert deleted["screenshots_deleted"] >= 1
        gone = await client.get(
            f"/api/executions/{execution_id}/artifacts/{shots[0]['artifact_id']}"
        )
        assert gone.status_code == 404 and gone.json()["detail"]["error"] == "execution_not_found"


@pytest.mark.parametrize(
    "playbook", ["perspective/smoke_test.yaml", "perspective/button_and_tag.yaml"]
)
async def test_perspective_playbooks_run_through_the_api_with_frames(
    server: Process, sim: Process, playbook: str
) -> None:
    _, messages = await watch(server, {"playbook_path": playbook, "gateway_url": sim.url})
    final = updates(messages)[-1]
    assert final["status"] == "completed", (
        final,
        [u.get("step_result") for u in updates(messages)][-3:],
    )
    assert frames(messages), "no live-view frames"
