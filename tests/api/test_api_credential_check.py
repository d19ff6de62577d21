"""``POST /api/credentials/<name>/test`` against stub gateways on loopback: one that answers
``/StatusPing``, one that never answers, a self-signed TLS one, and a closed port (case 108)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from api_support import Running

from ignition_toolbox.gateway.sim import make_tls_cert


class _Ping(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"state": "RUNNING"}).encode() if self.path == "/StatusPing" else b""
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ping_stub() -> Iterator[str]:
    yield from _serve(ThreadingHTTPServer(("127.0.0.1", 0), _Ping))


@pytest.fixture
def silent_stub() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock = socket.create_server(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = make_tls_cert("127.0.0.1")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_text(cert)
    key_file.write_text(key)
    return cert_file, key_file


@pytest.fixture
def tls_stub(tmp_path: Path) -> Iterator[str]:
    cert, key = _self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ping)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from _serve(server)


async def _credential(running: Running, gateway_url: str) -> None:
    response = await running.client.post(
        "/api/credentials",
        json={
            "name": "plant-gw",
            "username": "u",
            "password": "S3CR3T-check",
            "gateway_url": gateway_url,
        },
    )
    assert response.status_code == 201


async def _test(running: Running, body: dict[str, Any] | None = None) -> Any:
    return await running.client.post("/api/credentials/plant-gw/test", json=body or {})


async def test_gateway_that_answers_is_reachable(running: Running, ping_stub: str) -> None:
    await _credential(running, f"http://{ping_stub}/some/path")
    response = await _test(running)
    assert response.status_code == 200
    body = await response.get_json()
    assert body["reachable"] is True and body["status"] == "RUNNING"
    assert body["gateway_url"] == f"http://{ping_stub}"
    assert "S3CR3T" not in json.dumps(body)


async def test_gateway_that_never_answers_is_a_timeout(running: Running, silent_stub: str) -> None:
    await _credential(running, f"http://{silent_stub}")
    began = time.monotonic()
    response = await _test(running, {"timeout": 0.5})
    assert response.status_code == 504
    assert (await response.get_json())["detail"]["error"] == "timeout_error"
    assert time.monotonic() - began < 3


async def test_self_signed_gateway_is_refused(running: Running, tls_stub: str) -> None:
    await _credential(running, f"https://{tls_stub}")
    response = await _test(running, {"timeout": 5})
    assert response.status_code == 400
    detail = (await response.get_json())["detail"]
    assert detail["error"] == "validation_error" and detail["details"]["reason"] == "certificate"


async def test_closed_port_is_unreachable(running: Running) -> None:
    await _credential(running, "http://127.0.0.1:9")
    body = await (await _test(running, {"timeout": 2})).get_json()
    assert body["reachable"] is False


@pytest.mark.parametrize("timeout", [0, -1, 31, "5", True])
async def test_bad_timeouts_are_validation_errors(running: Running, timeout: Any) -> None:
    await _credential(running, "http://127.0.0.1:9")
    response = await _test(running, {"timeout": timeout})
    assert response.status_code == 400


async def test_unknown_credential_is_not_found(running: Running) -> None:
    response = await running.client.post("/api/credentials/nope/test")
    assert (await response.get_json())["detail"]["error"] == "credential_not_found"
