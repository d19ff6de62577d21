"""The simulator's Perspective client and web UI routes, in-process over ASGI (no browser)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
from jsonschema import Draft202012Validator

from ignition_toolbox.gateway.sim import SimGateway, create_app, make_project_zip
from ignition_toolbox.gateway.sim.perspective import DEMO, DEMO_SECURE, load_demo, sessions_of
from ignition_toolbox.perspective import step_types


@pytest.fixture
def gw() -> SimGateway:
    return load_demo(SimGateway(render_delay_ms=0))


@pytest.fixture
async def client(gw: SimGateway) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(gw))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as c:
        yield c


def bootstrap(html: str) -> dict:
    found = re.search(r'id="perspective-bootstrap">(.*?)</script>', html, re.S)
    assert found, html[:500]
    return json.loads(found.group(1))


async def test_client_page_carries_the_project_views_and_opens_a_page(gw, client):
    response = await client.get("/data/perspective/client/demo/motors")
    assert response.status_code == 200
    assert 'class="ignition-loading-spinner"' in response.text
    boot = bootstrap(response.text)
    assert boot["page"] == "/motors" and boot["terminal"] is None
    assert boot["pageConfig"]["pages"]["/motors"]["viewPath"] == "Motors"
    assert "Docks/Header" in boot["views"]
    assert boot["tags"]["[default]Line/Speed"] == {"value": 12.5, "quality": "Good"}
    store = sessions_of(gw)
    assert store.pages[boot["pageId"]].path == "/motors"
    again = bootstrap((await client.get("/data/perspective/client/demo")).text)
    assert again["pageId"] != boot["pageId"], "every load is a new Perspective page"
    assert again["sessionId"] == boot["sessionId"], "the session cookie keeps the session"
    listed = (await client.get("/data/perspective/api/v1/sessions/")).json()
    assert listed["items"][0]["projectName"] == DEMO and len(listed["items"][0]["pages"]) == 2


async def test_a_project_built_by_a_test_drives_the_page(gw, client):
    views = {
        "Main": {
            "root": {"type": "ia.display.label", "meta": {"name": "x"}, "props": {"text": "own"}}
        }
    }
    gw.import_project("mine", make_project_zip("mine", views=views))
    boot = bootstrap((await client.get("/data/perspective/client/mine")).text)
    assert boot["views"] == views
    assert boot["pageConfig"]["pages"]["/"] == {"viewPath": "Main"}


@pytest.mark.parametrize(
    ("setup", "project", "kind"),
    [
        (None, "nope", "project-not-found"),
        ("expire", DEMO, "trial-expired"),
        ("disable", DEMO, "project-not-runnable"),
    ],
)
async def test_terminal_states(gw, client, setup, project, kind):
    if setup == "expire":
        gw.expire_trial()
    if setup == "disable":
        gw.projects[DEMO].enabled = False
    boot = bootstrap((await client.get(f"/data/perspective/client/{project}")).text)
    assert boot["terminal"]["kind"] == kind
    assert "pageId" not in boot


async def log_in(client: httpx.AsyncClient, redirect: str) -> str:
    """The §2c flow as the login page's script drives it; returns where the callback sends us."""
    start = await client.get("/data/app/login", params={"redirect": redirect})
    auth = await client.get(start.headers["location"])
    login = httpx.URL(auth.headers["location"])
    base = "/idp/default/authn"
    t1 = (await client.post(f"{base}/next-challenge", json={"token": login.params["token"]})).json()
    challenge = {"username": "admin", "password": "password"}
    t2 = (
        await client.post(
            f"{base}/submit-challenge/basic", json={"token": t1["token"], "challenge": challenge}
        )
    ).json()
    t3 = (await client.post(f"{base}/next-challenge", json={"token": t2["token"]})).json()
    params = {k: v for k, v in login.params.items() if k != "token"}
    finish = await client.get("/idp/default/oidc/auth", params={**params, "token": t3["token"]})
    callback = await client.get(finish.headers["location"])
    return str(callback.headers["location"])


async def test_a_secure_project_shows_the_login_interstitial_then_comes_back(client):
    page = await client.get("/data/perspective/client/demo_secure/inputs")
    assert "You must log in to continue." in page.text and "perspective-bootstrap" not in page.text
    assert "/data/app/login?redirect=%2Fdata%2Fperspective%2Fclient%2Fdemo_secure%2Finputs" in (
        page.text
    )
    back = await log_in(client, "/data/perspective/client/demo_secure/inputs")
    assert back == "/data/perspective/client/demo_secure/inputs"
    boot = bootstrap((await client.get(back)).text)
    assert boot["user"] == "admin" and boot["page"] == "/inputs"


async def test_login_redirect_accepts_only_local_paths(client):
    assert await log_in(client, "//evil.example/x") == "/app"
    assert await log_in(client, "https://evil.example/x") == "/app"


async def test_event_log_poll_writes_and_quality(gw, client):
    boot = bootstrap((await client.get("/data/perspective/client/demo")).text)
    event = {
        "pageId": boot["pageId"],
        "page": "/",
        "componentPath": "C:2:0",
        "componentType": "ia.input.button",
        "domId": "StartBtn",
        "action": "writeTag",
        "value": True,
        "tagPath": "[default]Line/Start",
        "write": True,
    }
    recorded = (await client.post("/__sim__/perspective/events", json=event)).json()
    assert recorded["sessionId"] == boot["sessionId"] and recorded["seq"] == 1
    assert gw.tag_values["[default]Line/Start"] is True
    assert (await client.get("/__sim__/perspective/events?since=1")).json() == []
    await client.post("/__sim__/perspective/quality", json={"[default]Line/Speed": "Bad_Stale"})
    poll = (
        await client.post(
            "/__sim__/perspective/poll",
            json={"pageId": boot["pageId"], "tags": ["[default]Line/Speed", "[default]Nope"]},
        )
    ).json()
    assert poll["tags"]["[default]Line/Speed"]["quality"] == "Bad_Stale"
    assert poll["tags"]["[default]Nope"]["quality"] == "Bad_NotFound"
    assert poll["closed"] is False
    await client.delete(
        "/data/perspective/api/v1/sessions",
        params={"sessionId": boot["sessionId"], "message": "bye"},
    )
    poll = (await client.post("/__sim__/perspective/poll", json={"pageId": boot["pageId"]})).json()
    assert poll == {"closed": True, "message": "bye", "tags": {}}


async def test_web_ui_pages_need_a_session_except_home(client):
    home = await client.get("/app")
    assert 'class="login-link" href="/data/app/login"' in home.text and "home-page" in home.text
    modules = await client.get("/app/platform/system/modules")
    assert modules.status_code == 302
    assert modules.headers["location"].endswith("redirect=%2Fapp%2Fplatform%2Fsystem%2Fmodules")
    for name in ("perspective.js", "perspective.css", "webui.js", "webui.css"):
        assert (await client.get(f"/__sim__/assets/{name}")).status_code == 200
    assert (await client.get("/__sim__/assets/..%2Fstate.py")).status_code == 404


async def test_the_openapi_document_lists_no_simulator_helpers(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/data/perspective/client/{project}" in paths
    assert not [p for p in paths if p.startswith("/__sim__")]


def test_every_step_type_has_closed_draft_2020_12_schemas():
    types = {t.name: t for t in step_types()}
    assert len(types) == 15
    for step in types.values():
        Draft202012Validator.check_schema(step.parameters)
        Draft202012Validator.check_schema(step.output)
        assert step.parameters["additionalProperties"] is False, step.name
        assert step.resources == ("browser",)


def test_itk_gateway_sim_loads_the_demo_projects_by_default():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ignition_toolbox.core.cli", "gateway-sim", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "gateway-sim: listening on http://" in line, line
        url = line.strip().rsplit(" ", 1)[1]
        names = httpx.get(
            f"{url}/data/api/v1/projects/names",
            headers={"X-Ignition-API-Token": "itk:sim-secret"},
            timeout=10,
        ).json()
        assert {DEMO, DEMO_SECURE} <= set(names)
        page = httpx.get(f"{url}/data/perspective/client/demo", timeout=10)
        assert bootstrap(page.text)["views"]["Main"]
    finally:
        proc.terminate()
        proc.wait(10)
