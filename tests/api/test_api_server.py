"""The real server over real sockets: ``serve`` start-up line, the guide's examples, the WebSocket,
SIGTERM and ``kill -9`` recovery."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from api_support import ServerProcess, start_server

from ignition_toolbox.api import Settings
from ignition_toolbox.api.app import CLIENT_DRAIN_SECONDS

pytestmark = pytest.mark.timeout(90)


def bootstrap_key(server: ServerProcess) -> str:
    line = next(line for line in server.output if "bootstrap admin key" in line)
    return line.split()[-1]


def wait_for(
    client: httpx.Client, execution_id: str, statuses: set[str], timeout: float = 15
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/executions/{execution_id}").json()
        if body.get("status") in statuses:
            return body
        time.sleep(0.05)
    raise AssertionError(f"never reached {statuses}: {body}")


async def async_wait_for(
    client: httpx.AsyncClient, execution_id: str, statuses: set[str], timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = (await client.get(f"/api/executions/{execution_id}")).json()
        if body.get("status") in statuses:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached {statuses}: {body}")


async def recv_json(ws: Any, timeout: float = 10) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws: Any, predicate: Any, timeout: float = 15) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await recv_json(ws, deadline - time.monotonic())
        seen.append(message)
        if predicate(message):
            return seen
    raise AssertionError(f"predicate never held; saw {seen[-5:]}")


def test_serve_prints_listening_line_and_serves_health(server: ServerProcess) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert not server.url.endswith(":0")
    response = httpx.get(server.url + "/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy" and set(body) == {"status", "version", "uptime_seconds"}
    assert "server" not in response.headers


def test_guide_curl_examples(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        # curl -X POST /api/executions -H "Content-Type: application/json" -d '{...}'
        started = client.post(
            "/api/executions",
            headers={"Content-Type": "application/json"},
            content=json.dumps(
                {
                    "playbook_path": "gateway/slow.yaml",
                    "gateway_url": "http://localhost:8088",
                    "parameters": {"seconds": 2},
                }
            ),
        )
        assert started.status_code == 202
        body = started.json()
        assert body["status"] == "started" and body["playbook_name"] == "Slow Playbook"
        execution_id = body["execution_id"]
        # curl http://localhost:5000/api/executions?limit=10
        listing = client.get("/api/executions?limit=10")
        assert listing.status_code == 200
        assert execution_id in [row["execution_id"] for row in listing.json()]
        wait_for(client, execution_id, {"running"})
        # curl -X POST http://localhost:5000/api/executions/<id>/cancel
        cancelled = client.post(f"/api/executions/{execution_id}/cancel")
        assert cancelled.json() == {"message": "Execution cancelled", "execution_id": execution_id}
        assert wait_for(client, execution_id, {"cancelled"})["status"] == "cancelled"
        missing = client.get("/api/playbooks/test.yaml")
        assert missing.status_code == 404
        detail = missing.json()["detail"]
        assert detail["error"] == "playbook_not_found"
        assert detail["message"] == "Playbook 'test.yaml' not found"
        assert detail["details"] == {"path": "test.yaml"}


async def test_guide_javascript_examples(server: ServerProcess) -> None:
    async with websockets.connect(server.ws_url + "/ws/executions?api_key=dev-key") as ws:
        await ws.send(json.dumps({"type": "ping", "timestamp": 1707000000000}))
        assert await recv_json(ws) == {"type": "pong", "timestamp": 1707000000000}
        async with httpx.AsyncClient(base_url=server.url) as client:
            response = await client.post(
                "/api/executions",
                headers={"Content-Type": "application/json"},
                content=json.dumps(
                    {"playbook_path": "examples/frames.yaml", "parameters": {"count": 5}}
                ),
            )
            execution_id = response.json()["execution_id"]
        seen = await recv_until(
            ws,
            lambda m: m["type"] == "execution_update" and m["data"]["status"] == "completed",
        )
    updates = [m for m in seen if m["type"] == "execution_update"]
    assert all(m["data"]["execution_id"] == execution_id for m in updates)
    assert {"execution_id", "status", "current_step_index"} <= set(updates[-1]["data"])
    with_step = [m for m in updates if "step_result" in m["data"]]
    assert with_step and {"step_id", "status"} <= set(with_step[-1]["data"]["step_result"])
    frames = [m for m in seen if m["type"] == "screenshot_frame"]
    assert frames, "no screenshot_frame received"
    frame = frames[0]["data"]
    assert frame["execution_id"] == execution_id
    assert frame["frame"].startswith("data:image/png;base64,")
    assert isinstance(frame["timestamp"], int)


async def test_websocket_policies(server_paths: tuple[Path, Path, Path]) -> None:
    server = start_server(*server_paths, "--auth")
    try:
        admin = bootstrap_key(server)
        with httpx.Client(base_url=server.url, headers={"X-API-Key": admin}) as client:
            readonly = client.post("/api/keys", json={"name": "r", "role": "readonly"}).json()[
                "key"
            ]
            executor = client.post("/api/keys", json={"name": "x", "role": "executor"}).json()[
                "key"
            ]
        # Refused before the upgrade, with the envelope.
        for url, headers, status in (
            ("/ws/executions", {}, 401),
            ("/ws/executions?api_key=itk_bad", {}, 401),
            (f"/ws/executions?api_key={readonly}", {"Origin": "https://evil.example"}, 403),
        ):
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(server.ws_url + url, additional_headers=headers):
                    pass
            assert refused.value.response.status_code == status
            assert json.loads(refused.value.response.body)["detail"]["error"] in (
                "unauthorized",
                "permission_denied",
            )
        async with (
            websockets.connect(server.ws_url + f"/ws/executions?api_key={readonly}") as ro,
            websockets.connect(
                server.ws_url + "/ws/executions", additional_headers={"X-API-Key": executor}
            ) as ex,
        ):
            await ro.send("not json")
            assert (await recv_json(ro))["error"]["code"] == "validation_error"
            await ro.send(json.dumps({"type": "bogus"}))
            error = await recv_json(ro)
            assert error["error"]["code"] == "validation_error" and "bogus" not in json.dumps(error)
            await ro.send(json.dumps({"type": "subscribe", "execution_ids": ["nope"]}))
            assert (await recv_json(ro))["error"]["code"] == "execution_not_found"
            with httpx.Client(base_url=server.url, headers={"X-API-Key": executor}) as client:
                client.post(
                    "/api/executions",
                    json={"playbook_path": "examples/frames.yaml", "parameters": {"count": 10}},
                )
            done = lambda m: m["type"] == "execution_update" and m["data"]["status"] == "completed"  # noqa: E731
            seen_ro = await recv_until(ro, done)
            seen_ex = await recv_until(ex, done)
            assert not [m for m in seen_ro if m["type"] == "screenshot_frame"]
            assert [m for m in seen_ex if m["type"] == "screenshot_frame"]
        # A message over 64 KiB closes with 1009.
        async with websockets.connect(
            server.ws_url + f"/ws/executions?api_key={readonly}", max_size=None
        ) as big:
            await big.send("x" * (100 * 1024))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(big.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    finally:
        server.stop(signal.SIGKILL)


async def read_until_closed(ws: Any, timeout: float = 45) -> tuple[list[dict[str, Any]], Any]:
    """Every message until the server closes; returns them and the close frame received."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            seen.append(json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic())))
    return seen, closed.value.rcvd


async def test_sigterm_cancels_runs_and_closes_clients(
    server_paths: tuple[Path, Path, Path],
) -> None:
    """R5: SIGTERM with 5 runs in flight and one queued: every run ends ``cancelled`` (R5 also
    allows ``interrupted``, for a run that outlives graceful_timeout and is swept at the next
    start; none does here), each viewer hears every run's final state and then a close 1001, and
    the process exits 0. Timeouts are generous for a loaded 2-core CI; the times are printed."""
    graceful_timeout = Settings().graceful_timeout
    server = start_server(*server_paths, "--max-concurrent", "5")
    async with websockets.connect(server.ws_url + "/ws/executions") as everything:
        # An async client: blocking calls here would stall the open WebSocket's event loop.
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            ids = []
            for _ in range(6):
                started = await client.post(
                    "/api/executions",
                    json={"playbook_path": "gateway/slow.yaml", "parameters": {"seconds": 30}},
                )
                ids.append(started.json()["execution_id"])
            for execution_id in ids[:5]:
                await async_wait_for(client, execution_id, {"running"})
            queued = await client.get(f"/api/executions/{ids[5]}")
            assert queued.json()["status"] == "pending"
        query = "&".join(f"execution_id={i}" for i in ids)
        async with websockets.connect(server.ws_url + "/ws/executions?" + query) as subscribed:
            # Readiness: the server answers pings only once the viewer is in the hub.
            await subscribed.send(json.dumps({"type": "ping", "timestamp": 1}))
            assert await recv_json(subscribed, 30) == {"type": "pong", "timestamp": 1}
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            (seen_all, close_all), (seen_some, close_some) = await asyncio.gather(
                read_until_closed(everything), read_until_closed(subscribed)
            )
        closed_after = time.monotonic() - signalled
    assert server.process.wait(60) == 0
    exited_after = time.monotonic() - signalled
    print(f"\nSIGTERM: viewers closed after {closed_after:.2f} s, exit after {exited_after:.2f} s")
    for seen, close in ((seen_all, close_all), (seen_some, close_some)):
        assert close is not None and close.code == 1001
        final = {
            m["data"]["execution_id"]: m["data"]["status"]
            for m in seen
            if m["type"] == "execution_update"
        }
        assert final == dict.fromkeys(ids, "cancelled"), final
    # Every run ended (final update above) while the server waited up to graceful_timeout for
    # them; only then were the viewers closed. The bound is loose: a loaded CI is slow, not wrong.
    assert closed_after < graceful_timeout + CLIENT_DRAIN_SECONDS + 10
    assert not list(server_paths[0].rglob("*.tmp")), "partial files left behind"
    restarted = start_server(*server_paths)
    try:
        with httpx.Client(base_url=restarted.url, timeout=30) as client:
            for execution_id in ids:
                body = client.get(f"/api/executions/{execution_id}").json()
                assert body["status"] == "cancelled", body
                assert not [s for s in body["step_results"] if s["status"] == "running"], body
    finally:
        restarted.stop()


def test_kill_9_mid_run_ends_interrupted_and_keeps_completed_steps(
    server_paths: tuple[Path, Path, Path],
) -> None:
    server = start_server(*server_paths)
    acknowledged: list[str] = []
    with httpx.Client(base_url=server.url, timeout=10) as client:
        execution_id = client.post(
            "/api/executions",
            json={"playbook_path": "gateway/slow.yaml", "parameters": {"seconds": 1}},
        ).json()["execution_id"]
        acknowledged.append(execution_id)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            steps = client.get(f"/api/executions/{execution_id}").json()["step_results"]
            if steps and steps[0]["status"] == "completed":
                break
            time.sleep(0.05)
        paused = client.post(
            "/api/executions",
            json={"playbook_path": "gateway/slow.yaml", "parameters": {"seconds": 1}},
        ).json()["execution_id"]
        acknowledged.append(paused)
        client.post(f"/api/executions/{paused}/pause")
        for _ in range(5):
            acknowledged.append(
                client.post("/api/executions", json={"playbook_path": "gateway/ok.yaml"}).json()[
                    "execution_id"
                ]
            )
    server.process.kill()
    server.process.wait(10)
    restarted = start_server(*server_paths)
    try:
        with httpx.Client(base_url=restarted.url) as client:
            body = client.get(f"/api/executions/{execution_id}").json()
            assert body["status"] == "interrupted"
            assert body["error"]["code"] == "internal_error"
            assert body["error"]["reason"] == "server_restart"
            statuses = [s["status"] for s in body["step_results"]]
            assert statuses[0] == "completed" and statuses[-1] == "interrupted"
            assert client.post(f"/api/executions/{execution_id}/cancel").status_code == 400
            for acked in acknowledged:
                row = client.get(f"/api/executions/{acked}")
                assert row.status_code == 200
                assert row.json()["status"] not in ("pending", "running", "paused")
            again = client.post("/api/executions", json={"playbook_path": "gateway/ok.yaml"})
            assert (
                wait_for(client, again.json()["execution_id"], {"completed"})["status"]
                == "completed"
            )
    finally:
        restarted.stop()


def test_refuses_non_loopback_without_auth(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ignition_toolbox.api",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "--auth" in result.stderr


def test_corrupt_database_stops_start_up(server_paths: tuple[Path, Path, Path]) -> None:
    data_dir, playbooks, key_file = server_paths
    data_dir.mkdir(parents=True)
    (data_dir / "itk.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(AssertionError, match="did not start"):
        start_server(data_dir, playbooks, key_file, timeout=15)
    assert (data_dir / "itk.sqlite3").read_bytes().startswith(b"this is not a database")


def test_keys_create_command_prints_the_key_last(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ignition_toolbox.api",
            "keys",
            "create",
            "--role",
            "admin",
            "--name",
            "ci",
            "--data-dir",
            str(tmp_path / "d"),
            "--secret-key-file",
            str(tmp_path / "k"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("itk_") and len(last) == 76


async def test_accepted_connections_send_without_nagle() -> None:
    """With Nagle on, a response written as headers then body waits for the client's delayed ACK
    (40 ms on Linux) on every request; asyncio only turns it off for sockets whose proto is TCP."""
    import socket

    from ignition_toolbox.api.server import listening_socket

    seen: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(
            writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        )
        writer.close()

    sock = listening_socket("127.0.0.1", 0, 5.0)
    server = await asyncio.start_server(handle, sock=sock)
    async with server:
        reader, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        await reader.read()
        writer.close()
    assert seen and seen[0] != 0


def test_event_loop_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvloop

    from ignition_toolbox.api.server import event_loop_factory

    assert event_loop_factory() is uvloop.new_event_loop
    monkeypatch.setenv("ITK_EVENT_LOOP", "asyncio")
    assert event_loop_factory() is None
