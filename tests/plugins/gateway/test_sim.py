"""The simulated gateway behaves as IGNITION.md §2 and §4 describe, in-process over ASGI."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest

from ignition_toolbox.gateway.sim import (
    SimClock,
    SimGateway,
    apply_faults,
    create_app,
    make_gwbk,
    make_modl,
    make_project_zip,
    running,
)

API = "/data/api/v1"


async def test_status_ping_and_gwinfo_need_no_auth(anon: httpx.AsyncClient) -> None:
    ping = await anon.get("/StatusPing")
    assert ping.json() == {"state": "RUNNING"}
    info = await anon.get("/system/gwinfo")
    assert info.headers["content-type"].startswith("text/plain")
    assert info.text.startswith("ContextStatus=RUNNING;PlatformName=Ignition-sim;Version=8.3.6;")
    assert info.text.endswith(";")


async def test_gateway_info_shape(http: httpx.AsyncClient) -> None:
    body = (await http.get(f"{API}/gateway-info")).json()
    assert body["ignitionVersion"] == "8.3.6 (b2026042713)"
    assert body["license"]["mode"] == "Trial"
    assert {"allowUnsignedModules", "edition", "redundancyRole", "timeZoneId"} <= set(body)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Ignition-API-Token": "sim-secret"},
        {"X-Ignition-API-Token": "itk:wrong"},
        {"X-Ignition-API-Token": "nobody:sim-secret"},
        {"Authorization": "Basic YWRtaW46cGFzc3dvcmQ="},
        {"Authorization": "Bearer itk:sim-secret"},
    ],
    ids=["none", "bare-secret", "bad-secret", "unknown-name", "basic", "bearer-off"],
)
async def test_bad_auth_is_401_with_jetty_html(anon: httpx.AsyncClient, headers: dict) -> None:
    response = await anon.get(f"{API}/gateway-info", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>Error 401 Unauthorized</title>" in response.text


async def test_bearer_accepted_behind_flag(gw: SimGateway, anon: httpx.AsyncClient) -> None:
    gw.options.bearer_auth = True
    response = await anon.get(
        f"{API}/gateway-info", headers={"Authorization": "Bearer itk:sim-secret"}
    )
    assert response.status_code == 200


async def test_security_levels_give_403(gw: SimGateway, anon: httpx.AsyncClient) -> None:
    gw.add_token("reader", "r-secret", ["ReadOnly"])
    gw.add_token("nolevel", "n-secret", [])
    reader = {"X-Ignition-API-Token": "reader:r-secret"}
    assert (await anon.get(f"{API}/gateway-info", headers=reader)).status_code == 200
    denied = await anon.post(f"{API}/scan/projects", headers=reader)
    assert denied.status_code == 403
    assert "Error 403 Forbidden" in denied.text
    nolevel = {"X-Ignition-API-Token": "nolevel:n-secret"}
    assert (await anon.get(f"{API}/gateway-info", headers=nolevel)).status_code == 403


async def test_require_secure_api_keys_rejects_http(
    gw: SimGateway, http: httpx.AsyncClient
) -> None:
    apply_faults(gw, {"require_https": True})
    assert (await http.get(f"{API}/gateway-info")).status_code == 401


async def test_trial_get_is_public_and_counts_down(
    gw: SimGateway, clock: SimClock, anon: httpx.AsyncClient
) -> None:
    body = (await anon.get(f"{API}/trial")).json()
    assert body["trialSecondsLeft"] == 7200 and body["expired"] is False
    clock.advance(7200)
    body = (await anon.get(f"{API}/trial")).json()
    assert body["trialSecondsLeft"] == 0 and body["expired"] is True


async def test_banner_when_expired(gw: SimGateway, http: httpx.AsyncClient) -> None:
    gw.expire_trial()
    banner = (await http.get(f"{API}/overview/banners")).json()["banners"][0]
    assert banner["type"] == "trial"
    assert banner["data"]["expireTime"] is None and banner["data"]["severity"] == "warning"


async def test_restart_sequence_with_timing(
    gw: SimGateway, clock: SimClock, http: httpx.AsyncClient
) -> None:
    assert (await http.post(f"{API}/restart-tasks/restart")).status_code == 400
    response = await http.post(f"{API}/restart-tasks/restart", params={"confirm": "true"})
    assert response.status_code == 200 and response.json() is True
    # STOPPING: still looks RUNNING for the grace window
    clock.advance(4)
    assert (await http.get("/StatusPing")).json() == {"state": "RUNNING"}
    assert (await http.get(f"{API}/gateway-info")).status_code == 200
    clock.advance(2)
    assert (await http.get("/StatusPing")).json() == {"state": "STARTING"}
    assert "ContextStatus=STARTING" in (await http.get("/system/gwinfo")).text
    unavailable = await http.get(f"{API}/gateway-info")
    assert unavailable.status_code == 503
    assert "Error 503 Service Unavailable" in unavailable.text
    clock.advance(34)
    assert (await http.get("/StatusPing")).json() == {"state": "RUNNING"}
    assert (await http.get(f"{API}/gateway-info")).status_code == 200
    assert gw.restarts == 1


async def test_down_window_refuses_connections(
    gw: SimGateway, clock: SimClock, http: httpx.AsyncClient
) -> None:
    gw.options.down_seconds = 10
    gw.restart()
    clock.advance(6)
    with pytest.raises(ConnectionRefusedError):
        await http.get("/StatusPing")
    clock.advance(10)
    assert (await http.get("/StatusPing")).json() == {"state": "STARTING"}


async def test_module_install_lifecycle(
    gw: SimGateway, clock: SimClock, http: httpx.AsyncClient
) -> None:
    modl = make_modl("com.example.a", "A", "1.2.3", signed=True, eula=True)
    upload = await http.post(
        f"{API}/modules/upload",
        params={"fileName": "a.modl"},
        content=modl,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert upload.json() == {
        "moduleId": "com.example.a",
        "containsCert": True,
        "certAccepted": False,
        "containsEula": True,
        "licenseAccepted": False,
    }
    early = await http.post(f"{API}/modules/install", params={"moduleId": "com.example.a"})
    assert early.status_code == 409
    assert "certificate" in early.text
    cert = await http.get(f"{API}/modules/certificate", params={"moduleId": "com.example.a"})
    assert "serialNumber" in cert.json()
    assert (
        await http.post(f"{API}/modules/certificate", params={"moduleId": "com.example.a"})
    ).status_code == 200
    again = await http.post(f"{API}/modules/certificate", params={"moduleId": "com.example.a"})
    assert again.status_code == 409
    eula = await http.get(f"{API}/modules/eula", params={"moduleId": "com.example.a"})
    assert "EULA" in eula.text
    assert (
        await http.post(f"{API}/modules/eula", params={"moduleId": "com.example.a"})
    ).status_code == 200
    assert (
        await http.post(f"{API}/modules/eula", params={"moduleId": "com.example.a"})
    ).status_code == 409
    install = await http.post(f"{API}/modules/install", params={"moduleId": "com.example.a"})
    assert install.json()["success"] is True
    items = {m["id"]: m for m in (await http.get(f"{API}/modules/healthy")).json()["items"]}
    assert items["com.example.a"]["state"] == "INACTIVE"
    pending = (await http.get(f"{API}/restart-tasks/pending")).json()
    assert len(pending) == 1
    gw.restart()
    clock.advance(40)
    items = {m["id"]: m for m in (await http.get(f"{API}/modules/healthy")).json()["items"]}
    assert items["com.example.a"]["state"] == "ACTIVE"
    assert (await http.get(f"{API}/restart-tasks/pending")).json() == []


async def test_upgrade_reports_should_upgrade_until_restart(
    gw: SimGateway, clock: SimClock, http: httpx.AsyncClient
) -> None:
    for version in ("1.0.0", "1.1.0"):
        modl = make_modl("com.example.b", "B", version, signed=True)
        await http.post(f"{API}/modules/upload", params={"fileName": "b.modl"}, content=modl)
        await http.post(f"{API}/modules/certificate", params={"moduleId": "com.example.b"})
        assert (
            await http.post(f"{API}/modules/install", params={"moduleId": "com.example.b"})
        ).status_code == 200
        if version == "1.0.0":
            gw.restart()
            clock.advance(40)
    item = next(m for m in gw.healthy_modules()["items"] if m["id"] == "com.example.b")
    assert item["version"] == "1.0.0" and item["shouldUpgrade"] is True
    gw.restart()
    clock.advance(40)
    item = next(m for m in gw.healthy_modules()["items"] if m["id"] == "com.example.b")
    assert (
        item["version"] == "1.1.0" and item["shouldUpgrade"] is False and item["state"] == "ACTIVE"
    )


@pytest.mark.parametrize(
    ("modl", "message"),
    [
        (b"not a zip", "not a zip"),
        (make_modl(required="8.4.0", signed=True), "requires Ignition 8.4.0"),
        (make_modl(signed=False), "unsigned"),
    ],
    ids=["not-zip", "too-new", "unsigned"],
)
async def test_upload_rejections(http: httpx.AsyncClient, modl: bytes, message: str) -> None:
    response = await http.post(f"{API}/modules/upload", params={"fileName": "x.modl"}, content=modl)
    assert response.status_code == 400
    assert message in response.text


async def test_unsigned_allowed_when_gateway_allows(
    gw: SimGateway, http: httpx.AsyncClient
) -> None:
    gw.options.allow_unsigned_modules = True
    body = (
        await http.post(
            f"{API}/modules/upload",
            params={"fileName": "x.modl"},
            content=make_modl(case="lower", root="module"),
        )
    ).json()
    assert body["containsCert"] is False and body["certAccepted"] is True


async def test_pre_83_modules_rejected_behind_flag(gw: SimGateway, http: httpx.AsyncClient) -> None:
    gw.options.reject_pre_83_modules = True
    response = await http.post(
        f"{API}/modules/upload",
        params={"fileName": "x.modl"},
        content=make_modl(required="8.1.0", signed=True),
    )
    assert response.status_code == 400 and "below 8.3" in response.text


async def test_uninstall_always_200_and_body_or_query(
    gw: SimGateway, clock: SimClock, http: httpx.AsyncClient
) -> None:
    unknown = await http.request("DELETE", f"{API}/modules/uninstall", json={"uninstall": ["nope"]})
    assert unknown.status_code == 200
    assert unknown.json() == {"success": False, "failedUninstalls": {"uninstall": ["nope"]}}
    ok = await http.delete(
        f"{API}/modules/uninstall", params={"moduleId": "com.inductiveautomation.webdev"}
    )
    assert ok.json()["success"] is True
    assert "com.inductiveautomation.webdev" in gw.modules
    gw.restart()
    clock.advance(40)
    assert "com.inductiveautomation.webdev" not in gw.sync().modules


async def test_uninstall_query_only_flavour_ignores_body(
    gw: SimGateway, http: httpx.AsyncClient
) -> None:
    gw.options.uninstall_accepts = "query"
    body_only = await http.request(
        "DELETE", f"{API}/modules/uninstall", json={"uninstall": ["com.inductiveautomation.webdev"]}
    )
    assert body_only.json()["success"] is False


async def test_faulty_module_is_quarantined_after_restart(
    gw: SimGateway, clock: SimClock, http: httpx.AsyncClient
) -> None:
    modl = make_modl("com.example.bad", signed=True, description="broken SIM:FAULT")
    await http.post(f"{API}/modules/upload", params={"fileName": "bad.modl"}, content=modl)
    await http.post(f"{API}/modules/certificate", params={"moduleId": "com.example.bad"})
    await http.post(f"{API}/modules/install", params={"moduleId": "com.example.bad"})
    gw.restart()
    clock.advance(40)
    quarantined = (await http.get(f"{API}/modules/quarantined")).json()["items"]
    assert quarantined[0]["id"] == "com.example.bad" and "SIM:FAULT" in quarantined[0]["reason"]


async def test_fail_next_upload_and_force_503(gw: SimGateway, http: httpx.AsyncClient) -> None:
    await http.post("/__sim__/faults", json={"fail_next_upload": "disk full"})
    failed = await http.post(
        f"{API}/modules/upload", params={"fileName": "x.modl"}, content=make_modl(signed=True)
    )
    assert failed.status_code == 500 and "disk full" in failed.text
    ok = await http.post(
        f"{API}/modules/upload", params={"fileName": "x.modl"}, content=make_modl(signed=True)
    )
    assert ok.status_code == 200
    await http.post("/__sim__/faults", json={"force_503_seconds": 30})
    assert (await http.get(f"{API}/gateway-info")).status_code == 503
    assert (await http.get("/StatusPing")).status_code == 200


async def test_backup_and_restore_roundtrip(
    gw: SimGateway, clock: SimClock, http: httpx.AsyncClient
) -> None:
    gw.import_project("keep", make_project_zip("keep"))
    backup = await http.get(f"{API}/backup", params={"type": "all"})
    assert backup.headers["content-disposition"].startswith('attachment; filename="Ignition-sim_')
    assert backup.headers["content-disposition"].endswith('.gwbk"')
    names = zipfile.ZipFile(io.BytesIO(backup.content)).namelist()
    assert {"gateway.xml", "sim-backup.json"} <= set(names)
    del gw.projects["keep"]
    gw.add_token("ext", "ext-secret", external=True)
    restored = await http.post(
        f"{API}/backup",
        content=backup.content,
        params={"renameEnabled": "true", "newName": "Restored"},
    )
    assert restored.status_code == 200
    assert gw.phase == "STOPPING"
    clock.advance(40)
    assert gw.phase == "RUNNING"
    assert "keep" in gw.projects and gw.options.name == "Restored"
    assert "ext" in gw.tokens and "itk" in gw.tokens


async def test_restore_rejects_non_backup(http: httpx.AsyncClient) -> None:
    response = await http.post(f"{API}/backup", content=make_project_zip("x"))
    assert response.status_code == 400 and "gateway.xml" in response.text


async def test_projects_import_export_conflict(gw: SimGateway, http: httpx.AsyncClient) -> None:
    data = make_project_zip("demo", title="Demo")
    assert (await http.post(f"{API}/projects/import/demo", content=data)).status_code == 200
    conflict = await http.post(f"{API}/projects/import/demo", content=data)
    assert conflict.status_code == 409
    assert (
        await http.post(f"{API}/projects/import/demo", content=data, params={"overwrite": "true"})
    ).status_code == 200
    assert (await http.get(f"{API}/projects/names")).json() == ["demo"]
    listed = (await http.get(f"{API}/projects/list")).json()
    assert listed["metadata"]["total"] == 1 and listed["items"][0]["title"] == "Demo"
    exported = await http.get(f"{API}/projects/export/demo")
    assert exported.headers["content-type"] == "application/zip"
    assert "project.json" in zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
    assert (await http.get(f"{API}/projects/find/ghost")).status_code == 404
    scan = (await http.post(f"{API}/scan/projects")).json()
    assert scan["scanActive"] is False


async def test_project_import_rejects_unsafe_paths(http: httpx.AsyncClient) -> None:
    data = make_project_zip("evil", extra_files={"../../etc/passwd": "x"})
    response = await http.post(f"{API}/projects/import/evil", content=data)
    assert response.status_code == 400 and "unsafe path" in response.text


async def test_tags_export_import(http: httpx.AsyncClient) -> None:
    exported = (await http.get(f"{API}/tags/export", params={"provider": "default"})).json()
    assert exported["tags"][0]["name"] == "Line"
    tags = {"tags": [{"name": "New", "tagType": "AtomicTag", "dataType": "Int4", "value": 1}]}
    summary = (
        await http.post(
            f"{API}/tags/import", json=tags, params={"provider": "default", "path": "Line"}
        )
    ).json()
    assert summary["created"] == 1
    conflict = await http.post(
        f"{API}/tags/import", json=tags, params={"provider": "default", "path": "Line"}
    )
    assert conflict.status_code == 409
    over = await http.post(
        f"{API}/tags/import",
        json=tags,
        params={"provider": "default", "path": "Line", "collisionPolicy": "Overwrite"},
    )
    assert over.json()["overwritten"] == 1


async def login(
    client: httpx.AsyncClient, username: str = "admin", password: str = "password"
) -> dict:
    start = await client.get("/data/app/login")
    assert start.status_code == 302
    auth = await client.get(start.headers["location"])
    location = httpx.URL(auth.headers["location"])
    assert location.path == "/idp/default/authn/login"
    t0 = location.params["token"]
    first = (await client.post("/idp/default/authn/next-challenge", json={"token": t0})).json()
    assert first["complete"] is False and first["nextChallenge"] == [{"type": "basic"}]
    submitted = (
        await client.post(
            "/idp/default/authn/submit-challenge/basic",
            json={
                "token": first["token"],
                "rememberMe": False,
                "challenge": {"username": username, "password": password},
            },
        )
    ).json()
    if not submitted["success"]:
        return {"success": False}
    done = (
        await client.post("/idp/default/authn/next-challenge", json={"token": submitted["token"]})
    ).json()
    assert done["complete"] is True
    params = dict(location.params)
    params["token"] = done["token"]
    back = await client.get("/idp/default/oidc/auth", params=params)
    callback = await client.get(back.headers["location"])
    assert callback.status_code == 302 and callback.headers["location"] == "/app"
    assert "SameSite=Strict" in callback.headers["set-cookie"]
    return (await client.get("/data/app/session")).json()


async def test_idp_login_flow_and_trial_reset(gw: SimGateway, anon: httpx.AsyncClient) -> None:
    session = await login(anon)
    assert session["userPayload"]["username"] == "admin"
    csrf = session["csrfToken"]
    assert (await anon.post(f"{API}/trial")).status_code == 403  # no CSRF header
    not_expired = await anon.post(f"{API}/trial", headers={"X-CSRF-Token": csrf})
    assert not_expired.status_code == 403
    gw.expire_trial()
    reset = await anon.post(f"{API}/trial", headers={"X-CSRF-Token": csrf})
    assert reset.status_code == 200 and reset.json()["trialSecondsLeft"] == 7200
    gw.restart()
    gw.clock.advance(40)
    assert (await anon.get("/data/app/session")).status_code == 401


async def test_idp_bad_password_and_token_reuse(anon: httpx.AsyncClient) -> None:
    assert (await login(anon, password="wrong")) == {"success": False}
    start = await anon.get("/data/app/login")
    auth = await anon.get(start.headers["location"])
    t0 = httpx.URL(auth.headers["location"]).params["token"]
    assert (
        await anon.post("/idp/default/authn/next-challenge", json={"token": t0})
    ).status_code == 200
    reused = await anon.post("/idp/default/authn/next-challenge", json={"token": t0})
    assert reused.status_code == 400 and "Error 400" in reused.text


async def test_trial_reset_with_token_only_is_refused(
    gw: SimGateway, http: httpx.AsyncClient
) -> None:
    gw.expire_trial()
    assert (await http.post(f"{API}/trial")).status_code == 401


async def test_api_token_generation_and_creation(
    http: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    generated = (await http.post(f"{API}/api-token/generate")).json()
    assert {"key", "hash"} <= set(generated)
    assert (
        await anon.get(
            f"{API}/gateway-info", headers={"X-Ignition-API-Token": f"new:{generated['key']}"}
        )
    ).status_code == 401
    created = await http.post(
        f"{API}/resources/ignition/api-token",
        json=[
            {
                "name": "new",
                "collection": "core",
                "enabled": True,
                "description": "",
                "config": {"keyHash": generated["hash"], "securityLevels": ["Administrator"]},
            }
        ],
    )
    assert created.status_code == 200
    assert (
        await anon.get(
            f"{API}/gateway-info", headers={"X-Ignition-API-Token": f"new:{generated['key']}"}
        )
    ).status_code == 200


async def test_toggle_state_and_licenses(
    gw: SimGateway, clock: SimClock, http: httpx.AsyncClient
) -> None:
    await http.put(
        f"{API}/modules/toggle-state",
        json={"enable": [], "disable": ["com.inductiveautomation.opcua"]},
    )
    gw.restart()
    clock.advance(40)
    assert gw.sync().modules["com.inductiveautomation.opcua"].state == "INACTIVE"
    assert (await http.get(f"{API}/licenses")).json()["items"][0]["mode"] == "Trial"


async def test_openapi_lists_only_implemented_routes(anon: httpx.AsyncClient) -> None:
    spec = (await anon.get("/openapi.json")).json()
    assert spec["openapi"] == "3.1.0"
    assert "post" in spec["paths"]["/data/api/v1/modules/upload"]
    assert not any(p.startswith("/__sim__") for p in spec["paths"])
    assert "/data/api/v1/logs" not in spec["paths"]


async def test_81_flavour() -> None:
    gw = SimGateway(version="8.1.44", clock=SimClock.manual())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(gw)), base_url="http://sim"
    ) as client:
        assert (await client.get("/StatusPing")).json() == {"state": "RUNNING"}
        assert "Version=8.1.44;" in (await client.get("/system/gwinfo")).text
        missing = await client.get(
            f"{API}/gateway-info", headers={"X-Ignition-API-Token": "itk:sim-secret"}
        )
        assert missing.status_code == 404 and "Error 404" in missing.text
        home = (await client.get("/web/home")).text
        assert 'class="countdown">02:00:00<' in home and "login-link" in home


async def test_commissioning_redirects_until_done() -> None:
    gw = SimGateway(commissioned=False, clock=SimClock.manual())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(gw)), base_url="http://sim"
    ) as client:
        assert (await client.get("/StatusPing")).json() == {
            "state": "RUNNING",
            "details": "COMMISSIONING",
        }
        assert "NEEDS_COMMISSIONING" in (await client.get("/system/gwinfo")).text
        assert (await client.get(f"{API}/trial")).status_code == 302
        await client.post("/welcome", json={"username": "root", "password": "pw"})
        assert (await client.get(f"{API}/trial")).status_code == 200


def test_builders_make_parseable_files() -> None:
    from ignition_toolbox.gateway.modl import read_modl

    meta = read_modl(make_modl("com.x", "X", "2.0.0", eula=True, signed=True, case="lower"))
    assert (meta.id, meta.version, meta.has_eula, meta.signed) == ("com.x", "2.0.0", True, True)
    assert meta.required_ignition_version == "8.3.0"
    assert zipfile.ZipFile(io.BytesIO(make_gwbk())).namelist()[0] == "gateway.xml"


async def test_served_on_a_real_port_with_port_drop() -> None:
    gw = SimGateway(restart_seconds=0.8, grace_seconds=0.1, down_seconds=0.3)
    async with running(gw) as server, httpx.AsyncClient(base_url=server.url) as client:
        assert server.port > 0
        assert (await client.get("/StatusPing")).json() == {"state": "RUNNING"}
        gw.restart()
        import asyncio

        await asyncio.sleep(0.25)
        with pytest.raises(httpx.TransportError):
            await client.get("/StatusPing")
        await asyncio.sleep(0.9)
        assert (await client.get("/StatusPing")).json() == {"state": "RUNNING"}
