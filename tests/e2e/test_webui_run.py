"""Run, watch and steer playbooks from the Web UI in real Chromium, against a real ``itk serve`` and
the simulated gateway on real ports."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from webui_support import SIM_TOKEN, Process, new_page, shot

from ignition_toolbox.gateway.sim import make_modl

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UPGRADE = "gateway/module_upgrade.yaml"


@pytest.fixture
def gateway_credential(api: httpx.Client, sim: Process) -> str:
    name = f"sim-{uuid.uuid4().hex[:8]}"
    created = api.post(
        "/api/credentials",
        json={
            "name": name,
            "username": "admin",
            "password": "password",
            "api_token": SIM_TOKEN,
            "gateway_url": sim.url,
        },
    )
    assert created.status_code == 201, created.text
    return name


async def open_playbook(page: Any, server: Process, path: str, search: str) -> None:
    await page.goto(f"{server.url}/#/playbooks")
    await page.get_by_label("Search playbooks").fill(search)
    await page.locator(f'a[href="#/playbooks/{path}"]').click()
    await page.wait_for_url(re.compile(re.escape(f"#/playbooks/{path}") + "$"))


async def fill_upgrade_form(page: Any, modl: Path, sim: Process, credential: str) -> None:
    # The .modl goes up through the form (POST /api/modules); the field gets the stored name.
    await page.locator('input[type="file"][data-upload-for="module_path"]').set_input_files(modl)
    await page.get_by_text(f"Uploaded {modl.name}").wait_for()
    assert await page.get_by_role("textbox", name="module_path").input_value() == modl.name
    await page.get_by_label("Gateway URL").fill(sim.url)
    await page.get_by_label("Credential", exact=True).select_option(credential)


def execution_id_of(page: Any) -> str:
    match = re.search(r"#/executions/([0-9a-f-]{36})$", page.url)
    assert match, page.url
    return match.group(1)


async def status_is(page: Any, status: str, timeout: float = 30_000) -> None:
    await page.locator(f'#execution-status [data-status="{status}"]').wait_for(timeout=timeout)


async def test_run_module_upgrade_watch_pause_resume_open_artifact_and_delete(
    browser: Any,
    server: Process,
    sim: Process,
    api: httpx.Client,
    gateway_credential: str,
    tmp_path: Path,
) -> None:
    modl = tmp_path / "upgrade.modl"
    make_modl("com.example.webui", "Web UI Module", "2.0.0", path=modl)
    page, errors = await new_page(browser)

    await open_playbook(page, server, UPGRADE, "upgrade")
    await shot(page, "01-playbook-details")
    await fill_upgrade_form(page, modl, sim, gateway_credential)
    await page.get_by_role("button", name="Run playbook").click()
    await page.wait_for_url(re.compile(r"#/executions/[0-9a-f-]{36}$"))
    execution_id = execution_id_of(page)

    # Pause at once (it takes effect at the next step boundary), then resume.
    await page.get_by_role("button", name="Pause").click()
    await status_is(page, "paused")
    assert await page.get_by_role("button", name="Resume").is_enabled()
    assert not await page.get_by_role("button", name="Pause").is_enabled()
    assert "Paused" in await page.locator("#verdict").inner_text()
    assert api.get(f"/api/executions/{execution_id}").json()["status"] == "paused"
    await shot(page, "02-execution-paused")
    await page.get_by_role("button", name="Resume").click()

    # Steps complete live: the gateway restart (3 s on the simulator) is seen running, with the
    # steps before it completed and the run still going.
    await page.locator('#timeline li[data-step-id="restart"][data-status="running"]').wait_for()
    assert (
        await page.locator('#timeline li[data-step-id="upload"]').get_attribute("data-status")
        == "completed"
    )
    assert await page.locator("#execution-status [data-status]").get_attribute("data-status") in (
        "running",
        "paused",
    )
    progress = await page.locator("#execution-progress-text").inner_text()
    assert re.fullmatch(r"step \d+ of 11", progress), progress
    await shot(page, "02b-execution-running")

    await status_is(page, "completed", timeout=60_000)
    verdict = page.locator("#verdict")
    assert "Passed" in await verdict.inner_text()
    assert await page.locator('#timeline li[data-status="completed"]').count() == 11
    for action in ("Pause", "Resume", "Skip step", "Cancel"):
        assert not await page.get_by_role("button", name=action).is_enabled()
    await page.get_by_role("button", name=re.compile(r"^Download .*\.gwbk")).wait_for()
    await shot(page, "03-execution-completed", full_page=True)

    # Open an artifact (the backup taken by the run) and the HTML report.
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name=re.compile(r"^Download .*\.gwbk")).click()
    download = await download_info.value
    saved = tmp_path / "backup.gwbk"
    await download.save_as(saved)
    assert saved.stat().st_size > 0
    async with page.context.expect_page() as popup_info:
        await page.get_by_role("button", name="HTML report").click()
    report = await popup_info.value
    await report.wait_for_load_state()
    assert "completed" in await report.content()
    await shot(report, "04-html-report")
    await report.close()

    # Delete the execution.
    await page.get_by_role("button", name="Delete execution").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await page.wait_for_url(re.compile(r"#/executions$"))
    await page.locator("#executions-table").wait_for()
    assert await page.locator(f'tr[data-execution-id="{execution_id}"]').count() == 0
    assert api.get(f"/api/executions/{execution_id}").status_code == 404
    assert errors == []


async def test_cancel_a_debug_run_and_filter_the_list(
    browser: Any, server: Process, sim: Process, gateway_credential: str, tmp_path: Path
) -> None:
    modl = tmp_path / "cancel.modl"
    make_modl("com.example.cancel", "Cancel Module", "1.0.0", path=modl)
    page, errors = await new_page(browser)
    await open_playbook(page, server, UPGRADE, "upgrade")
    await fill_upgrade_form(page, modl, sim, gateway_credential)
    await page.get_by_label("Debug mode").check()
    await page.get_by_role("button", name="Run playbook").click()
    await page.wait_for_url(re.compile(r"#/executions/[0-9a-f-]{36}$"))
    execution_id = execution_id_of(page)

    # Debug mode pauses before the first step: resume, skip and cancel are offered, pause is not.
    await status_is(page, "paused")
    assert await page.locator("#execution-status").get_by_text("debug").is_visible()
    assert await page.get_by_role("button", name="Skip step").is_enabled()
    assert not await page.get_by_role("button", name="Pause").is_enabled()
    await page.get_by_role("button", name="Cancel").click()
    await status_is(page, "cancelled")
    assert "Cancelled" in await page.locator("#verdict").inner_text()
    await shot(page, "05-execution-cancelled")

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Executions").click()
    await page.get_by_role("button", name="cancelled", exact=True).click()
    row = page.locator(f'tr[data-execution-id="{execution_id}"]')
    await row.wait_for()
    assert await row.get_attribute("data-status") == "cancelled"
    others = '#executions-table tbody tr[data-status]:not([data-status="cancelled"])'
    await expect(page.locator(others)).to_have_count(0)
    await shot(page, "06-executions-filtered")
    assert errors == []


async def test_invalid_form_values_show_the_api_message_next_to_the_field(
    browser: Any, server: Process, sim: Process
) -> None:
    page, errors = await new_page(browser)
    await open_playbook(page, server, UPGRADE, "module upgrade")
    await page.get_by_role("textbox", name="module_path").fill("/tmp/none.modl")
    await page.get_by_label("restart_timeout").fill("1.5")
    await page.get_by_label("Gateway URL").fill(sim.url)
    await page.get_by_role("button", name="Run playbook").click()
    timeout_field = page.locator(".field", has=page.get_by_label("restart_timeout"))
    await timeout_field.locator(".field-error").wait_for()
    assert "is not of type 'integer'" in await timeout_field.locator(".field-error").inner_text()
    assert await page.get_by_label("restart_timeout").get_attribute("aria-invalid") == "true"

    await page.get_by_label("restart_timeout").fill("30")
    await page.get_by_label("Gateway URL").fill("ftp://gateway.example")
    await page.get_by_role("button", name="Run playbook").click()
    url_field = page.locator(".field", has=page.get_by_label("Gateway URL"))
    await url_field.locator(".field-error").wait_for()
    assert (
        await url_field.locator(".field-error").inner_text()
        == "gateway_url must be an http or https URL"
    )
    assert not await timeout_field.locator(".field-error").is_visible()
    await shot(page, "07-run-form-validation")
    assert "#/playbooks/" in page.url  # nothing started
    assert errors == []


FILE_PARAMETERS = b"""name: File parameters
version: "1.0"
domain: e2e
description: A file parameter and a string that merely looks like one
parameters:
  - {name: package, type: file, required: true, description: The archive to read}
  - {name: old_module_file, type: string, description: "Name of a .modl (just a string)"}
steps:
  - id: hello
    type: utility.log
    parameters: {message: "{{ parameter.package }}"}
"""


async def test_upload_is_offered_for_file_parameters_only(
    browser: Any, server: Process, api: httpx.Client, tmp_path: Path
) -> None:
    """The "Upload .modl…" control follows the parameter's declared `type: file` (and the caller's
    modules:upload permission from GET /api/me), not its name or description."""
    put = api.put("/api/playbooks/e2e/file_parameters.yaml", content=FILE_PARAMETERS)
    assert put.status_code in (200, 201), put.text
    me = api.get("/api/me").json()
    assert me["role"] == "admin" and "modules:upload" in me["permissions"]
    page, errors = await new_page(browser)
    await page.goto(f"{server.url}/#/playbooks/e2e/file_parameters.yaml")
    await page.get_by_role("button", name="Run playbook").wait_for()
    await page.locator("#session").get_by_text("Local mode (admin)").wait_for()
    assert await page.locator('input[type="file"][data-upload-for="package"]').count() == 1
    assert await page.locator('input[type="file"][data-upload-for="old_module_file"]').count() == 0
    assert await page.get_by_role("button", name="Upload .modl…").count() == 1
    old = page.locator(".field", has=page.get_by_role("textbox", name="old_module_file"))
    assert await old.get_by_role("button").count() == 0

    modl = tmp_path / "package.modl"
    make_modl("com.example.package", "Package Module", "1.0.0", path=modl)
    await page.locator('input[type="file"][data-upload-for="package"]').set_input_files(modl)
    await page.get_by_text(f"Uploaded {modl.name}").wait_for()
    assert await page.get_by_role("textbox", name="package").input_value() == modl.name
    await shot(page, "08b-file-parameter-upload")
    await page.get_by_role("button", name="Run playbook").click()
    await page.wait_for_url(re.compile(r"#/executions/[0-9a-f-]{36}$"))
    await status_is(page, "completed")
    detail = api.get(f"/api/executions/{execution_id_of(page)}").json()
    assert detail["parameters"]["package"] == modl.name
    assert api.delete("/api/playbooks/e2e/file_parameters.yaml").status_code in (200, 204)

    # A parameter that declares `accept` gets a picker for those endings (a gateway backup here).
    await page.goto(f"{server.url}/#/playbooks/gateway/restore.yaml")
    await page.get_by_role("button", name="Upload .gwbk…").wait_for()
    picker = page.locator('input[type="file"][data-upload-for="backup_file"]')
    assert await picker.get_attribute("accept") == ".gwbk"
    assert errors == []
