"""The client's HTTP engine on the wire: what it sends, cookies, connection reuse, TLS, refusals.

An echo server on a real port reports exactly what arrived, so these tests see the bytes aiohttp
put on the socket for httpx's request, not what either library believes it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from ignition_toolbox.gateway import GatewayClient, GatewayUnreachableError
from ignition_toolbox.gateway.sim import make_tls_cert


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    report = {
        "method": scope["method"],
        "raw_path": scope["raw_path"].decode("latin-1"),
        "query": scope["query_string"].decode("latin-1"),
        "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
        "body": body.decode("latin-1"),
        "client_port": scope["client"][1],
    }
    headers = [(b"content-type", b"application/json")]
    if scope["path"] == "/set-cookie":
        headers.append((b"set-cookie", b"webui-sid-test=abc123; Path=/; HttpOnly"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(report).encode()})


@contextlib.asynccontextmanager
async def echo_server(certs: tuple[Path, Path] | None = None) -> AsyncIterator[str]:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = config.errorlog = None
    if certs:
        config.certfile, config.keyfile = (str(p) for p in certs)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(echo, config, shutdown_trigger=stop.wait))
    scheme = "https" if certs else "http"
    try:
        yield f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        with contextlib.suppress(OSError):  # Hypercorn closes the socket it was given
            sock.close()


def self_signed(directory: Path) -> tuple[Path, Path, str]:
    """A certificate for 127.0.0.1 and its key, as files, plus the certificate's PEM text."""
    cert, key = make_tls_cert("127.0.0.1")
    (directory / "cert.pem").write_text(cert)
    (directory / "key.pem").write_text(key)
    return directory / "cert.pem", directory / "key.pem", cert


def headers_of(report: dict[str, Any]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for key, value in report["headers"]:
        seen.setdefault(key.lower(), []).append(value)
    return seen


async def test_request_arrives_as_httpx_built_it() -> None:
    async with echo_server() as url, GatewayClient(url, api_token="itk:secret") as client:
        response = await client.request(
            "POST",
            "/data/api/v1/modules/upload",
            params={"fileName": "my module ü +&.modl"},
            content=b"\x00PK\x03\x04 bytes",
            headers={"Content-Type": "application/octet-stream"},
        )
        sent = response.json()
        bare = (await client.request("POST", "/data/api/v1/restart-tasks/restart")).json()
        # Built URLs are reused per path and query, never across queries.
        again = await client.request(
            "POST", "/data/api/v1/modules/upload", params={"fileName": "other.modl"}, content=b"x"
        )
        assert again.json()["query"] == "fileName=other.modl"
    assert sent["method"] == "POST"
    assert sent["query"] == "fileName=my+module+%C3%BC+%2B%26.modl"
    assert sent["body"] == "\x00PK\x03\x04 bytes"
    headers = headers_of(sent)
    assert headers["x-ignition-api-token"] == ["itk:secret"]
    assert headers["content-type"] == ["application/octet-stream"]
    assert headers["content-length"] == [str(len(b"\x00PK\x03\x04 bytes"))]
    assert headers["user-agent"] == ["ignition-toolbox-gateway/0.1"]
    # A POST without a body carries no content type of aiohttp's choosing.
    assert "content-type" not in headers_of(bare)


async def test_cookies_are_httpx_s_and_sent_once() -> None:
    async with echo_server() as url, GatewayClient(url) as client:
        await client.request("GET", "/set-cookie", auth="none")
        again = (await client.request("GET", "/after", auth="none")).json()
    assert headers_of(again)["cookie"] == ["webui-sid-test=abc123"]


async def test_one_connection_is_reused() -> None:
    async with echo_server() as url, GatewayClient(url) as client:
        ports = {
            (await client.request("GET", "/StatusPing", auth="none")).json()["client_port"]
            for _ in range(5)
        }
    assert len(ports) == 1


async def test_refused_port_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        async with GatewayClient(f"http://127.0.0.1:{port}") as client:
            with pytest.raises(
                GatewayUnreachableError, match=r"Cannot reach gateway .*ConnectError"
            ):
                await client.status_ping(timeout=5)


async def test_tls_is_verified_and_a_credential_ca_is_trusted(tmp_path: Path) -> None:
    cert, key, pem = self_signed(tmp_path)
    async with echo_server((cert, key)) as url:
        async with GatewayClient(url) as client:
            with pytest.raises(GatewayUnreachableError, match="TLS verification failed"):
                await client.status_ping(timeout=5)
        async with GatewayClient(url, ca_cert=pem) as client:
            assert (await client.request("GET", "/StatusPing", auth="none")).json()[
                "method"
            ] == "GET"
        async with GatewayClient(url, verify=False) as client:
            assert (await client.request("GET", "/x", auth="none")).status_code == 200


def test_a_proxy_in_the_environment_keeps_httpx_s_own_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ignition_toolbox.gateway.transport import AiohttpTransport, default_transport

    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(default_transport(True), AiohttpTransport)
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert default_transport(True) is None  # httpx applies the proxy and NO_PROXY itself
