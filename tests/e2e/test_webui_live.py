"""The live browser view: frames of a browser playbook arrive over the WebSocket and stay on screen
after the run; its screenshot opens from the gallery."""

from __future__ import annotations

import re
from typing import Any

import pytest
from webui_support import Process, new_page, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_live_view_shows_frames_and_the_screenshot_opens_from_the_gallery(
    browser: Any, server: Process, sim: Process
) -> None:
    page, errors = await new_page(browser)
    await page.goto(f"{server.url}/#/playbooks/browser/page_content_check.yaml")
    await page.get_by_role("textbox", name="url", exact=True).fill(f"{sim.url}/welcome")
    await page.get_by_label("expected_heading").fill("Welcome")
    await page.get_by_role("button", name="Run playbook").click()
    await page.wait_for_url(re.compile(r"#/executions/[0-9a-f-]{36}$"))

    frame = page.locator("#live-frame")
    await frame.wait_for(state="visible", timeout=60_000)
    assert (await frame.get_attribute("src") or "").startswith("data:image/")
    await page.locator('#execution-status [data-status="completed"]').wait_for(timeout=60_000)
    assert await frame.is_visible()  # the last frame stays
    thumb = page.get_by_role("button", name=re.compile(r"^Open screenshot"))
    await thumb.first.wait_for()
    await shot(page, "09-execution-live-view")

    await thumb.first.click()
    dialog = page.get_by_role("dialog")
    image = dialog.locator("img.full")
    await image.wait_for()
    await page.wait_for_function(
        "() => { const i = document.querySelector('dialog img.full'); "
        "return i && i.complete && i.naturalWidth > 0; }"
    )
    await shot(page, "10-screenshot-dialog")
    await dialog.get_by_role("button", name="Close").click()
    assert errors == []
