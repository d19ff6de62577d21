"""Execution routes of API_GUIDE.md plus artifacts, screenshots and reports."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from quart import Blueprint, Response, request

from ignition_toolbox.core import ToolboxError, ValidationError

from .. import audit, reports
from ..execution_list import list_summaries
from ..executions import STATUSES, StartRequest, detail_view
from ..models import ArtifactRecord
from ..request_context import client_ip, json_object, principal, query_int
from ..state import current

blueprint = Blueprint("executions", __name__)

MAX_LIMIT = 200
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
CONTROL_MESSAGES = {
    "pause": "Execution paused",
    "resume": "Execution resumed",
    "cancel": "Execution cancelled",
    "skip": "Step skipped",
    "retry": "Step retried",
}


class ArtifactNotFoundError(ToolboxError):
    code = "not_found"


@blueprint.post("/api/executions")
async def start_execution() -> tuple[dict[str, Any], int]:
    state = current()
    start = StartRequest.parse(await json_object())
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise ValidationError(
            "Idempotency-Key must be 1-200 visible ASCII characters", {"header": "Idempotency-Key"}
        )
    who = principal()
    manager = state.require_manager()
    record, created = await manager.submit(start, created_by=who.key_id, idempotency_key=key)
    if created:
        await audit.record(
            "execution.started",
            actor=who.actor,
            target=record.id,
            ip=client_ip(),
            details={"playbook_path": record.playbook_path},
            commits=manager.commits,
        )
    return {
        "execution_id": record.id,
        "playbook_name": record.playbook_name,
        "status": "started",
        "message": f"Execution started with ID: {record.id}",
    }, 202


@blueprint.get("/api/executions")
async def list_executions() -> list[dict[str, Any]]:
    limit = query_int("limit", 50, 1, MAX_LIMIT)
    offset = query_int("offset", 0, 0, 10_000_000)
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise ValidationError(
            f"status must be one of {', '.join(sorted(STATUSES))}", {"field": "status"}
        )
    return await list_summaries(status, limit, offset)


@blueprint.get("/api/executions/<execution_id>")
async def get_execution(execution_id: str) -> dict[str, Any]:
    record = await current().require_manager().get_record(execution_id)
    return await detail_view(record)


@blueprint.post("/api/executions/<execution_id>/<any(pause, resume, cancel, skip, retry):action>")
async def control_execution(execution_id: str, action: str) -> dict[str, Any]:
    await current().require_manager().control(execution_id, action)
    await audit.record(
        f"execution.{action}", actor=principal().actor, target=execution_id, ip=client_ip()
    )
    return {"message": CONTROL_MESSAGES[action], "execution_id": execution_id}


@blueprint.delete("/api/executions/<execution_id>")
async def delete_execution(execution_id: str) -> dict[str, Any]:
    screenshots = await current().require_manager().delete(execution_id)
    await audit.record(
        "execution.deleted", actor=principal().actor, target=execution_id, ip=client_ip()
    )
    return {
        "message": "Execution deleted successfully",
        "execution_id": execution_id,
        "screenshots_deleted": screenshots,
    }


def _artifact_view(row: ArtifactRecord) -> dict[str, Any]:
    from ..keys import iso

    return {
        "artifact_id": row.id,
        "name": row.name,
        "kind": row.kind,
        "content_type": row.content_type,
        "size": row.size,
        "step_id": row.step_id,
        "created_at": iso(row.created_at),
    }


@blueprint.get("/api/executions/<execution_id>/artifacts")
async def list_artifacts(execution_id: str) -> dict[str, Any]:
    await current().require_manager().get_record(execution_id)
    rows = await ArtifactRecord.filter(execution_id=execution_id).order_by("created_at")
    return {"execution_id": execution_id, "artifacts": [_artifact_view(r) for r in rows]}


async def _send_artifact(row: ArtifactRecord) -> Response:
    root = current().settings.artifacts_dir.resolve()
    path = (root / row.execution_id / row.filename).resolve()  # type: ignore[attr-defined]
    if not path.is_relative_to(root) or not path.is_file():
        raise ArtifactNotFoundError("Artifact file is missing", {"artifact_id": row.id})
    data = await asyncio.to_thread(Path(path).read_bytes)
    response = Response(data, status=200, content_type=row.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{row.filename}"'
    # Artifacts hold what pages under test put there (HTML at a failure, downloads): should a
    # client ever render one inline, it must not run as a page of this origin.
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


@blueprint.get("/api/executions/<execution_id>/artifacts/<artifact_id>")
async def get_artifact(execution_id: str, artifact_id: str) -> Response:
    await current().require_manager().get_record(execution_id)
    row = await ArtifactRecord.get_or_none(id=artifact_id[:64], execution_id=execution_id)
    if row is None:
        raise ArtifactNotFoundError(
            f"Artifact '{artifact_id[:64]}' not found", {"artifact_id": artifact_id[:64]}
        )
    return await _send_artifact(row)


@blueprint.get("/api/executions/<execution_id>/screenshots/<int:n>")
async def get_screenshot(execution_id: str, n: int) -> Response:
    await current().require_manager().get_record(execution_id)
    rows = await ArtifactRecord.filter(execution_id=execution_id, kind="screenshot").order_by(
        "created_at"
    )
    if n >= len(rows):
        raise ArtifactNotFoundError(f"Screenshot {n} not found", {"index": n})
    return await _send_artifact(rows[n])


@blueprint.get("/api/executions/<execution_id>/report")
async def get_report(execution_id: str) -> Response:
    record = await current().require_manager().get_record(execution_id)
    fmt = request.args.get("format", "json")
    if fmt not in reports.FORMATS:
        raise ValidationError(
            f"format must be one of {', '.join(reports.FORMATS)}", {"field": "format"}
        )
    detail = await detail_view(record)
    body, content_type = reports.render(detail, fmt)
    response = Response(body, status=200, content_type=content_type)
    # The HTML report is static (escaped text and CSS); it needs no script and gets none.
    response.headers["Content-Security-Policy"] = "sandbox"
    return response
