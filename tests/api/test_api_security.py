"""Auth modes, the role matrix generated from the one permission table, the route inventory, keys
and audit (SECURITY.md §4.A, §4.B, SR-1)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from api_support import Running, isolated_plugins, role_keys, wait_status

from ignition_toolbox.api import create_app
from ignition_toolbox.api.models import ApiKeyRecord, AuditRecord, ExecutionRecord
from ignition_toolbox.api.openapi import document, openapi_path
from ignition_toolbox.api.permissions import (
    IGNORED_ENDPOINTS,
    ROLE_PERMISSIONS,
    ROLES,
    ROUTES,
    Permission,
)

# A concrete request for every endpoint: what the matrix test sends. Bodies are valid, so an
# allowed call reaches the handler (and 2xx/4xx of the handler are both "allowed").
SAMPLE_REQUESTS: dict[str, tuple[str, str, Any]] = {
    "health.health": ("GET", "/api/health", None),
    "meta.openapi_document": ("GET", "/api/openapi.json", None),
    "meta.step_types": ("GET", "/api/step-types", None),
    "meta.plugins": ("GET", "/api/plugins", None),
    "playbooks.list_playbooks": ("GET", "/api/playbooks", None),
    "playbooks.get_playbook": ("GET", "/api/playbooks/gateway/ok.yaml", None),
    "playbooks.put_playbook": ("PUT", "/api/playbooks/matrix/new.yaml", "RAW"),
    "playbooks.delete_playbook": ("DELETE", "/api/playbooks/matrix/none.yaml", None),
    "playbooks.export_playbook": ("GET", "/api/playbooks/gateway/ok.yaml/export", None),
    "playbooks.duplicate_playbook": (
        "POST",
        "/api/playbooks/duplicate",
        {"source_path": "gateway/ok.yaml", "new_name": "Copy"},
    ),
    "executions.start_execution": ("POST", "/api/executions", {"playbook_path": "gateway/ok.yaml"}),
    "executions.list_executions": ("GET", "/api/executions", None),
    "executions.get_execution": ("GET", "/api/executions/{eid}", None),
    "executions.control_execution": ("POST", "/api/executions/{eid}/pause", None),
    "executions.delete_execution": ("DELETE", "/api/executions/{eid}", None),
    "executions.list_artifacts": ("GET", "/api/executions/{eid}/artifacts", None),
    "executions.get_artifact": ("GET", "/api/executions/{eid}/artifacts/none", None),
    "executions.get_screenshot": ("GET", "/api/executions/{eid}/screenshots/0", None),
    "executions.get_report": ("GET", "/api/executions/{eid}/report?format=junit", None),
    "credentials.list_credentials": ("GET", "/api/credentials", None),
    "credentials.get_credential": ("GET", "/api/credentials/plant-gw", None),
    "credentials.create_credential": (
        "POST",
        "/api/credentials",
        {"name": "new-cred", "username": "u", "password": "p4ssword"},
    ),
    "credentials.update_credential": ("PUT", "/api/credentials/plant-gw", {"description": "x"}),
    "credentials.delete_credential": ("DELETE", "/api/credentials/none", None),
    "credentials.test_credential": ("POST", "/api/credentials/plant-gw/test", {"timeout": 1}),
    "keys.create_key": ("POST", "/api/keys", {"name": "k", "role": "readonly"}),
    "keys.me": ("GET", "/api/me", None),
    "keys.list_keys": ("GET", "/api/keys", None),
    "keys.get_key": ("GET", "/api/keys/{own}", None),
    "keys.update_key": ("PATCH", "/api/keys/{other}", {"name": "renamed"}),
    "keys.revoke_key": ("DELETE", "/api/keys/{other}", None),
    "audit.list_audit": ("GET", "/api/audit", None),
    "modules.upload_module": ("POST", "/api/modules?fileName=x.modl", "MODL"),
    "modules.upload_file": ("POST", "/api/uploads?fileName=x.gwbk", "MODL"),
    "maintenance.cleanup": ("POST", "/api/maintenance/cleanup", {"older_than_days": 30}),
    "webui.index": ("GET", "/", None),
    "webui.asset": ("GET", "/ui/favicon.svg", None),
}
HTTP_ENDPOINTS = sorted(e for e in ROUTES if e != "websocket.executions_ws")
PRINCIPALS = ("anon", *ROLES)


def test_every_registered_route_has_a_permission_and_an_openapi_entry(tmp_path: Any) -> None:
    from ignition_toolbox.api import Settings

    app = create_app(Settings(data_dir=tmp_path / "d"), plugins=isolated_plugins())
    registered = {r.endpoint for r in app.url_map.iter_rules()} - IGNORED_ENDPOINTS
    assert registered == set(ROUTES), "routes and the permission table disagree"
    assert set(SAMPLE_REQUESTS) | {"websocket.executions_ws"} == set(ROUTES)
    paths = document(app)["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in IGNORED_ENDPOINTS:
            continue
        path, _ = openapi_path(rule.rule)
        assert path in paths, rule.rule
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert paths[path][method.lower()]["x-permission"] == ROUTES[rule.endpoint].permission


def test_role_table_matches_security_matrix() -> None:
    """Spot checks of SECURITY.md §4-B against the table the matrix test is generated from."""
    allowed = {role: {p.value for p in perms} for role, perms in ROLE_PERMISSIONS.items()}
    assert "executions:control" not in allowed["readonly"]
    assert "screenshots:read" not in allowed["readonly"]
    assert {"executions:control", "screenshots:read"} <= allowed["executor"]
    assert "playbooks:write" not in allowed["executor"]
    assert {"playbooks:write", "credentials:write", "executions:delete"} <= allowed["user"]
    assert "keys:manage" not in allowed["user"] and "audit:read" not in allowed["user"]
    assert {"keys:manage", "audit:read"} <= allowed["admin"]


async def _fixtures(client: Any, keys: dict[str, str]) -> dict[str, str]:
    admin = {"X-API-Key": keys["admin"]}
    created = await client.post(
        "/api/credentials",
        json={
            "name": "plant-gw",
            "username": "u",
            "password": "S3CR3T-x",
            "gateway_url": "http://127.0.0.1:9",
        },
        headers=admin,
    )
    assert created.status_code == 201
    started = await client.post(
        "/api/executions", json={"playbook_path": "gateway/ok.yaml"}, headers=admin
    )
    execution_id = (await started.get_json())["execution_id"]
    await wait_status(client, execution_id, {"completed"}, headers=admin)
    other = await ApiKeyRecord.get(name="admin-key")
    return {"eid": execution_id, "other": other.id}


@pytest.mark.parametrize("endpoint", HTTP_ENDPOINTS)
async def test_role_matrix(secured: Running, endpoint: str) -> None:
    keys = await role_keys()
    values = await _fixtures(secured.client, keys)
    permission = ROUTES[endpoint].permission
    for who in PRINCIPALS:
        method, url, body = SAMPLE_REQUESTS[endpoint]
        own = (await ApiKeyRecord.get(name=f"{who}-key")).id if who != "anon" else "none"
        url = url.format(own=own, **values)
        headers = {} if who == "anon" else {"X-API-Key": keys[who]}
        kwargs: dict[str, Any] = {"headers": headers}
        if body == "RAW":
            kwargs["data"] = await (
                await secured.client.get(
                    "/api/playbooks/gateway/ok.yaml/export", headers={"X-API-Key": keys["admin"]}
                )
            ).get_data()
        elif body == "MODL":
            kwargs["data"] = b"PK\x03\x04 a module"
        elif body is not None:
            kwargs["json"] = body
        before = await AuditRecord.filter(outcome="success").count()
        response = await secured.client.open(url, method=method, **kwargs)
        status = response.status_code
        code = (
            (await response.get_json() or {}).get("detail", {}).get("error")
            if status >= 400
            else None
        )
        if permission is Permission.PUBLIC:
            assert status == 200, (who, status)
        elif who == "anon":
            assert status == 401 and code == "unauthorized", (who, status)
            assert "WWW-Authenticate" in response.headers
        elif permission in ROLE_PERMISSIONS[who]:
            assert code not in ("unauthorized", "permission_denied") or endpoint in (
                "keys.update_key",
                "keys.revoke_key",
            ), (who, status, code)
        else:
            assert status == 403 and code == "permission_denied", (who, status, code)
            assert await AuditRecord.filter(outcome="success").count() == before


async def test_unauthenticated_bodies_are_identical(secured: Running) -> None:
    from ignition_toolbox.api.keys import generate_key

    keys = await role_keys()
    record = await ApiKeyRecord.get(name="user-key")
    await ApiKeyRecord.filter(id=record.id).update(expires_at=record.created_at.replace(year=2000))
    flipped = keys["readonly"][:-1] + ("0" if keys["readonly"][-1] != "0" else "1")
    bodies = set()
    for value in (
        None,
        "abc",
        generate_key(),
        keys["user"],
        flipped,
        keys["readonly"] + " x",
        "ITK_" + keys["readonly"][4:],
        "Bearer " + keys["readonly"],
        "itk_" + "a" * 10_000,
    ):
        headers = {"X-API-Key": value} if value is not None else {}
        response = await secured.client.get("/api/playbooks", headers=headers)
        assert response.status_code == 401
        body = await response.get_json()
        body["detail"].pop("request_id")
        bodies.add(repr(body))
    assert len(bodies) == 1
    assert "expired" not in bodies.pop()
    reasons = {r.details.get("reason") for r in await AuditRecord.filter(action="auth.failed")}
    assert {"expired", "unknown", "malformed"} <= reasons


async def test_query_string_key_is_not_accepted_on_rest(secured: Running) -> None:
    keys = await role_keys()
    response = await secured.client.get(f"/api/playbooks?api_key={keys['admin']}")
    assert response.status_code == 401


async def test_revocation_takes_effect_on_the_next_request(secured: Running) -> None:
    keys = await role_keys()
    admin = {"X-API-Key": keys["admin"]}
    user = {"X-API-Key": keys["user"]}
    assert (await secured.client.get("/api/playbooks", headers=user)).status_code == 200
    user_id = (await ApiKeyRecord.get(name="user-key")).id
    assert (await secured.client.delete(f"/api/keys/{user_id}", headers=admin)).status_code == 200
    assert (await secured.client.get("/api/playbooks", headers=user)).status_code == 401


async def test_key_creation_rules(secured: Running) -> None:
    keys = await role_keys()
    admin = {"X-API-Key": keys["admin"]}
    user = {"X-API-Key": keys["user"]}
    denied = await secured.client.post(
        "/api/keys", json={"name": "x", "role": "admin"}, headers=user
    )
    assert denied.status_code == 403
    for body in (
        {"name": "x", "role": "superadmin"},
        {"name": "x", "role": "user", "scopes": ["*"]},
        {"name": "x", "role": "user", "key_hash": "0" * 64},
        {"name": "x", "role": "user", "expires_in_days": 0},
        {"name": "x", "role": "user", "expires_in_days": -1},
        {"name": "x", "role": "user", "expires_in_days": 366},
        {"name": "x", "role": "user", "expires_in_days": "30"},
    ):
        response = await secured.client.post("/api/keys", json=body, headers=admin)
        assert response.status_code == 400, body
        assert (await response.get_json())["detail"]["error"] == "validation_error"
    created = await secured.client.post(
        "/api/keys", json={"name": "ci", "role": "executor"}, headers=admin
    )
    assert created.status_code == 201
    body = await created.get_json()
    raw = body["key"]
    assert re.fullmatch(r"itk_[0-9a-f]{72}", raw)
    record = await ApiKeyRecord.get(id=body["key_id"])
    assert record.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    days = (record.expires_at - record.created_at).days
    assert 89 <= days <= 90
    listing = await secured.client.get("/api/keys", headers=admin)
    text = await listing.get_data(as_text=True)
    assert raw not in text and record.key_hash not in text
    for item in (await listing.get_json())["keys"]:
        assert len(item["display_prefix"]) <= 12


async def test_non_admins_see_and_revoke_only_their_own_keys(secured: Running) -> None:
    keys = await role_keys()
    user = {"X-API-Key": keys["user"]}
    own = await ApiKeyRecord.get(name="user-key")
    other = await ApiKeyRecord.get(name="executor-key")
    listed = (await (await secured.client.get("/api/keys", headers=user)).get_json())["keys"]
    assert [k["key_id"] for k in listed] == [own.id]
    assert (await secured.client.delete(f"/api/keys/{other.id}", headers=user)).status_code == 403
    assert (
        await secured.client.get("/api/playbooks", headers={"X-API-Key": keys["executor"]})
    ).status_code == 200
    assert (await secured.client.delete(f"/api/keys/{own.id}", headers=user)).status_code == 200


async def test_last_admin_key_cannot_be_revoked(secured: Running) -> None:
    keys = await role_keys()
    admin = {"X-API-Key": keys["admin"]}
    own = await ApiKeyRecord.get(name="admin-key")
    response = await secured.client.delete(f"/api/keys/{own.id}", headers=admin)
    assert response.status_code == 400
    assert (await secured.client.get("/api/keys", headers=admin)).status_code == 200


async def test_role_change_is_immediate_and_audited(secured: Running) -> None:
    keys = await role_keys()
    admin = {"X-API-Key": keys["admin"]}
    user_id = (await ApiKeyRecord.get(name="user-key")).id
    changed = await secured.client.patch(
        f"/api/keys/{user_id}", json={"role": "readonly"}, headers=admin
    )
    assert changed.status_code == 200
    response = await secured.client.put(
        "/api/playbooks/x.yaml", data="name: x\nsteps: []\n", headers={"X-API-Key": keys["user"]}
    )
    assert response.status_code == 403
    assert await AuditRecord.filter(action="role.changed", target=user_id).exists()


async def test_audit_is_admin_only_and_records_mutations(secured: Running) -> None:
    keys = await role_keys()
    admin = {"X-API-Key": keys["admin"]}
    await secured.client.post(
        "/api/credentials",
        json={"name": "c1", "username": "u", "password": "pw-123"},
        headers=admin,
    )
    await secured.client.get("/api/playbooks", headers={"X-API-Key": "nope"})
    events = (await (await secured.client.get("/api/audit", headers=admin)).get_json())["events"]
    actions = {e["action"] for e in events}
    assert {"credential.created", "auth.failed"} <= actions
    assert (
        await secured.client.get("/api/audit", headers={"X-API-Key": keys["user"]})
    ).status_code == 403
    assert (await secured.client.delete("/api/audit", headers=admin)).status_code == 405


async def test_rate_limit_per_key_answers_429_with_retry_after(make_settings: Any) -> None:
    app = create_app(make_settings(auth=True, rate_limit="5/minute"), plugins=isolated_plugins())
    async with app.test_app() as test_app:
        client = test_app.test_client()
        keys = await role_keys()
        headers = {"X-API-Key": keys["readonly"]}
        statuses = [
            (await client.get("/api/playbooks", headers=headers)).status_code for _ in range(7)
        ]
        assert statuses[:5] == [200] * 5
        limited = await client.get("/api/playbooks", headers=headers)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert (await limited.get_json())["detail"]["error"] == "rate_limited"


async def test_auth_failures_per_ip_are_rate_limited(make_settings: Any) -> None:
    app = create_app(
        make_settings(auth=True, auth_failure_limit="3/minute"), plugins=isolated_plugins()
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        statuses = [
            (await client.get("/api/playbooks", headers={"X-API-Key": "x"})).status_code
            for _ in range(5)
        ]
        assert statuses[:3] == [401] * 3
        assert statuses[3:] == [429, 429]


async def test_local_mode_checks_host_and_origin(running: Running) -> None:
    ok = await running.client.get("/api/playbooks")
    assert ok.status_code == 200
    rebinding = await running.client.get("/api/playbooks", headers={"Host": "evil.example"})
    assert rebinding.status_code == 403
    cross = await running.client.get("/api/playbooks", headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert "Access-Control-Allow-Origin" not in cross.headers
    assert (
        await running.client.post(
            "/api/executions",
            json={"playbook_path": "gateway/ok.yaml"},
            headers={"Origin": "https://evil.example"},
        )
    ).status_code == 403
    assert await ExecutionRecord.all().count() == 0


async def test_the_servers_own_web_ui_origin_is_allowed(running: Running) -> None:
    host = "127.0.0.1:5000"
    same = await running.client.get(
        "/api/playbooks", headers={"Host": host, "Origin": f"http://{host}"}
    )
    assert same.status_code == 200
    other_port = await running.client.get(
        "/api/playbooks", headers={"Host": host, "Origin": "http://127.0.0.1:6000"}
    )
    assert other_port.status_code == 403
    rebound = await running.client.get(
        "/api/playbooks",
        headers={"Host": "evil.example:5000", "Origin": "http://evil.example:5000"},
    )
    assert rebound.status_code == 403


async def test_health_is_public_and_minimal(secured: Running) -> None:
    response = await secured.client.get("/api/health")
    assert response.status_code == 200
    body = await response.get_json()
    assert set(body) == {"status", "version", "uptime_seconds"}
    assert body["status"] == "healthy"
    assert isinstance(body["uptime_seconds"], int)


async def test_bootstrap_admin_key_is_printed_once(make_settings: Any, capsys: Any) -> None:
    settings = make_settings(auth=True, bootstrap_admin=True)
    for _ in range(2):
        app = create_app(settings, plugins=isolated_plugins())
        async with app.test_app():
            pass
    printed = re.findall(r"itk_[0-9a-f]{72}", capsys.readouterr().out)
    assert len(printed) == 1
    app = create_app(settings, plugins=isolated_plugins())
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.get("/api/keys", headers={"X-API-Key": printed[0]})
        assert response.status_code == 200
        stored = await ApiKeyRecord.get(role="admin")
        assert stored.key_hash == hashlib.sha256(printed[0].encode()).hexdigest()
