"""Shared pieces of the server tests: a playbook folder, settings in tmp_path, the real Quart app over
a real SQLite file, API keys for every role, and a real server subprocess on a free port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from ignition_toolbox.api import Settings, create_app
from ignition_toolbox.core import PluginManager

sys.path.insert(0, str(Path(__file__).parent))
import api_test_plugin

OK_YAML = """\
name: OK Playbook
version: "1.0"
description: Quick checks
domain: gateway
parameters:
  - name: gateway_url
    type: string
    required: false
    description: Gateway base URL
  - name: count
    type: integer
    default: 1
steps:
  - id: first
    name: First step
    type: utility.log
    parameters:
      message: "count is {{ parameter.count }}"
  - id: second
    name: Second step
    type: utility.set_variable
    parameters:
      name: done
      value: true
"""

SLOW_YAML = """\
name: Slow Playbook
version: "1.0"
description: Waits between steps
domain: gateway
parameters:
  - name: seconds
    type: float
    default: 0.3
steps:
  - id: wait1
    name: Wait one
    type: utility.sleep
    parameters: {seconds: "{{ parameter.seconds }}"}
  - id: wait2
    name: Wait two
    type: utility.sleep
    parameters: {seconds: "{{ parameter.seconds }}"}
  - id: wait3
    name: Wait three
    type: utility.sleep
    parameters: {seconds: "{{ parameter.seconds }}"}
"""

FAIL_YAML = """\
name: Failing Playbook
version: "1.0"
steps:
  - id: boom
    name: Boom
    type: utility.fail
    parameters: {message: "it broke"}
"""

FRAMES_YAML = """\
name: Frames Playbook
version: "1.0"
parameters:
  - name: count
    type: integer
    default: 20
  - name: interval
    type: float
    default: 0.05
steps:
  - id: shot
    name: Keep a screenshot
    type: testing.screenshot
  - id: live
    name: Live view
    type: testing.frames
    parameters: {count: "{{ parameter.count }}", interval: "{{ parameter.interval }}"}
"""

CRED_YAML = """\
name: Credential Playbook
version: "1.0"
parameters:
  - name: cred
    type: credential
steps:
  - id: use
    name: Use the credential
    type: utility.log
    parameters:
      message: "user {{ credential[parameter.cred].username }}"
  - id: send
    name: Send the password to the credential's gateway
    type: testing.send_secret
    parameters:
      secret: "{{ credential[parameter.cred].password }}"
"""

BAD_YAML = "name: [unclosed\n"

READ_YAML = """\
name: Read a file
parameters:
  - {name: path, type: file, required: true}
steps:
  - {id: read, type: testing.read_file, parameters: {path: "{{ parameter.path }}"}}
"""


def write_playbooks(root: Path) -> Path:
    (root / "gateway").mkdir(parents=True, exist_ok=True)
    (root / "examples").mkdir(parents=True, exist_ok=True)
    (root / "gateway" / "ok.yaml").write_text(OK_YAML)
    (root / "gateway" / "slow.yaml").write_text(SLOW_YAML)
    (root / "gateway" / "fail.yaml").write_text(FAIL_YAML)
    (root / "examples" / "frames.yaml").write_text(FRAMES_YAML)
    (root / "examples" / "cred.yaml").write_text(CRED_YAML)
    (root / "examples" / "bad.yaml").write_text(BAD_YAML)
    (root / "examples" / "read.yaml").write_text(READ_YAML)
    return root


def isolated_plugins() -> PluginManager:
    """Only the core built-ins and the test plugin: other engineers' plugins stay out."""
    return PluginManager(entry_points=False, extra=[("testplugin", api_test_plugin)])


@pytest.fixture
def playbooks_dir(tmp_path: Path) -> Path:
    return write_playbooks(tmp_path / "repo-playbooks")


@pytest.fixture
def make_settings(tmp_path: Path, playbooks_dir: Path) -> Any:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "playbooks_dir": playbooks_dir,
            "secret_key_file": tmp_path / "keys" / "secret.key",
            "bootstrap_admin": False,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@dataclass
class Running:
    app: Quart
    client: TestClientProtocol

    @property
    def state(self) -> Any:
        return self.app.extensions["itk"]


@pytest.fixture
async def running(make_settings: Any) -> AsyncIterator[Running]:
    app = create_app(make_settings(), plugins=isolated_plugins())
    async with app.test_app() as test_app:
        yield Running(app, test_app.test_client())


@pytest.fixture
async def secured(make_settings: Any) -> AsyncIterator[Running]:
    app = create_app(make_settings(auth=True), plugins=isolated_plugins())
    async with app.test_app() as test_app:
        yield Running(app, test_app.test_client())


async def role_keys() -> dict[str, str]:
    from ignition_toolbox.api import keys

    out = {}
    for role in ("readonly", "executor", "user", "admin"):
        out[role] = (await keys.create_key(role, f"{role}-key")).raw
    return out


async def wait_status(
    client: TestClientProtocol,
    execution_id: str,
    statuses: set[str],
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    import asyncio

    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await client.get(f"/api/executions/{execution_id}", headers=headers or {})
        body = await response.get_json()
        if body.get("status") in statuses:
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"execution never reached {statuses}: {body}")


# -- a real server process -------------------------------------------------------------------

LISTENING = re.compile(r"itk: listening on (http://\S+)")


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    url: str
    output: list[str]

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def start_server(
    data_dir: Path,
    playbooks_dir: Path,
    key_file: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> ServerProcess:
    """Returns once the ``itk: listening on`` line is out. The timeout is generous for a loaded
    CI machine; a server that fails to start exits and is reported at once anyway."""
    environment = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(Path(__file__).parent),
        **(env or {}),
    }
    command = [
        sys.executable,
        str(Path(__file__).parent / "serve_for_tests.py"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        "--playbooks-dir",
        str(playbooks_dir),
        "--secret-key-file",
        str(key_file),
        *extra,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    output: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        output.append(line)
        match = LISTENING.search(line)
        if match:
            server = ServerProcess(process, match.group(1), output)
            _drain(process, output)
            return server
    process.kill()
    raise AssertionError("server did not start:\n" + "".join(output))


def _drain(process: subprocess.Popen[str], output: list[str]) -> None:
    import threading

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)

    threading.Thread(target=pump, daemon=True).start()


@pytest.fixture
def server_paths(tmp_path: Path, playbooks_dir: Path) -> tuple[Path, Path, Path]:
    return tmp_path / "srv-data", playbooks_dir, tmp_path / "srv-keys" / "secret.key"


@pytest.fixture
def server(server_paths: tuple[Path, Path, Path]) -> Iterator[ServerProcess]:
    process = start_server(*server_paths)
    yield process
    if process.process.poll() is None:
        process.stop(signal.SIGKILL)


def http(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=10)
