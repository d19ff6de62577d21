"""Credentials in the Web UI: a secret goes to the server once and is never shown back, kept or
sent back anywhere the page can see: DOM, storage, cookies, HTTP responses or WebSocket frames."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import httpx
import pytest
from webui_support import Process, new_page, shot

pytestmark = [pytest.mark.browser]


async def test_a_created_credential_secret_appears_nowhere_the_page_can_see(
    browser: Any, server: Process, sim: Process, api: httpx.Client
) -> None:
    password = f"S3CR3T-{uuid.uuid4()}"
    token = f"itk-sim:TOK3N-{uuid.uuid4()}"
    name = f"plant-{uuid.uuid4().hex[:6]}"
    page, errors = await new_page(browser)
    bodies: list[bytes] = []
    pending: list[asyncio.Task[None]] = []
    frames: list[str] = []

    async def keep(response: Any) -> None:
        with contextlib.suppress(Exception):  # redirects and aborted loads have no body
            bodies.append(await response.body())

    page.on("response", lambda response: pending.append(asyncio.ensure_future(keep(response))))
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))),
    )

    await page.goto(f"{server.url}/#/credentials")
    await page.locator("#credential-form").wait_for()
    # A value the API refuses: its message shows next to the field, and the secret is dropped.
    await page.get_by_label("Name", exact=True).fill("not a valid name!")
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Save credential").click()
    name_error = page.locator(".field", has=page.get_by_label("Name", exact=True)).locator(
        ".field-error"
    )
    await name_error.wait_for()
    assert "Credential name must be" in await name_error.inner_text()
    assert await page.get_by_label("Password", exact=True).input_value() == ""

    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Username").fill("admin")
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_label("Gateway API token").fill(token)
    await page.get_by_label("Gateway URL").fill(sim.url)
    await page.get_by_label("Description").fill("Plant gateway")
    await page.get_by_role("button", name="Save credential").click()
    row = page.locator(f'tr[data-credential="{name}"]')
    await row.wait_for()
    assert sim.url in await row.inner_text()
    await shot(page, "08-credentials")

    # The picker of the run form lists it by name.
    await page.goto(f"{server.url}/#/playbooks/gateway/health_check.yaml")
    picker = page.get_by_label("Credential", exact=True)
    await picker.wait_for()
    assert name in await picker.inner_text()
    await page.goto(f"{server.url}/#/credentials")
    await row.wait_for()

    await asyncio.gather(*pending)
    values = await page.evaluate(
        "() => [...document.querySelectorAll('input, textarea, select')].map((e) => e.value)"
    )
    storage = await page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    cookies = await page.context.cookies()
    seen = {
        "dom": await page.content(),
        "inputs": "\n".join(values),
        "storage": storage,
        "cookies": repr(cookies),
        "ws": "\n".join(frames),
    }
    for secret in (password, token.split(":", 1)[1]):
        for where, text in seen.items():
            assert secret not in text, where
        for body in bodies:
            assert secret.encode() not in body
    assert len(bodies) > 5
    assert api.get(f"/api/credentials/{name}").json()["password"] == "$encrypted$"

    await row.get_by_role("button", name=f"Delete credential {name}").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await row.wait_for(state="detached")
    assert api.get(f"/api/credentials/{name}").status_code == 404
    assert errors == []
