"""WebSocket fan-out on a real server: a viewer that never reads is dropped without slowing the run
or the other viewers (SECURITY.md R3 at small scale), and frames are not deflated per viewer."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import httpx
import psutil
import websockets
from api_support import ServerProcess

BIG_FRAMES_YAML = """\
name: Big frames
steps:
  - id: live
    type: testing.frames
    parameters: {count: 100, interval: 0.05, size: 300000}
"""


def _stalled_client(server: ServerProcess) -> socket.socket:
    """Completes the handshake, then never reads again."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(
        (
            f"GET /ws/executions HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    return sock


def _server_holds(server: ServerProcess, local_port: int) -> bool:
    return any(
        c.raddr and c.raddr.port == local_port and c.status == psutil.CONN_ESTABLISHED
        for c in psutil.Process(server.process.pid).net_connections(kind="tcp")
    )


async def test_stalled_viewer_is_dropped_and_the_others_get_every_frame(
    server: ServerProcess, playbooks_dir: Path
) -> None:
    (playbooks_dir / "examples" / "big_frames.yaml").write_text(BIG_FRAMES_YAML)
    stalled = _stalled_client(server)
    port = stalled.getsockname()[1]
    count = 100
    try:
        async with websockets.connect(server.ws_url + "/ws/executions", max_size=None) as viewer:
            # Offered (websockets offers it, like browsers) and declined: deflate is per viewer.
            assert viewer.response.headers.get("Sec-WebSocket-Extensions") is None
            async with httpx.AsyncClient(base_url=server.url) as client:
                began = time.monotonic()
                await client.post(
                    "/api/executions",
                    json={"playbook_path": "examples/big_frames.yaml"},
                )
            frames = 0
            while True:
                message = json.loads(await asyncio.wait_for(viewer.recv(), 10))
                if message["type"] == "screenshot_frame":
                    frames += 1
                elif message["data"].get("status") == "completed":
                    break
            run_seconds = time.monotonic() - began
        # 100 frames of 400 KB fill the stalled peer's buffers within a second or so; the
        # kernel then gives up on it after the 4 s send timeout.
        while _server_holds(server, port) and time.monotonic() - began < 15:
            await asyncio.sleep(0.1)
        dropped_after = time.monotonic() - began
    finally:
        stalled.close()
    assert frames >= 0.95 * count
    assert run_seconds < 5 * 1.5, "the stalled viewer slowed the execution down"
    assert dropped_after < 10, "the stalled client was not dropped"
