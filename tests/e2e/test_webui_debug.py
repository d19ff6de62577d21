"""Debug mode from the Web UI: a pause before every step, a stop on the failed step with the choice
to retry it (POST /retry), skip it or accept the failure, and the executions list following the
run live."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from webui_support import Process, new_page, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FAILING = b"""name: Debug me
version: "1.0"
domain: e2e
description: One step that fails between two that pass
parameters:
  - {name: mode, type: string, enum: [fast, thorough], default: fast}
steps:
  - id: first
    type: utility.log
    parameters: {message: "first ({{ parameter.mode }})"}
  - id: broken
    name: This one fails
    type: utility.fail
    parameters: {message: "broken on purpose"}
  - id: last
    type: utility.log
    parameters: {message: last}
"""


async def test_debug_run_pauses_before_steps_and_on_failure_then_skips_it(
    browser: Any, server: Process, api: httpx.Client
) -> None:
    assert api.put("/api/playbooks/e2e/debug_me.yaml", content=FAILING).status_code in (200, 201)
    page, errors = await new_page(browser)
    await page.goto(f"{server.url}/#/executions")
    await page.locator("#executions-table").wait_for()

    # The list follows a run started elsewhere, live.
    started = api.post(
        "/api/executions", json={"playbook_path": "examples/hello.yaml", "parameters": {}}
    ).json()
    row = page.locator(f'tr[data-execution-id="{started["execution_id"]}"]')
    await page.locator(
        f'tr[data-execution-id="{started["execution_id"]}"][data-status="completed"]'
    ).wait_for()
    assert "Hello" in await row.inner_text()
    await row.get_by_role("button", name=re.compile(r"^Delete execution")).click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await row.wait_for(state="detached")
    assert api.get(f"/api/executions/{started['execution_id']}").status_code == 404

    await page.goto(f"{server.url}/#/playbooks/e2e/debug_me.yaml")
    mode = page.get_by_label("mode", exact=True)
    assert await mode.evaluate("(e) => e.tagName") == "SELECT"  # an enum is a select
    await mode.select_option("thorough")
    await page.get_by_label("Debug mode").check()
    await page.get_by_role("button", name="Run playbook").click()
    await page.wait_for_url(re.compile(r"#/executions/[0-9a-f-]{36}$"))
    status = page.locator("#execution-status")
    verdict = page.locator("#verdict")

    retry = page.get_by_role("button", name="Retry step")
    await status.locator('[data-status="paused"]').wait_for()
    assert "debug mode" in await verdict.inner_text()
    assert await retry.is_visible() and not await retry.is_enabled()  # nothing failed yet
    await page.get_by_role("button", name="Resume").click()
    await page.locator('#timeline li[data-step-id="first"][data-status="completed"]').wait_for()
    await status.locator('[data-status="paused"]').wait_for()
    assert not await retry.is_enabled()
    await page.get_by_role("button", name="Resume").click()

    await page.get_by_text("Paused on a failure").wait_for()
    failed = page.locator('#timeline li[data-step-id="broken"]')
    assert "broken on purpose" in await failed.inner_text()
    assert await failed.get_attribute("data-status") == "failed"
    assert await failed.get_attribute("data-awaiting") == "decision"
    # Paused on the failed step: Retry is offered, and Resume means "accept the failure".
    assert await retry.is_enabled()
    assert await page.get_by_role("button", name="Skip step").is_enabled()
    resume = page.locator('button[data-action="resume"]')
    assert await resume.get_attribute("data-meaning") == "accept-failure"
    assert "Accept the failure" in (await resume.get_attribute("title") or "")
    assert "Retry step" in await verdict.inner_text()
    await shot(page, "21-debug-paused-on-failure")

    # Retry once: the step runs again, fails again (attempt 2) and the run stops on it again.
    await retry.click()
    await page.locator(
        '#timeline li[data-step-id="broken"][data-attempts="2"][data-awaiting="decision"]'
    ).wait_for()
    assert "1 retry" in await failed.inner_text()
    assert await retry.is_enabled()
    await shot(page, "21b-debug-retried-once")
    await page.get_by_role("button", name="Skip step").click()
    await page.locator('#timeline li[data-step-id="broken"][data-status="skipped"]').wait_for()
    # Debug mode pauses once more, before "last".
    done, paused = (
        status.locator('[data-status="completed"]'),
        status.locator('[data-status="paused"]'),
    )
    await done.or_(paused).wait_for()
    if await paused.count():
        # A pause before a step is no failure: nothing to retry, and no "paused on a failure".
        assert not await retry.is_enabled()
        assert "Paused on a failure" not in await verdict.inner_text()
        await page.get_by_role("button", name="Resume").click()
    await done.wait_for()
    assert "1 skipped" in await verdict.inner_text()
    detail = api.get(page.url.replace("/#/", "/api/")).json()
    assert detail["parameters"] == {"mode": "thorough"}
    broken = next(r for r in detail["step_results"] if r["step_id"] == "broken")
    assert broken["status"] == "skipped" and broken["attempts"] == 2
    assert errors == []


async def test_debug_resume_on_a_failed_step_accepts_the_failure(
    browser: Any, server: Process, api: httpx.Client
) -> None:
    assert api.put("/api/playbooks/e2e/debug_me.yaml", content=FAILING).status_code in (200, 201)
    started = api.post(
        "/api/executions",
        json={"playbook_path": "e2e/debug_me.yaml", "parameters": {}, "debug_mode": True},
    ).json()
    page, errors = await new_page(browser)
    await page.goto(f"{server.url}/#/executions/{started['execution_id']}")
    status = page.locator("#execution-status")
    resume = page.get_by_role("button", name="Resume")
    await status.locator('[data-status="paused"]').wait_for()  # before "first"
    await resume.click()
    await page.locator('#timeline li[data-step-id="first"][data-status="completed"]').wait_for()
    await status.locator('[data-status="paused"]').wait_for()  # before "broken"
    await resume.click()
    await page.locator('#timeline li[data-step-id="broken"][data-awaiting="decision"]').wait_for()
    assert await page.get_by_role("button", name="Retry step").is_enabled()
    await resume.click()  # accept the failure: the step stays failed and the run ends failed
    await status.locator('[data-status="failed"]').wait_for()
    assert not await page.get_by_role("button", name="Retry step").is_enabled()
    verdict = await page.locator("#verdict").inner_text()
    assert "Failed at step “This one fails”" in verdict and "broken on purpose" in verdict
    failed = page.locator('#timeline li[data-step-id="broken"]')
    assert await failed.get_attribute("data-status") == "failed"
    assert await failed.get_attribute("data-awaiting") is None
    assert errors == []
