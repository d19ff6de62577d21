"""Maintenance cleanup (SECURITY.md case 107): admin only, validated, audited, and it deletes only
finished executions older than the cut-off, with their step rows and artifact files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_support import Running, role_keys, wait_status

from ignition_toolbox.api.models import AuditRecord, ExecutionRecord, StepResultRecord


async def _run(running: Running, headers: dict[str, str]) -> str:
    response = await running.client.post(
        "/api/executions", json={"playbook_path": "examples/frames.yaml"}, headers=headers
    )
    execution_id = (await response.get_json())["execution_id"]
    await wait_status(running.client, execution_id, {"completed"}, headers=headers)
    return str(execution_id)


async def test_cleanup_deletes_only_old_finished_executions(secured: Running) -> None:
    keys = await role_keys()
    admin = {"X-API-Key": keys["admin"]}
    old, recent = await _run(secured, admin), await _run(secured, admin)
    await ExecutionRecord.filter(id=old).update(completed_at=datetime.now(UTC) - timedelta(days=40))
    artifacts = secured.state.settings.artifacts_dir
    assert (artifacts / old).is_dir()
    response = await secured.client.post(
        "/api/maintenance/cleanup", json={"older_than_days": 30}, headers=admin
    )
    assert response.status_code == 200
    body = await response.get_json()
    assert body["executions_deleted"] == 1 and body["screenshots_deleted"] == 1
    assert not await ExecutionRecord.exists(id=old)
    assert not await StepResultRecord.filter(execution_id=old).exists()
    assert not (artifacts / old).exists()
    assert await ExecutionRecord.exists(id=recent) and (artifacts / recent).is_dir()
    row = await AuditRecord.get(action="maintenance.cleanup")
    assert row.actor is not None and row.details["executions_deleted"] == 1


@pytest.mark.parametrize("days", [0, -1, "30", 1.5, True, None])
async def test_bad_older_than_days_is_a_validation_error(secured: Running, days: Any) -> None:
    keys = await role_keys()
    response = await secured.client.post(
        "/api/maintenance/cleanup",
        json={"older_than_days": days},
        headers={"X-API-Key": keys["admin"]},
    )
    assert response.status_code == 400
    assert (await response.get_json())["detail"]["error"] == "validation_error"


async def test_only_admins_clean_up_and_logs_cannot_be_deleted(secured: Running) -> None:
    keys = await role_keys()
    for role in ("readonly", "executor", "user"):
        response = await secured.client.post(
            "/api/maintenance/cleanup",
            json={"older_than_days": 1},
            headers={"X-API-Key": keys[role]},
        )
        assert response.status_code == 403
    for url in ("/api/audit", "/api/logs", "/api/maintenance/logs"):
        response = await secured.client.delete(url, headers={"X-API-Key": keys["admin"]})
        assert response.status_code in (404, 405)
