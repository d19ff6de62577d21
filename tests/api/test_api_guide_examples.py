"""API_GUIDE.md's requests, quoted as written, against a real ``itk serve`` (desktop mode, every
installed plugin, the shipped playbooks) and a real ``itk gateway-sim``.

Only the addresses change: the guide's ``localhost:5000`` becomes the server's free port and its
``localhost:8088`` the simulator's, and ``/path/to/module.modl`` a real module file outside the
server's folders (desktop mode reads a caller's path as given). The cURL examples run through curl,
the JavaScript through node (both skipped when missing).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ignition_toolbox.gateway.sim import make_modl

pytestmark = pytest.mark.slow

ITK = [
    sys.executable,
    "-c",
    "import sys; from ignition_toolbox.core.cli import main; sys.exit(main())",
]

# -- the guide, verbatim -------------------------------------------------------------------------

HEALTH_REQUEST = "GET /api/health"
HEALTH_RESPONSE = """{
  "status": "healthy",
  "version": "1.5.5",
  "uptime_seconds": 3600
}"""

CREATE_CREDENTIAL = """{
  "name": "my-gateway",
  "username": "admin",
  "password": "secret",
  "gateway_url": "http://localhost:8088",
  "description": "Local development gateway"
}"""
CREATE_CREDENTIAL_RESPONSE = """{
  "message": "Credential saved successfully",
  "name": "my-gateway"
}"""

LIST_CREDENTIALS = """{
  "credentials": [
    {
      "name": "my-gateway",
      "username": "admin",
      "gateway_url": "http://localhost:8088",
      "description": "Local development gateway"
    }
  ]
}"""

PLAYBOOK_DETAILS_REQUEST = "GET /api/playbooks/{path}"
PLAYBOOK_DETAILS = """{
  "name": "Module Upgrade",
  "version": "1.0",
  "description": "Upgrade modules on a gateway",
  "parameters": [
    {
      "name": "gateway_url",
      "type": "string",
      "required": true,
      "description": "Gateway base URL"
    }
  ],
  "steps": [
    {
      "id": "login",
      "name": "Login to Gateway",
      "type": "gateway.login"
    }
  ]
}"""
PLAYBOOK_LISTED = """{
      "name": "Module Upgrade",
      "path": "gateway/module_upgrade.yaml",
      "domain": "gateway",
      "description": "Upgrade modules on a gateway",
      "version": "1.0"
    }"""

START_REQUEST = """{
  "playbook_path": "gateway/module_upgrade.yaml",
  "parameters": {
    "module_path": "/path/to/module.modl"
  },
  "gateway_url": "http://localhost:8088",
  "credential_name": "my-gateway",
  "debug_mode": false
}"""
START_RESPONSE = """{
  "execution_id": "550e8400-e29b-41d4-a716-446655440000",
  "playbook_name": "Module Upgrade",
  "status": "started",
  "message": "Execution started with ID: 550e8400-..."
}"""
STATUS_RESPONSE = """{
  "execution_id": "550e8400-...",
  "playbook_name": "Module Upgrade",
  "status": "running",
  "started_at": "2026-02-04T10:30:00Z",
  "current_step_index": 2,
  "total_steps": 5,
  "step_results": [
    {
      "step_id": "login",
      "step_name": "Login to Gateway",
      "status": "completed",
      "started_at": "2026-02-04T10:30:01Z",
      "completed_at": "2026-02-04T10:30:03Z"
    }
  ]
}"""

CURL_START = """curl -X POST http://localhost:5000/api/executions \\
  -H "Content-Type: application/json" \\
  -d '{
    "playbook_path": "gateway/health_check.yaml",
    "gateway_url": "http://localhost:8088",
    "credential_name": "my-gateway"
  }'"""
CURL_LIST = "curl http://localhost:5000/api/executions?limit=10"
CURL_CANCEL = "curl -X POST http://localhost:5000/api/executions/550e8400-.../cancel"
LIST_ITEM = """{
    "execution_id": "550e8400-...",
    "playbook_name": "Module Upgrade",
    "status": "running",
    "started_at": "2026-02-04T10:30:00Z",
    "current_step_index": 2,
    "total_steps": 5
  }"""
CONTROL_RESPONSE = """{
  "message": "Execution paused",
  "execution_id": "550e8400-..."
}"""

JS_START = """const response = await fetch('http://localhost:5000/api/executions', {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({
    playbook_path: 'gateway/health_check.yaml',
    gateway_url: 'http://localhost:8088',
    credential_name: 'my-gateway'
  })
});
const { execution_id } = await response.json();"""
JS_WEBSOCKET = """const ws = new WebSocket('ws://localhost:5000/ws/executions?api_key=dev-key');

ws.onmessage = (event) => {
  const message = JSON.parse(event.data);
  if (message.type === 'execution_update') {
    console.log('Status:', message.data.status);
  }
};

// Send heartbeat
setInterval(() => {
  ws.send(JSON.stringify({ type: 'ping', timestamp: Date.now() }));
}, 15000);"""
HEARTBEAT = '{"type": "ping", "timestamp": 1707000000000}'
PONG = '{"type": "pong", "timestamp": 1707000000000}'

# -- real processes ------------------------------------------------------------------------------


@dataclass
class Process:
    process: subprocess.Popen[str]
    url: str
    output: list[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def launch(args: list[str], pattern: str, env: dict[str, str]) -> Process:
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert process.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        output.append(line)
        match = re.search(pattern, line)
        if match:

            def pump() -> None:
                assert process.stdout is not None
                for rest in process.stdout:
                    output.append(rest)

            threading.Thread(target=pump, daemon=True).start()
            return Process(process, match.group(1), output)
    process.kill()
    raise AssertionError("did not start:\n" + "".join(output))


@dataclass
class Guide:
    server: Process
    sim: Process
    module: Path

    def local(self, text: str) -> str:
        """The guide's text with its addresses pointed at this test's server and simulator."""
        return (
            text.replace("http://localhost:5000", self.server.url)
            .replace("ws://localhost:5000", self.server.url.replace("http://", "ws://", 1))
            .replace("http://localhost:8088", self.sim.url)
        )

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=30)


@pytest.fixture(scope="module")
def guide(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guide]:
    tmp = tmp_path_factory.mktemp("guide")
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "XDG_DATA_HOME": str(tmp / "xdg-data"),
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
    }
    env.pop("ITK_FILES_DIRS", None)
    env.pop("ITK_AUTH", None)
    sim = launch(
        [
            *ITK,
            "gateway-sim",
            "--port",
            "0",
            "--restart-seconds",
            "2",
            "--grace-seconds",
            "0.1",
            "--admin-password",
            "secret",
        ],
        r"gateway-sim: listening on (http://\S+)",
        env,
    )
    server = None
    try:
        server = launch(
            [
                *ITK,
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(tmp / "data"),
                "--secret-key-file",
                str(tmp / "keys" / "secret.key"),
            ],
            r"itk: listening on (http://\S+)",
            env,
        )
        # A real .modl in a folder of its own: neither the uploads folder nor a --files-dir.
        module = tmp / "elsewhere" / "module.modl"
        module.parent.mkdir()
        make_modl("com.example.guide", "Guide Module", "1.2.0", signed=True, eula=True, path=module)
        yield Guide(server, sim, module)
    finally:
        if server is not None:
            server.stop()
        sim.stop()


def subset(expected: Any, actual: Any, *, values: bool = True) -> None:
    """Every key the guide shows is there; with ``values`` its value too (lists item by item)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), actual
        for key, value in expected.items():
            assert key in actual, (key, actual)
            subset(value, actual[key], values=values)
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) >= len(expected), actual
        for want, got in zip(expected, actual, strict=False):
            subset(want, got, values=values)
    elif values:
        assert actual == expected
    else:
        assert type(actual) is type(expected) or (
            isinstance(expected, int) and isinstance(actual, int)
        ), (expected, actual)


def wait_for(client: httpx.Client, execution_id: str, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/executions/{execution_id}").json()
        if body.get("status") in statuses:
            return body
        time.sleep(0.1)
    raise AssertionError(f"never {statuses}: {body}")


def curl(guide: Guide, command: str) -> Any:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    args = shlex.split(guide.local(command).replace("\\\n", " "))
    assert args[0] == "curl"
    done = subprocess.run(
        [*args, "--silent", "--show-error"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# -- the examples --------------------------------------------------------------------------------


def test_01_health_check(guide: Guide) -> None:
    method, path = HEALTH_REQUEST.split()
    body = curl(guide, f"curl -X {method} http://localhost:5000{path}")
    expected = json.loads(HEALTH_RESPONSE)
    assert body["status"] == expected["status"]
    subset(expected, body, values=False)


def test_02_create_the_guides_credential(guide: Guide) -> None:
    with guide.client() as client:
        response = client.post("/api/credentials", json=json.loads(guide.local(CREATE_CREDENTIAL)))
        assert response.status_code == 201, response.text
        assert response.json() == json.loads(CREATE_CREDENTIAL_RESPONSE)
        listed = client.get("/api/credentials").json()["credentials"]
        mine = next(c for c in listed if c["name"] == "my-gateway")
        subset(json.loads(guide.local(LIST_CREDENTIALS))["credentials"][0], mine)
        assert mine.get("password") != "secret"  # "Passwords are never returned"


def test_03_playbook_details_and_listing(guide: Guide) -> None:
    path = PLAYBOOK_DETAILS_REQUEST.replace("{path}", "gateway%2Fmodule_upgrade.yaml")
    with guide.client() as client:
        details = client.get(path.split()[1])
        assert details.status_code == 200, details.text
        subset(json.loads(PLAYBOOK_DETAILS), details.json())
        listed = client.get("/api/playbooks").json()["playbooks"]
        mine = next(p for p in listed if p["path"] == "gateway/module_upgrade.yaml")
        subset(json.loads(PLAYBOOK_LISTED), mine)


def test_04_start_upgrades_the_module_to_completion(guide: Guide) -> None:
    body = json.loads(guide.local(START_REQUEST).replace("/path/to/module.modl", str(guide.module)))
    with guide.client() as client:
        response = client.post("/api/executions", json=body)
        assert response.status_code == 202, response.text
        started = response.json()
        expected = json.loads(START_RESPONSE)
        assert started["playbook_name"] == expected["playbook_name"]
        assert started["status"] == expected["status"]
        assert started["message"] == f"Execution started with ID: {started['execution_id']}"
        detail = wait_for(client, started["execution_id"], {"completed", "failed", "cancelled"})
    assert detail["status"] == "completed", json.dumps(detail["step_results"], indent=1)[:4000]
    subset(json.loads(STATUS_RESPONSE), detail, values=False)
    login = detail["step_results"][0]
    assert (login["step_id"], login["step_name"], login["status"]) == (
        "login",
        "Login to Gateway",
        "completed",
    )
    assert login["output"]["user"] == "admin"
    steps = {s["step_id"]: s for s in detail["step_results"]}
    assert {"backup", "upload", "install", "restart", "ready_again", "verify"} <= set(steps)
    assert steps["verify"]["output"]["version"] == "1.2.0"
    assert steps["verify"]["output"]["state"] == "ACTIVE"


def test_05_curl_start_list_and_cancel(guide: Guide) -> None:
    started = curl(guide, CURL_START)
    subset(json.loads(START_RESPONSE), started, values=False)
    with guide.client() as client:
        done = wait_for(client, started["execution_id"], {"completed", "failed"})
        assert done["status"] == "completed", done

    listed = curl(guide, CURL_LIST)
    assert isinstance(listed, list) and 1 <= len(listed) <= 10
    for item in listed:
        subset(json.loads(LIST_ITEM), item, values=False)
    assert started["execution_id"] in {item["execution_id"] for item in listed}

    # Something to cancel: the guide's start request in debug mode pauses before its first step.
    body = json.loads(guide.local(START_REQUEST).replace("/path/to/module.modl", str(guide.module)))
    body["debug_mode"] = True
    with guide.client() as client:
        paused = client.post("/api/executions", json=body).json()["execution_id"]
        wait_for(client, paused, {"paused"})
        cancelled = curl(guide, CURL_CANCEL.replace("550e8400-...", paused))
        assert set(cancelled) == set(json.loads(CONTROL_RESPONSE))
        assert cancelled == {"message": "Execution cancelled", "execution_id": paused}
        assert (
            wait_for(client, paused, {"cancelled", "completed", "failed"})["status"] == "cancelled"
        )


def test_06_javascript_fetch_and_websocket_with_dev_key(guide: Guide, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    flags = ["--experimental-websocket"]
    probe = subprocess.run(
        [node, *flags, "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"],
        capture_output=True,
    )
    if probe.returncode != 0:
        flags = []
        probe = subprocess.run(
            [node, "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"],
            capture_output=True,
        )
        if probe.returncode != 0:
            pytest.skip("this node has no WebSocket")
    # The guide's two snippets as written; around them only what a test needs: wait for the
    # socket, send the guide's heartbeat once now, and stop once the run's final update came.
    script = f"""
{guide.local(JS_WEBSOCKET)}
await new Promise((resolve, reject) => {{
  ws.addEventListener('open', resolve);
  ws.addEventListener('error', reject);
}});
let started = null;
ws.addEventListener('message', (event) => {{
  const message = JSON.parse(event.data);
  if (message.type === 'pong') console.log('pong ' + JSON.stringify(message));
  if (message.type === 'execution_update' && message.data.execution_id === started
      && ['completed', 'failed', 'cancelled'].includes(message.data.status)) {{
    console.log('final ' + message.data.status);
    process.exit(0);
  }}
}});
ws.send('{HEARTBEAT}');
{guide.local(JS_START)}
started = execution_id;
console.log('started ' + execution_id);
setTimeout(() => {{ console.log('timeout'); process.exit(2); }}, 60000);
"""
    path = tmp_path / "guide.mjs"
    path.write_text(script)
    done = subprocess.run([node, *flags, str(path)], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("started ") for line in lines), lines
    assert f"pong {json.dumps(json.loads(PONG), separators=(',', ':'))}" in lines, lines
    assert "Status: running" in lines and "Status: completed" in lines, lines
    assert lines[-1] == "final completed", lines
