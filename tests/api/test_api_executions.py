"""Executions: the guide's shapes, control calls, the queue, idempotency, persistence, crash sweep."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from api_support import Running, isolated_plugins, wait_status

from ignition_toolbox.api import create_app
from ignition_toolbox.api.models import ExecutionRecord, StepResultRecord


async def start(running: Running, path: str, **extra: Any) -> str:
    response = await running.client.post("/api/executions", json={"playbook_path": path, **extra})
    assert response.status_code == 202, await response.get_data(as_text=True)
    return str((await response.get_json())["execution_id"])


async def test_start_answers_202_with_the_guide_body(running: Running) -> None:
    response = await running.client.post(
        "/api/executions",
        json={
            "playbook_path": "gateway/ok.yaml",
            "parameters": {"count": 3},
            "gateway_url": "http://localhost:8088",
            "debug_mode": False,
        },
    )
    assert response.status_code == 202
    body = await response.get_json()
    assert set(body) == {"execution_id", "playbook_name", "status", "message"}
    assert body["status"] == "started"
    assert body["playbook_name"] == "OK Playbook"
    assert body["message"] == f"Execution started with ID: {body['execution_id']}"
    # Persisted before the acknowledgement.
    assert await ExecutionRecord.exists(id=body["execution_id"])


async def test_status_and_list_shapes(running: Running) -> None:
    execution_id = await start(running, "gateway/ok.yaml", parameters={"count": 2})
    detail = await wait_status(running.client, execution_id, {"completed"})
    assert detail["playbook_name"] == "OK Playbook"
    assert detail["current_step_index"] == 1
    assert detail["total_steps"] == 2
    assert detail["started_at"].endswith("Z")
    first = detail["step_results"][0]
    assert {k: first[k] for k in ("step_id", "step_name", "status")} == {
        "step_id": "first",
        "step_name": "First step",
        "status": "completed",
    }
    assert first["started_at"] and first["completed_at"]
    listing = await (await running.client.get("/api/executions?limit=50")).get_json()
    assert isinstance(listing, list)
    row = next(r for r in listing if r["execution_id"] == execution_id)
    for key in (
        "execution_id",
        "playbook_name",
        "status",
        "started_at",
        "current_step_index",
        "total_steps",
    ):
        assert key in row
    # The guide's field order, not alphabetical: JSON bodies are encoded without sorting keys.
    text = await (await running.client.get("/api/executions?limit=1")).get_data(as_text=True)
    assert text.startswith('[{"execution_id":')
    filtered = await (await running.client.get("/api/executions?status=running")).get_json()
    assert all(r["status"] == "running" for r in filtered)


@pytest.mark.parametrize(
    "query", ["limit=1000000", "limit=-1", "limit=abc", "offset=1e9", "status=bogus"]
)
async def test_list_rejects_bad_queries(running: Running, query: str) -> None:
    response = await running.client.get(f"/api/executions?{query}")
    assert response.status_code == 400
    assert (await response.get_json())["detail"]["error"] == "validation_error"


async def test_pause_resume_skip_cancel(running: Running) -> None:
    execution_id = await start(running, "gateway/slow.yaml", parameters={"seconds": 0.5})
    await wait_status(running.client, execution_id, {"running"})
    paused = await running.client.post(f"/api/executions/{execution_id}/pause")
    assert paused.status_code == 200
    assert await paused.get_json() == {"message": "Execution paused", "execution_id": execution_id}
    assert (await wait_status(running.client, execution_id, {"paused"}))["status"] == "paused"
    again = await running.client.post(f"/api/executions/{execution_id}/resume")
    assert again.status_code == 200
    resume_twice = await running.client.post(f"/api/executions/{execution_id}/resume")
    assert resume_twice.status_code == 400
    detail = (await resume_twice.get_json())["detail"]
    assert detail["error"] == "validation_error"
    assert detail["details"]["status"] == "running"
    skipped = await running.client.post(f"/api/executions/{execution_id}/skip")
    assert skipped.status_code == 200
    cancelled = await running.client.post(f"/api/executions/{execution_id}/cancel")
    assert cancelled.status_code == 200
    final = await wait_status(running.client, execution_id, {"cancelled"})
    assert "skipped" in {s["status"] for s in final["step_results"]}
    after = await running.client.post(f"/api/executions/{execution_id}/cancel")
    assert after.status_code == 400
    assert (await after.get_json())["detail"]["details"]["status"] == "cancelled"


async def test_cancel_storm_is_idempotent(running: Running) -> None:
    execution_id = await start(running, "gateway/slow.yaml", parameters={"seconds": 2})
    await wait_status(running.client, execution_id, {"running"})
    responses = await asyncio.gather(
        *(running.client.post(f"/api/executions/{execution_id}/cancel") for _ in range(50))
    )
    assert {r.status_code for r in responses} == {200}
    assert (await wait_status(running.client, execution_id, {"cancelled"}))["status"] == "cancelled"


async def test_control_unknown_execution_is_404(running: Running) -> None:
    response = await running.client.post("/api/executions/nope/pause")
    assert response.status_code == 404
    assert (await response.get_json())["detail"]["error"] == "execution_not_found"


async def test_failed_execution_records_the_error(running: Running) -> None:
    execution_id = await start(running, "gateway/fail.yaml")
    detail = await wait_status(running.client, execution_id, {"failed"})
    assert detail["error"]["step_id"] == "boom"
    assert detail["step_results"][0]["error"]["message"] == "it broke"


async def test_bad_parameters_are_refused_without_a_row(running: Running) -> None:
    before = await ExecutionRecord.all().count()
    for body in (
        {"playbook_path": "gateway/ok.yaml", "parameters": {"count": "many"}},
        {"playbook_path": "gateway/ok.yaml", "parameters": {"unknown": 1}},
        {"playbook_path": "gateway/ok.yaml", "parameters": {f"p{i}": i for i in range(10_001)}},
        {"playbook_path": "gateway/ok.yaml", "parameters": {"count": "x" * (1024 * 1024 - 200)}},
        {"playbook_path": "gateway/ok.yaml", "debug_mode": "yes"},
        {"playbook_path": "gateway/ok.yaml", "extra": 1},
        {"playbook_path": "examples/bad.yaml"},
    ):
        response = await running.client.post("/api/executions", json=body)
        assert response.status_code == 400, body.keys()
        assert (await response.get_json())["detail"]["error"] == "validation_error"
    assert await ExecutionRecord.all().count() == before


async def test_missing_playbook_and_credential_are_404(running: Running) -> None:
    response = await running.client.post(
        "/api/executions", json={"playbook_path": "gateway/none.yaml"}
    )
    assert response.status_code == 404
    assert (await response.get_json())["detail"]["error"] == "playbook_not_found"
    response = await running.client.post(
        "/api/executions", json={"playbook_path": "gateway/ok.yaml", "credential_name": "ghost"}
    )
    assert response.status_code == 404
    assert (await response.get_json())["detail"]["error"] == "credential_not_found"


async def test_idempotency_key_returns_the_same_execution(running: Running) -> None:
    body = {"playbook_path": "gateway/ok.yaml", "parameters": {"count": 1}}
    headers = {"Idempotency-Key": "abc-123"}
    first = await running.client.post("/api/executions", json=body, headers=headers)
    second = await running.client.post("/api/executions", json=body, headers=headers)
    assert first.status_code == second.status_code == 202
    assert (await first.get_json())["execution_id"] == (await second.get_json())["execution_id"]
    other = await running.client.post(
        "/api/executions", json={**body, "parameters": {"count": 2}}, headers=headers
    )
    assert other.status_code == 400
    assert await ExecutionRecord.all().count() == 1


async def test_starts_beyond_the_cap_wait_as_pending(make_settings: Any) -> None:
    app = create_app(make_settings(max_concurrent=1), plugins=isolated_plugins())
    async with app.test_app() as test_app:
        client = test_app.test_client()
        running = Running(app, client)
        first = await start(running, "gateway/slow.yaml", parameters={"seconds": 0.3})
        second = await start(running, "gateway/slow.yaml", parameters={"seconds": 0.1})
        await wait_status(client, first, {"running"})
        assert (await (await client.get(f"/api/executions/{second}")).get_json())[
            "status"
        ] == "pending"
        await wait_status(client, second, {"completed"}, timeout=15)
        third = await start(running, "gateway/slow.yaml", parameters={"seconds": 1})
        fourth = await start(running, "gateway/slow.yaml", parameters={"seconds": 1})
        cancelled = await client.post(f"/api/executions/{fourth}/cancel")
        assert cancelled.status_code == 200
        assert (await wait_status(client, fourth, {"cancelled"}))["step_results"] == []
        await client.post(f"/api/executions/{third}/cancel")


async def test_delete_only_terminal_executions(running: Running) -> None:
    execution_id = await start(running, "gateway/slow.yaml", parameters={"seconds": 1})
    await wait_status(running.client, execution_id, {"running"})
    refused = await running.client.delete(f"/api/executions/{execution_id}")
    assert refused.status_code == 400
    await running.client.post(f"/api/executions/{execution_id}/cancel")
    await wait_status(running.client, execution_id, {"cancelled"})
    deleted = await running.client.delete(f"/api/executions/{execution_id}")
    assert deleted.status_code == 200
    assert await deleted.get_json() == {
        "message": "Execution deleted successfully",
        "execution_id": execution_id,
        "screenshots_deleted": 0,
    }
    assert not await StepResultRecord.filter(execution_id=execution_id).exists()
    gone = await running.client.get(f"/api/executions/{execution_id}")
    assert gone.status_code == 404


async def test_artifacts_screenshots_and_reports(running: Running) -> None:
    execution_id = await start(running, "examples/frames.yaml", parameters={"count": 2})
    await wait_status(running.client, execution_id, {"completed"})
    listing = await (
        await running.client.get(f"/api/executions/{execution_id}/artifacts")
    ).get_json()
    (artifact,) = listing["artifacts"]
    assert artifact["kind"] == "screenshot"
    data = await running.client.get(
        f"/api/executions/{execution_id}/artifacts/{artifact['artifact_id']}"
    )
    assert data.status_code == 200
    assert (await data.get_data()).startswith(b"\x89PNG")
    # Downloaded, never rendered as a page of the API's origin.
    assert data.headers["Content-Disposition"].startswith("attachment;")
    assert data.headers["Content-Security-Policy"] == "sandbox"
    shot = await running.client.get(f"/api/executions/{execution_id}/screenshots/0")
    assert shot.status_code == 200
    missing = await running.client.get(f"/api/executions/{execution_id}/screenshots/5")
    assert missing.status_code == 404
    junit = await running.client.get(f"/api/executions/{execution_id}/report?format=junit")
    assert "<testsuite" in await junit.get_data(as_text=True)
    page = await running.client.get(f"/api/executions/{execution_id}/report?format=html")
    assert page.headers["Content-Security-Policy"] == "sandbox"
    assert "Frames Playbook" in await page.get_data(as_text=True)
    bad = await running.client.get(f"/api/executions/{execution_id}/report?format=pdf")
    assert bad.status_code == 400
    deleted = await (await running.client.delete(f"/api/executions/{execution_id}")).get_json()
    assert deleted["screenshots_deleted"] == 1
    assert not (running.state.settings.artifacts_dir / execution_id).exists()


async def test_crash_sweep_marks_active_runs_interrupted(make_settings: Any) -> None:
    settings = make_settings()
    app = create_app(settings, plugins=isolated_plugins())
    async with app.test_app():
        await ExecutionRecord.create(
            id="left-running",
            playbook_path="gateway/slow.yaml",
            playbook_name="Slow",
            playbook_hash="0" * 64,
            status="running",
            total_steps=3,
        )
        await StepResultRecord.create(
            execution_id="left-running",
            step_index=0,
            step_id="wait1",
            step_name="Wait one",
            step_type="utility.sleep",
            status="completed",
            output={"slept": 1},
        )
        await StepResultRecord.create(
            execution_id="left-running",
            step_index=1,
            step_id="wait2",
            step_name="Wait two",
            step_type="utility.sleep",
            status="running",
        )
        await ExecutionRecord.create(
            id="left-paused",
            playbook_path="gateway/slow.yaml",
            playbook_name="Slow",
            playbook_hash="0" * 64,
            status="paused",
            total_steps=3,
        )
    app = create_app(settings, plugins=isolated_plugins())
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for execution_id in ("left-running", "left-paused"):
            body = await (await client.get(f"/api/executions/{execution_id}")).get_json()
            assert body["status"] == "interrupted"
            assert body["error"]["code"] == "internal_error"
            assert body["error"]["reason"] == "server_restart"
        body = await (await client.get("/api/executions/left-running")).get_json()
        assert [s["status"] for s in body["step_results"]] == ["completed", "interrupted"]
        assert body["step_results"][0]["output"] == {"slept": 1}
        cancel = await client.post("/api/executions/left-running/cancel")
        assert cancel.status_code == 400
        assert (await cancel.get_json())["detail"]["error"] == "validation_error"


@pytest.mark.parametrize("microsecond", [0, 1, 777577])
def test_list_timestamps_match_the_api_form(microsecond: int) -> None:
    """The list turns SQLite's stored text into API text without parsing it; it must be exactly
    what formatting the datetime gives."""
    from datetime import UTC, datetime

    from ignition_toolbox.api.execution_list import _timestamp
    from ignition_toolbox.api.keys import iso

    moment = datetime(2026, 11, 26, 2, 50, 49, microsecond, tzinfo=UTC)
    assert _timestamp(moment.isoformat(" ")) == iso(moment)
    assert _timestamp(None) is None
