"""Persistence against a real PostgreSQL: set ITK_TEST_POSTGRES_URL (CI does); skipped otherwise.

Each test starts from an empty ``public`` schema, so the migrations run from scratch every time.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from api_support import Running, isolated_plugins, wait_status

from ignition_toolbox.api import create_app
from ignition_toolbox.api.models import ExecutionRecord, StepResultRecord

POSTGRES_URL = os.environ.get("ITK_TEST_POSTGRES_URL")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="ITK_TEST_POSTGRES_URL is not set"),
]


async def _reset_schema() -> None:
    import asyncpg

    assert POSTGRES_URL is not None
    dsn = POSTGRES_URL.replace("postgres://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


@pytest.fixture
async def pg_settings(make_settings: Any) -> Any:
    await _reset_schema()
    return make_settings(database_url=POSTGRES_URL)


@pytest.fixture
async def pg_running(pg_settings: Any) -> AsyncIterator[Running]:
    app = create_app(pg_settings, plugins=isolated_plugins())
    async with app.test_app() as test_app:
        yield Running(app, test_app.test_client())


async def test_execution_round_trip_on_postgres(pg_running: Running) -> None:
    response = await pg_running.client.post(
        "/api/executions", json={"playbook_path": "gateway/ok.yaml", "parameters": {"count": 4}}
    )
    assert response.status_code == 202
    execution_id = (await response.get_json())["execution_id"]
    detail = await wait_status(pg_running.client, execution_id, {"completed"})
    assert [s["status"] for s in detail["step_results"]] == ["completed", "completed"]
    listing = await (await pg_running.client.get("/api/executions?limit=5")).get_json()
    assert listing[0]["execution_id"] == execution_id
    # Step rows are written with fixed per-dialect statements: JSON and timestamps survive them.
    second = detail["step_results"][1]
    assert second["output"] == {"name": "done", "value": True}
    assert second["started_at"] <= second["completed_at"]
    assert listing[0]["current_step_index"] == 1


async def test_failed_step_error_round_trip_on_postgres(pg_running: Running) -> None:
    response = await pg_running.client.post(
        "/api/executions", json={"playbook_path": "gateway/fail.yaml"}
    )
    execution_id = (await response.get_json())["execution_id"]
    detail = await wait_status(pg_running.client, execution_id, {"failed"})
    [step] = detail["step_results"]
    assert step["status"] == "failed" and "it broke" in step["error"]["message"]
    assert detail["error"] is not None and detail["completed_at"] is not None


async def test_credentials_and_idempotency_on_postgres(pg_running: Running) -> None:
    created = await pg_running.client.post(
        "/api/credentials", json={"name": "gw", "username": "u", "password": "pw-S3CR3T"}
    )
    assert created.status_code == 201
    duplicate = await pg_running.client.post(
        "/api/credentials", json={"name": "gw", "username": "u", "password": "pw"}
    )
    assert duplicate.status_code == 400
    body = {"playbook_path": "gateway/ok.yaml"}
    headers = {"Idempotency-Key": "same"}
    first = await pg_running.client.post("/api/executions", json=body, headers=headers)
    second = await pg_running.client.post("/api/executions", json=body, headers=headers)
    assert (await first.get_json())["execution_id"] == (await second.get_json())["execution_id"]


async def test_crash_sweep_on_postgres(pg_settings: Any) -> None:
    app = create_app(pg_settings, plugins=isolated_plugins())
    async with app.test_app():
        await ExecutionRecord.create(
            id="cut-off",
            playbook_path="gateway/slow.yaml",
            playbook_name="Slow",
            playbook_hash="0" * 64,
            status="running",
        )
        await StepResultRecord.create(
            execution_id="cut-off",
            step_index=0,
            step_id="wait1",
            step_name="Wait",
            step_type="utility.sleep",
            status="running",
        )
    app = create_app(pg_settings, plugins=isolated_plugins())
    async with app.test_app() as test_app:
        body = await (await test_app.test_client().get("/api/executions/cut-off")).get_json()
        assert body["status"] == "interrupted"
        assert body["error"]["reason"] == "server_restart"
        assert body["step_results"][0]["status"] == "interrupted"
