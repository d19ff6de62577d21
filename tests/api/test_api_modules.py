"""Module uploads, and the folders a step may read input files from (no arbitrary server files)."""

from __future__ import annotations

from typing import Any

import zip_builders
from api_support import wait_status

# An honest module larger than the 1 MiB JSON body limit (uploads are checked: SR-19, SR-23).
MODULE = zip_builders.modl(padding=2 * 1024 * 1024)


async def upload(client: Any, name: str, data: bytes, **headers: str) -> Any:
    return await client.post(f"/api/modules?fileName={name}", data=data, headers=headers)


async def test_an_uploaded_module_is_stored_and_a_step_can_read_it(running: Any) -> None:
    response = await upload(running.client, "Vision 2.0.modl", MODULE)
    assert response.status_code == 201, await response.get_data()
    body = await response.get_json()
    assert body["path"] == "Vision 2.0.modl" and body["size"] == len(MODULE)
    assert str(running.state.settings.data_dir) not in str(body)
    started = await running.client.post(
        "/api/executions",
        json={"playbook_path": "examples/read.yaml", "parameters": {"path": "Vision 2.0.modl"}},
    )
    execution_id = (await started.get_json())["execution_id"]
    record = await wait_status(running.client, execution_id, {"completed", "failed"})
    assert record["status"] == "completed", record


async def test_steps_cannot_read_files_outside_the_allowed_folders(secured: Any) -> None:
    # With API keys a caller's absolute path stays confined (desktop mode reads it as given:
    # test_api_caller_files.py).
    from api_support import role_keys

    headers = {"X-API-Key": (await role_keys())["executor"]}
    started = await secured.client.post(
        "/api/executions",
        json={"playbook_path": "examples/read.yaml", "parameters": {"path": "/etc/hostname"}},
        headers=headers,
    )
    execution_id = (await started.get_json())["execution_id"]
    record = await wait_status(
        secured.client, execution_id, {"completed", "failed"}, headers=headers
    )
    assert record["status"] == "failed"
    detail = await (
        await secured.client.get(f"/api/executions/{execution_id}", headers=headers)
    ).get_json()
    error = detail["step_results"][0]["error"]
    assert error["code"] == "invalid_path" and "/etc" not in error["message"]


async def test_bad_uploads_are_refused_and_leave_nothing(running: Any) -> None:
    for name, data in (
        ("x.modl", b"not a zip at all"),
        ("../x.modl", MODULE),
        ("x.jar", MODULE),
        (".modl", MODULE),
    ):
        response = await upload(running.client, name, data)
        assert response.status_code == 400, name
        assert (await response.get_json())["detail"]["error"] == "validation_error"
    assert not [p for p in running.state.settings.uploads_dir.iterdir()]


async def test_uploads_have_their_own_cap(make_settings: Any) -> None:
    from api_support import isolated_plugins

    from ignition_toolbox.api import create_app

    app = create_app(make_settings(max_upload_bytes=1000), plugins=isolated_plugins())
    async with app.test_app() as test_app:
        response = await upload(test_app.test_client(), "big.modl", MODULE)
        assert response.status_code == 400
        assert (await response.get_json())["detail"]["details"] == {"limit_bytes": 1000}


async def test_me_in_desktop_mode_is_the_local_admin(running: Any) -> None:
    local = await (await running.client.get("/api/me")).get_json()
    assert local["role"] == "admin" and local["auth_required"] is False


async def test_me_tells_a_key_its_role_and_permissions(secured: Any) -> None:
    from api_support import role_keys

    keys = await role_keys()
    mine = await (
        await secured.client.get("/api/me", headers={"X-API-Key": keys["executor"]})
    ).get_json()
    assert mine["role"] == "executor" and mine["auth_required"] is True
    assert "executions:control" in mine["permissions"]
    assert "playbooks:write" not in mine["permissions"]
    assert keys["executor"] not in str(mine)


async def test_debug_mode_failure_can_be_retried_through_the_api(running: Any) -> None:
    import asyncio

    started = await running.client.post(
        "/api/executions", json={"playbook_path": "gateway/fail.yaml", "debug_mode": True}
    )
    execution_id = (await started.get_json())["execution_id"]
    url = f"/api/executions/{execution_id}"

    async def status() -> dict[str, Any]:
        return await (await running.client.get(url)).get_json()

    async def until(predicate: Any) -> dict[str, Any]:
        for _ in range(200):
            body = await status()
            if predicate(body):
                return body
            await asyncio.sleep(0.02)
        raise AssertionError(await status())

    await until(lambda b: b["status"] == "paused")  # before the first step
    refused = await running.client.post(f"{url}/retry")
    assert refused.status_code == 400  # nothing failed yet
    await running.client.post(f"{url}/resume")
    body = await until(lambda b: b["status"] == "paused" and b["step_results"])
    assert body["step_results"][0]["status"] == "failed"
    retried = await running.client.post(f"{url}/retry")
    assert (await retried.get_json())["message"] == "Step retried"
    await until(lambda b: b["status"] == "paused" and b["step_results"][0]["attempts"] == 2)
    await running.client.post(f"{url}/skip")
    final = await until(lambda b: b["status"] in ("completed", "failed"))
    assert final["status"] == "completed" and final["step_results"][0]["status"] == "skipped"


async def test_general_uploads_take_every_input_kind_and_check_zip_kinds(running: Any) -> None:
    client = running.client
    ok = await client.post("/api/uploads?fileName=nightly.gwbk", data=zip_builders.gwbk())
    assert ok.status_code == 201 and (await ok.get_json())["path"] == "nightly.gwbk"
    tags = await client.post("/api/uploads?fileName=tags.json", data=b'{"tags": []}')
    assert tags.status_code == 201
    not_zip = await client.post("/api/uploads?fileName=project.zip", data=b"plain text")
    assert not_zip.status_code == 400
    wrong_kind = await client.post("/api/uploads?fileName=run.sh", data=b"echo hi")
    assert wrong_kind.status_code == 400
    only_modules = await client.post("/api/modules?fileName=nightly.gwbk", data=zip_builders.gwbk())
    assert only_modules.status_code == 400
    stored = sorted(p.name for p in running.state.settings.uploads_dir.iterdir())
    assert stored == ["nightly.gwbk", "tags.json"]
