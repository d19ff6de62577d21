"""A server that enforces keys: the UI asks for one and keeps it for the tab only; admins create
(shown once, copied), list and revoke keys; what a key may do comes from GET /api/me, so a
readonly key sees no write controls and an executor may run but not upload; and the UI shows when
the server goes away."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from webui_support import Process, new_page, shot, start_server, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[Process, str]]:
    process = start_server(tmp_path, auth=True)
    try:
        line = wait_until(
            lambda: next((x for x in process.lines if "bootstrap admin key" in x), None)
        )
        yield process, line.rsplit(" ", 1)[1].strip()
    finally:
        process.stop()


async def enter_key(page: Any, key: str) -> None:
    dialog = page.get_by_role("dialog", name="API key required")
    await dialog.wait_for()
    await dialog.get_by_label("API key").fill(key)
    await dialog.get_by_role("button", name="Use this key").click()


async def test_key_prompt_tab_scope_key_management_roles_and_offline_state(
    browser: Any, secured: tuple[Process, str]
) -> None:
    server, admin_key = secured
    page, errors = await new_page(browser)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    await page.goto(f"{server.url}/#/playbooks")
    dialog = page.get_by_role("dialog", name="API key required")
    await dialog.wait_for()
    await shot(page, "11-auth-key-prompt")

    await enter_key(page, "itk_not-a-real-key")
    await dialog.get_by_text("The server did not accept this key.").wait_for()
    await dialog.get_by_label("API key").fill(admin_key)
    await dialog.get_by_role("button", name="Use this key").click()
    await dialog.wait_for(state="detached")
    await page.get_by_role("heading", name="Playbooks", level=1).wait_for()
    await page.locator("#session").get_by_text("admin").wait_for()
    await page.locator('#ws-state[data-state="online"]').wait_for()

    # The key lives in this tab's sessionStorage only.
    assert await page.evaluate("() => sessionStorage.getItem('itk.apiKey')") == admin_key
    assert await page.evaluate("() => localStorage.length") == 0
    assert await page.context.cookies() == []
    other_tab = await page.context.new_page()
    await other_tab.goto(f"{server.url}/#/playbooks")
    await other_tab.get_by_role("dialog", name="API key required").wait_for()
    await other_tab.close()

    # Admin: create a key, shown once with a copy button, then revoke it.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    await page.get_by_label("Name").fill("ci-runner")
    await page.get_by_label("Role").select_option("executor")
    await page.get_by_role("button", name="Create key").click()
    shown = page.get_by_role("textbox", name="The created key")
    await shown.wait_for()
    raw = await shown.input_value()
    assert raw.startswith("itk_")
    await page.get_by_role("button", name="Copy").click()
    await page.get_by_text("Copied.").wait_for()
    assert await page.evaluate("() => navigator.clipboard.readText()") == raw
    await shot(page, "12-keys-created-once")
    await page.get_by_role("button", name="Done").click()
    await shown.wait_for(state="detached")
    assert raw not in await page.content()
    row = page.locator("#keys-table tr", has_text="ci-runner")
    await row.get_by_role("button", name="Revoke key ci-runner").click()
    await page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    await row.get_by_text("revoked").wait_for()
    assert httpx.get(f"{server.url}/api/playbooks", headers={"X-API-Key": raw}).status_code == 401

    # A readonly key: the UI learns its permissions from GET /api/me (and no longer guesses the
    # role from GET /api/keys): no run, no writes, no upload, no credential form.
    readonly = httpx.post(
        f"{server.url}/api/keys",
        json={"name": "viewer", "role": "readonly"},
        headers={"X-API-Key": admin_key},
    ).json()["key"]
    await page.goto(f"{server.url}/#/playbooks")
    await page.get_by_role("heading", name="Playbooks", level=1).wait_for()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    await page.get_by_role("button", name="Forget key").click()
    async with page.expect_response(
        lambda r: r.url.endswith("/api/me") and r.status == 200
    ) as me_info:
        await enter_key(page, readonly)
    me = await (await me_info.value).json()
    assert me["name"] == "viewer" and me["role"] == "readonly" and me["auth_required"] is True
    assert readonly not in str(me)
    await page.locator("#session").get_by_text("viewer · readonly").wait_for()
    shown = await page.locator("#session-who").get_attribute("data-permissions")
    assert sorted(shown.split()) == sorted(me["permissions"])  # type: ignore[union-attr]
    assert not {"playbooks:write", "executions:control", "modules:upload"} & set(me["permissions"])
    await page.goto(f"{server.url}/#/playbooks/gateway/module_upgrade.yaml")
    await page.get_by_role("button", name="Run playbook").wait_for()
    assert not await page.get_by_role("button", name="Run playbook").is_enabled()
    assert await page.get_by_role("button", name="Duplicate").count() == 0
    # module_path is `type: file`: without modules:upload, a plain field for a server file name.
    assert await page.get_by_role("button", name="Upload .modl…").count() == 0
    assert await page.locator('input[type="file"]').count() == 0
    module_path = page.get_by_role("textbox", name="module_path")
    assert await module_path.get_attribute("data-file-parameter") == "true"
    field = page.locator(".field", has=module_path)
    assert "server’s upload or configured folders" in await field.inner_text()
    await shot(page, "13a-readonly-run-form")
    await page.goto(f"{server.url}/#/credentials")
    await page.locator("#credentials-table").wait_for()
    assert await page.locator("#credential-form").count() == 0
    await shot(page, "13-readonly-credentials")
    assert not [u for u in requests if "/api/keys" in u], requests

    # An executor key may run (executions:control) but not upload modules nor edit playbooks.
    executor = httpx.post(
        f"{server.url}/api/keys",
        json={"name": "runner", "role": "executor"},
        headers={"X-API-Key": admin_key},
    ).json()["key"]
    await page.get_by_role("button", name="Forget key").click()
    await enter_key(page, executor)
    await page.locator("#session").get_by_text("runner · executor").wait_for()
    await page.goto(f"{server.url}/#/playbooks/gateway/module_upgrade.yaml")
    await page.get_by_role("button", name="Run playbook").wait_for()
    assert await page.get_by_role("button", name="Run playbook").is_enabled()
    assert await page.get_by_role("button", name="Duplicate").count() == 0
    assert await page.get_by_role("button", name="Upload .modl…").count() == 0
    assert await page.get_by_role("textbox", name="module_path").is_editable()
    await page.get_by_role("button", name="Forget key").click()
    await enter_key(page, readonly)
    await page.locator("#session").get_by_text("viewer · readonly").wait_for()

    # The tab's key is revoked (here by its owner): the next call asks for a key again.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    await page.get_by_role("button", name="Revoke key viewer").click()
    await page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    await page.get_by_role("dialog", name="API key required").wait_for()
    assert await page.evaluate("() => sessionStorage.getItem('itk.apiKey')") is None
    await enter_key(page, admin_key)
    await page.locator('#ws-state[data-state="online"]').wait_for()
    assert not await page.locator("#offline-banner").is_visible()

    # The server goes away: the page says so and keeps trying (Chromium logs each refused retry).
    assert errors == []
    server.stop()
    banner = page.locator("#offline-banner")
    await banner.wait_for(state="visible", timeout=20_000)
    await page.locator("#ws-state").get_by_text(re.compile("Offline")).wait_for()
    await shot(page, "14-offline")
    assert all("ERR_CONNECTION_REFUSED" in e for e in errors)
