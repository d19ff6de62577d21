"""Module uploads, and the folders a step may read input files from (no arbitrary server files)."""

from __future__ import annotations

from typing import Any

from api_support import wait_status

MODULE = b"PK\x03\x04" + b"\0" * (2 * 1024 * 1024)  # larger than the 1 MiB JSON body limit


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


async def test_steps_cannot_read_files_outside_the_allowed_folders(running: Any) -> None:
    started = await running.client.post(
        "/api/executions",
        json={"playbook_path": "examples/read.yaml", "parameters": {"path": "/etc/hostname"}},
    )
    execution_id = (await started.get_json())["execution_id"]
    record = await wait_status(running.client, execution_id, {"completed", "failed"})
    assert record["status"] == "failed"
    detail = await (await running.client.get(f"/api/executions/{execution_id}")).get_json()
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
