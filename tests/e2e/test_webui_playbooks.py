"""Playbook authoring in the Web UI (duplicate, edit with errors at their line, delete), the
step-type reference, narrow windows and keyboard reach."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from webui_support import Process, new_page, shot

pytestmark = [pytest.mark.browser]

BROKEN_STEP = """  - id: hello
    type: utility.log
    parameters:
      mesage: typo
"""


async def test_duplicate_edit_with_line_errors_and_delete(
    browser: Any, server: Process, api: httpx.Client
) -> None:
    page, errors = await new_page(browser)
    await page.goto(f"{server.url}/#/playbooks/examples/hello.yaml")
    await page.get_by_role("heading", name="Hello", level=1).wait_for()
    page.once("dialog", lambda dialog: dialog.accept("Hello from the UI"))
    await page.get_by_role("button", name="Duplicate").click()
    await page.wait_for_url(re.compile(r"#/playbooks/examples/hello-from-the-ui\.yaml$"))
    await page.get_by_role("heading", name="Hello from the UI", level=1).wait_for()

    await page.get_by_role("link", name="Edit YAML").click()
    editor = page.get_by_label("YAML of examples/hello-from-the-ui.yaml")
    await editor.wait_for()
    original = await editor.input_value()
    assert "Hello from the UI" in original
    head = original.split("steps:")[0]
    broken = f"{head}steps:\n{BROKEN_STEP}"
    bad_line = broken.splitlines().index("      mesage: typo")
    await editor.fill(broken)
    await page.get_by_role("button", name="Save").click()
    problems = page.locator("#yaml-errors")
    await problems.get_by_role("alert").wait_for()
    text = await problems.inner_text()
    assert "was not saved" in text and "mesage" in text
    line = int(re.search(r"Line (\d+)", text).group(1))  # type: ignore[union-attr]
    assert abs(line - (bad_line + 1)) <= 1  # the mapping that holds the typo, or the typo itself
    assert await page.locator(".gutter .bad").first.inner_text() == str(line)
    await shot(page, "15-yaml-editor-errors")

    await editor.fill(broken.replace("mesage", "message"))
    await page.get_by_role("button", name="Save").click()
    await page.wait_for_url(re.compile(r"#/playbooks/examples/hello-from-the-ui\.yaml$"))
    await page.get_by_text("utility.log").first.wait_for()
    assert "message: typo" in api.get("/api/playbooks/examples/hello-from-the-ui.yaml/export").text

    await page.get_by_role("button", name="Delete").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await page.wait_for_url(re.compile(r"#/playbooks$"))
    assert api.get("/api/playbooks/examples/hello-from-the-ui.yaml").status_code == 404
    assert errors == []


async def test_reference_is_generated_from_the_step_schemas(
    browser: Any, server: Process, api: httpx.Client
) -> None:
    page, errors = await new_page(browser)
    await page.goto(f"{server.url}/#/reference")
    await page.locator("#plugins-table").wait_for()
    step_types = api.get("/api/step-types").json()["step_types"]
    assert await page.locator("article.step-type").count() == len(step_types)
    await page.get_by_label("Filter step types").fill("upload_module")
    card = page.locator("article.step-type", has_text="gateway.upload_module")
    await card.wait_for()
    schema = next(t for t in step_types if t["name"] == "gateway.upload_module")["parameters"]
    for name in schema["properties"]:
        assert await card.get_by_role("cell", name=name, exact=True).count() == 1
    await page.get_by_label("Filter step types").fill("")
    await shot(page, "16-reference")
    assert errors == []


async def test_narrow_window_has_no_sideways_scroll_and_the_keyboard_reaches_everything(
    browser: Any, server: Process
) -> None:
    page, errors = await new_page(browser, width=390, height=844)
    for name, route in (
        ("17-narrow-playbooks", "playbooks"),
        ("18-narrow-run-form", "playbooks/gateway/module_upgrade.yaml"),
        ("19-narrow-executions", "executions"),
        ("20-narrow-reference", "reference"),
    ):
        await page.goto(f"{server.url}/#/{route}")
        await page.locator("main h1").wait_for()
        await page.wait_for_timeout(200)
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - window.innerWidth"
        )
        wide = await page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1
                    && !e.closest('.table-wrap'))
                .slice(0, 5).map((e) => `${e.tagName}.${e.className}`)"""
        )
        assert overflow <= 1, (route, wide)
        await shot(page, name)

    page, _ = await new_page(browser)
    await page.goto(f"{server.url}/#/playbooks/gateway/module_upgrade.yaml")
    await page.get_by_role("button", name="Run playbook").wait_for()
    # Navigation moves focus to the new view's heading; Tab goes on from there.
    assert await page.evaluate("() => document.activeElement.tagName") == "H1"
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.textContent") == "Duplicate"
    first = await page.evaluate("() => document.querySelector('a, button, input').textContent")
    assert first == "Skip to content"
    # Tab reaches the debug switch; Space toggles it.
    switch = page.get_by_role("switch", name="Debug mode")
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await switch.evaluate("(e) => e === document.activeElement"):
            break
    else:
        raise AssertionError("the debug switch is not reachable with Tab")
    await page.keyboard.press("Space")
    assert await switch.is_checked()
    unlabelled = await page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter((e) => !e.labels?.length && !e.getAttribute('aria-label')).map((e) => e.name)"""
    )
    assert unlabelled == []
    assert errors == []
