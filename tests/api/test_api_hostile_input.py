"""Hostile input cannot stall or break the server (issue 12): ids of the wrong shape, concurrent
deletes, bodies a response left unread, authentication floods, foreign ``Host`` headers and gateway
URLs naming addresses no gateway lives at. Each answers in the API_GUIDE.md envelope, never a 500."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import Running, isolated_plugins, role_keys, start_server, wait_status

from ignition_toolbox.api import Settings, create_app
from ignition_toolbox.api.failure_audit import FailureAudit
from ignition_toolbox.api.models import AuditRecord, CredentialRecord, ExecutionRecord
from ignition_toolbox.api.server_names import default_server_names, host_name

LONG = "a" * 37
ENVELOPE_KEYS = {"error", "message", "details", "request_id"}


async def _error(response: Any) -> dict[str, Any]:
    body = await response.get_json()
    assert set(body) == {"detail"} and set(body["detail"]) == ENVELOPE_KEYS, body
    return dict(body["detail"])


# -- 1. ids of the wrong shape ------------------------------------------------------------------

MALFORMED_ID_REQUESTS = [
    ("GET", f"/api/executions/{LONG}", "execution_not_found"),
    ("GET", f"/api/executions/{'a' * 5000}", "execution_not_found"),
    ("GET", "/api/executions/a%00b", "execution_not_found"),
    ("GET", "/api/executions/a.b", "execution_not_found"),
    ("DELETE", f"/api/executions/{LONG}", "execution_not_found"),
    ("POST", f"/api/executions/{LONG}/pause", "execution_not_found"),
    ("POST", f"/api/executions/{LONG}/resume", "execution_not_found"),
    ("POST", f"/api/executions/{LONG}/skip", "execution_not_found"),
    ("POST", f"/api/executions/{LONG}/cancel", "execution_not_found"),
    ("POST", f"/api/executions/{LONG}/retry", "execution_not_found"),
    ("GET", f"/api/executions/{LONG}/report?format=junit", "execution_not_found"),
    ("GET", f"/api/executions/{LONG}/artifacts", "execution_not_found"),
    ("GET", f"/api/executions/{LONG}/artifacts/{'b' * 70}", "execution_not_found"),
    ("GET", f"/api/executions/{LONG}/screenshots/0", "execution_not_found"),
    ("GET", f"/api/keys/{'k' * 70}", "not_found"),
    ("PATCH", f"/api/keys/{'k' * 70}", "not_found"),
    ("DELETE", f"/api/keys/{'k' * 70}", "not_found"),
    ("GET", f"/ui/{'n' * 300}", "not_found"),
    ("GET", "/ui/a%00b.js", "not_found"),
]


@pytest.mark.parametrize(("method", "url", "code"), MALFORMED_ID_REQUESTS)
async def test_an_id_of_the_wrong_shape_is_the_resources_404(
    secured: Running, method: str, url: str, code: str
) -> None:
    keys = await role_keys()
    kwargs: dict[str, Any] = {"headers": {"X-API-Key": keys["admin"]}}
    if method == "PATCH":
        kwargs["json"] = {"name": "x"}
    response = await secured.client.open(url, method=method, **kwargs)
    assert response.status_code == 404, await response.get_data(as_text=True)
    detail = await _error(response)
    assert detail["error"] == code
    assert "Traceback" not in detail["message"] and "/" not in detail["message"]
    assert len(json.dumps(detail)) < 1000  # a 5000-character id is not echoed whole


async def test_an_artifact_id_of_the_wrong_shape_of_a_real_execution(secured: Running) -> None:
    keys = await role_keys()
    admin = {"X-API-Key": keys["admin"]}
    started = await secured.client.post(
        "/api/executions", json={"playbook_path": "gateway/ok.yaml"}, headers=admin
    )
    execution_id = (await started.get_json())["execution_id"]
    await wait_status(secured.client, execution_id, {"completed"}, headers=admin)
    response = await secured.client.get(
        f"/api/executions/{execution_id}/artifacts/{'b' * 70}", headers=admin
    )
    assert response.status_code == 404
    detail = await _error(response)
    assert detail["error"] == "not_found" and detail["details"] == {"artifact_id": "b" * 64}


async def test_a_malformed_id_is_still_401_without_a_key(secured: Running) -> None:
    response = await secured.client.get(f"/api/executions/{LONG}")
    assert response.status_code == 401
    assert (await _error(response))["error"] == "unauthorized"


async def test_websocket_subscription_to_a_malformed_id_is_an_error_frame(
    running: Running,
) -> None:
    async with running.client.websocket(f"/ws/executions?execution_id={LONG}") as ws:
        for ids in ([LONG], ["x\u0000y"], ["a" * 5000], ["nope", LONG]):
            await ws.send(json.dumps({"type": "subscribe", "execution_ids": ids}))
            frame = json.loads(await asyncio.wait_for(ws.receive(), 5))
            assert frame["type"] == "error"
            assert frame["error"]["code"] == "execution_not_found"
        await ws.send(json.dumps({"type": "ping", "timestamp": 7}))
        assert json.loads(await asyncio.wait_for(ws.receive(), 5)) == {
            "type": "pong",
            "timestamp": 7,
        }


# -- 2. one conditional delete -----------------------------------------------------------------


async def test_of_concurrent_deletes_exactly_one_succeeds(running: Running) -> None:
    for _ in range(5):
        started = await running.client.post(
            "/api/executions", json={"playbook_path": "examples/frames.yaml"}
        )
        execution_id = (await started.get_json())["execution_id"]
        await wait_status(running.client, execution_id, {"completed"})
        responses = await asyncio.gather(
            *(running.client.delete(f"/api/executions/{execution_id}") for _ in range(10))
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [404] * 9, statuses
        for response in responses:
            if response.status_code == 404:
                assert (await _error(response))["error"] == "execution_not_found"
            else:
                assert (await response.get_json())["screenshots_deleted"] == 1
        assert not await ExecutionRecord.exists(id=execution_id)
        assert (
            await AuditRecord.filter(action="execution.deleted", target=execution_id).count() == 1
        )


async def test_deleting_an_active_execution_is_still_refused(running: Running) -> None:
    started = await running.client.post(
        "/api/executions",
        json={"playbook_path": "gateway/slow.yaml", "parameters": {"seconds": 1}},
    )
    execution_id = (await started.get_json())["execution_id"]
    refused = await running.client.delete(f"/api/executions/{execution_id}")
    assert refused.status_code == 400
    assert (await _error(refused))["error"] == "validation_error"
    await running.client.post(f"/api/executions/{execution_id}/cancel")
    await wait_status(running.client, execution_id, {"cancelled"})
    assert (await running.client.delete(f"/api/executions/{execution_id}")).status_code == 200


# -- 3. a response before the body is read -----------------------------------------------------


def _read_response(sock: socket.socket) -> tuple[bytes, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body; (b"", {}, b"") when the peer closed."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b"", {}, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {
        k.strip().lower().decode(): v.strip().decode()
        for k, _, v in (line.partition(b":") for line in lines)
    }
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length]


def _post(port: int, size: int, path: str = "/api/executions") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    ).encode()


HEALTH = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.mark.timeout(120)
def test_a_4xx_before_the_body_never_costs_the_next_request(
    server_paths: tuple[Path, Path, Path],
) -> None:
    server = start_server(*server_paths, "--auth")
    try:
        port = int(server.url.rsplit(":", 1)[1])
        # Bodies within the limit are read and dropped: the connection serves the next request.
        for size in (2, 10_000, 900_000):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                for _ in range(3):
                    sock.sendall(_post(port, size))
                    sock.sendall(b"{" + b" " * (size - 2) + b"}")
                    status, headers, body = _read_response(sock)
                    assert status.startswith(b"HTTP/1.1 401"), (size, status)
                    assert json.loads(body)["detail"]["error"] == "unauthorized"
                    assert headers.get("connection") != "close"
                    sock.sendall(HEALTH)
                    status, _, body = _read_response(sock)
                    assert status.startswith(b"HTTP/1.1 200"), (size, status)
                    assert json.loads(body)["status"] == "healthy"
        # Pipelined: the next request is already on the wire behind the body.
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(_post(port, 2) + b"{}" + HEALTH)
            assert _read_response(sock)[0].startswith(b"HTTP/1.1 401")
            assert _read_response(sock)[0].startswith(b"HTTP/1.1 200")
        # Over the body limit, or a body that does not come: the response says the connection ends.
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(_post(port, 2 * 1024 * 1024))
            sock.sendall(b"x" * 64 * 1024)
            status, headers, _ = _read_response(sock)
            assert status.startswith(b"HTTP/1.1 401") and headers["connection"] == "close"
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(_post(port, 50_000))
            status, headers, _ = _read_response(sock)
            assert status.startswith(b"HTTP/1.1 401") and headers["connection"] == "close"
        # An ordinary keep-alive client: refused POSTs with bodies never break the GETs after them.
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for n in range(20):
                refused = client.post("/api/credentials", content=b'{"name": "x"}' * (n + 1))
                assert refused.status_code == 401
                assert client.get("/api/health").status_code == 200
    finally:
        server.stop()


# -- 4. failed authentications, audited per source and window ----------------------------------


async def test_an_unauthenticated_flood_writes_one_row_per_source_and_reason(
    secured: Running,
) -> None:
    statuses = set()
    for n in range(600):
        headers = {"X-API-Key": "itk_nope"} if n % 2 else {}
        statuses.add((await secured.client.get("/api/playbooks", headers=headers)).status_code)
    assert statuses <= {401, 429}
    await secured.state.auth.failures.flush()
    rows = await AuditRecord.filter(action="auth.failed")
    assert len(rows) == 2, [r.details for r in rows]
    counts = {r.details["reason"]: r.details["count"] for r in rows}
    assert counts == {"missing": 300, "malformed": 300}
    assert all(r.outcome == "failure" and r.details["window_seconds"] == 60 for r in rows)


async def test_counts_reach_the_row_without_an_explicit_flush(make_settings: Any) -> None:
    app = create_app(make_settings(auth=True), plugins=isolated_plugins())
    async with app.test_app() as test_app:
        client = test_app.test_client()
        app.extensions["itk"].auth.failures.flush_delay = 0.05
        for _ in range(5):
            await client.get("/api/playbooks", headers={"X-API-Key": "x"})
        await asyncio.sleep(0.3)
        row = await AuditRecord.get(action="auth.failed")
        assert row.details["count"] == 5
        for _ in range(3):
            await client.get("/api/playbooks", headers={"X-API-Key": "x"})
    # Stopping the server writes the last counts.
    async with create_app(make_settings(auth=True), plugins=isolated_plugins()).test_app():
        assert (await AuditRecord.get(action="auth.failed")).details["count"] == 8


async def test_failure_windows_and_the_bounded_source_table(running: Running) -> None:
    now = [1_000_020.0]
    audit = FailureAudit(window=60, max_sources=3, clock=lambda: now[0])
    for ip in ("10.0.0.1", "10.0.0.1", "10.0.0.2"):
        await audit.record(ip, "unknown")
    now[0] += 60  # the next window starts new rows
    await audit.record("10.0.0.1", "unknown")
    for n in range(10):
        await audit.record(f"10.1.0.{n}", "unknown")
    await audit.close()
    rows = await AuditRecord.filter(action="auth.failed").order_by("id")
    summary = [(r.ip, r.details["count"], r.details.get("sources")) for r in rows]
    assert summary == [
        ("10.0.0.1", 2, None),
        ("10.0.0.2", 1, None),
        ("10.0.0.1", 1, None),
        ("10.1.0.0", 1, None),
        ("10.1.0.1", 1, None),
        (None, 8, "(other sources)"),
    ]
    assert rows[0].details["window_start"] != rows[2].details["window_start"]


async def _audit_row(age_days: int) -> int:
    row = await AuditRecord.create(action="test.old", actor="t", details={})
    stamp = datetime.now(UTC) - timedelta(days=age_days)
    await AuditRecord.filter(id=row.id).update(timestamp=stamp)
    return int(row.id)


@pytest.mark.parametrize(("retention", "kept"), [(365, {10, 300}), (30, {10}), (0, {10, 300, 400})])
async def test_audit_retention_is_applied_by_the_maintenance_cleanup(
    make_settings: Any, retention: int, kept: set[int]
) -> None:
    app = create_app(
        make_settings(auth=True, audit_retention_days=retention), plugins=isolated_plugins()
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        keys = await role_keys()
        ages = {await _audit_row(age): age for age in (10, 300, 400)}
        response = await client.post(
            "/api/maintenance/cleanup",
            json={"older_than_days": 30},
            headers={"X-API-Key": keys["admin"]},
        )
        assert response.status_code == 200
        body = await response.get_json()
        assert body["audit_rows_deleted"] == 3 - len(kept)
        left = await AuditRecord.filter(action="test.old").values_list("id", flat=True)
        assert {ages[i] for i in left} == kept
        row = await AuditRecord.get(action="maintenance.cleanup")
        assert row.details["audit_rows_deleted"] == 3 - len(kept)


# -- 5. Host against the server's names in key mode --------------------------------------------


async def test_key_mode_refuses_a_foreign_host(secured: Running) -> None:
    keys = await role_keys()
    admin = {"X-API-Key": keys["admin"]}
    for host in ("localhost", "127.0.0.1:5000", "LOCALHOST.", "[::1]:5000"):
        ok = await secured.client.get("/api/playbooks", headers={**admin, "Host": host})
        assert ok.status_code == 200, host
    for host in ("evil.example", "evil.example:5000", "localhost@evil.example", "", "a b"):
        for url in ("/api/playbooks", "/api/health", "//api//health"):
            response = await secured.client.get(url, headers={**admin, "Host": host})
            assert response.status_code == 400, (host, url, response.status_code)
            assert "Location" not in response.headers
            detail = await _error(response)
            assert detail["error"] == "validation_error"
            assert detail["details"] == {"header": "Host"}
    # With a Host it answers to, merged slashes are refused, never redirected (test_api_paths.py).
    refused = await secured.client.get("//api//health", headers={**admin, "Host": "localhost"})
    assert refused.status_code == 400
    assert "Location" not in refused.headers
    assert (await _error(refused))["error"] == "invalid_path"


async def test_configured_server_names_replace_the_defaults(make_settings: Any) -> None:
    settings = make_settings(auth=True, server_names=("toolbox.example", "10.1.2.3"))
    app = create_app(settings, plugins=isolated_plugins())
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for host, status in (
            ("toolbox.example:5000", 200),
            ("TOOLBOX.EXAMPLE", 200),
            ("10.1.2.3", 200),
            ("localhost", 400),
            ("evil.example", 400),
        ):
            response = await client.get("/api/health", headers={"Host": host})
            assert response.status_code == status, host
        with pytest.raises(Exception) as refused:
            async with client.websocket("/ws/executions", headers={"Host": "evil.example"}) as ws:
                await ws.receive()
        assert getattr(refused.value, "response", None) is not None
        assert refused.value.response.status_code == 400  # type: ignore[attr-defined]


def test_default_server_names_follow_the_bind_address() -> None:
    assert {"127.0.0.1", "localhost", "::1"} <= default_server_names("127.0.0.1")
    assert "localhost" in default_server_names("::1")
    machine = socket.gethostname().lower().rstrip(".")
    wildcard = default_server_names("0.0.0.0")
    assert {"localhost", "127.0.0.1", machine} <= wildcard
    assert machine in default_server_names("::")
    assert default_server_names("203.0.113.7") >= {"203.0.113.7"}
    assert "localhost" not in default_server_names("203.0.113.7")


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Example.COM:8080", "example.com"),
        ("example.com.", "example.com"),
        ("[::1]:5000", "::1"),
        ("[0:0::1]", "::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("a@b", None),
        ("a/b", None),
        ("a:1:2", None),
        ("[::1", None),
        ("", None),
        (None, None),
    ],
)
def test_host_header_reading(header: str | None, name: str | None) -> None:
    assert host_name(header) == name


def test_settings_single_source_for_the_new_options(tmp_path: Path) -> None:
    from ignition_toolbox.api.commands import register, settings_from_args

    env = {
        "ITK_SERVER_NAMES": "a.example, B.example:80",
        "ITK_ALLOW_SPECIAL_GATEWAY_ADDRESSES": "yes",
        "ITK_AUDIT_RETENTION_DAYS": "30",
    }
    settings = Settings.from_env(env)
    assert settings.server_names == ("a.example", "b.example")
    assert settings.allow_special_gateway_addresses is True
    assert settings.audit_retention_days == 30
    defaults = Settings.from_env({})
    assert defaults.server_names == () and defaults.audit_retention_days == 365
    assert defaults.allow_special_gateway_addresses is False

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "serve",
            "--server-name",
            "x.example,y.example",
            "--server-name",
            "[::1]",
            "--allow-special-gateway-addresses",
            "--audit-retention-days",
            "7",
            "--data-dir",
            str(tmp_path),
        ]
    )
    from_args = settings_from_args(args)
    assert from_args.server_names == ("x.example", "y.example", "::1")
    assert from_args.allow_special_gateway_addresses is True
    assert from_args.audit_retention_days == 7
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--server-name", "bad/name"])


# -- 6. gateway URLs naming addresses no gateway lives at --------------------------------------

SPECIAL_URLS = [
    "http://169.254.169.254/latest/meta-data",
    "http://169.254.0.1:8088",
    "http://0xa9.0xfea9fe",  # 169.254.169.254 in inet_aton's two-part hex form
    "http://2852039166",  # 169.254.169.254 as one number
    "http://[::ffff:169.254.169.254]",
    "http://[fe80::1]:8088",
    "http://0.0.0.0:8088",
    "http://0",
    "http://[::]:8088",
    "http://224.0.0.1",
    "https://[ff02::1]",
]
ORDINARY_URLS = [
    "http://10.0.0.5:8088",
    "http://192.168.1.10",
    "http://172.16.0.1:8043",
    "http://127.0.0.1:9",
    "http://0x7f.1:8088",
    "http://[::1]:8088",
    "http://localhost:8088",
    "https://gateway.example",
]


@pytest.mark.parametrize("url", SPECIAL_URLS)
async def test_special_gateway_addresses_are_refused(running: Running, url: str) -> None:
    created = await running.client.post(
        "/api/credentials",
        json={"name": "gw", "username": "u", "password": "pw-123", "gateway_url": url},
    )
    assert created.status_code == 400
    detail = await _error(created)
    assert detail["error"] == "validation_error" and detail["details"]["field"] == "gateway_url"
    assert "gateway_url" in detail["message"]
    assert not await CredentialRecord.exists(name="gw")

    ok = await running.client.post(
        "/api/credentials",
        json={
            "name": "gw",
            "username": "u",
            "password": "pw-123",
            "gateway_url": "http://10.0.0.1",
        },
    )
    assert ok.status_code == 201
    updated = await running.client.put("/api/credentials/gw", json={"gateway_url": url})
    assert updated.status_code == 400
    assert (await _error(updated))["details"]["field"] == "gateway_url"
    assert (await CredentialRecord.get(name="gw")).gateway_url == "http://10.0.0.1"

    started = await running.client.post(
        "/api/executions", json={"playbook_path": "gateway/ok.yaml", "gateway_url": url}
    )
    assert started.status_code == 400
    assert (await _error(started))["details"]["field"] == "gateway_url"
    assert await ExecutionRecord.all().count() == 0


@pytest.mark.parametrize("url", ORDINARY_URLS)
async def test_private_and_loopback_gateways_stay_allowed(running: Running, url: str) -> None:
    created = await running.client.post(
        "/api/credentials",
        json={"name": "gw", "username": "u", "password": "pw-123", "gateway_url": url},
    )
    assert created.status_code == 201, await created.get_data(as_text=True)
    started = await running.client.post(
        "/api/executions", json={"playbook_path": "gateway/ok.yaml", "gateway_url": url}
    )
    assert started.status_code == 202


async def test_a_server_option_allows_special_gateway_addresses(make_settings: Any) -> None:
    app = create_app(
        make_settings(allow_special_gateway_addresses=True), plugins=isolated_plugins()
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for n, url in enumerate(SPECIAL_URLS):
            created = await client.post(
                "/api/credentials",
                json={"name": f"gw{n}", "username": "u", "password": "pw-1", "gateway_url": url},
            )
            assert created.status_code == 201, url
        started = await client.post(
            "/api/executions",
            json={"playbook_path": "gateway/ok.yaml", "gateway_url": SPECIAL_URLS[0]},
        )
        assert started.status_code == 202


def test_gateway_url_check_outside_a_server_refuses_special_addresses() -> None:
    from ignition_toolbox.api.credentials import check_gateway_url
    from ignition_toolbox.core import ValidationError

    with pytest.raises(ValidationError) as refused:
        check_gateway_url("http://169.254.169.254", "url")
    assert refused.value.details == {"field": "url", "address": "169.254.169.254"}
    assert check_gateway_url("http://169.254.169.254", allow_special=True) == (
        "http://169.254.169.254"
    )
    assert check_gateway_url("http://10.0.0.1:8088/") == "http://10.0.0.1:8088"
    started = time.monotonic()
    with pytest.raises(ValidationError):
        check_gateway_url("http://[::ffff:169.254.169.254]")
    assert time.monotonic() - started < 0.5  # literal addresses only: no DNS
