"""Maintenance (admin only): retention of finished executions, and of audit rows past the server's
``audit_retention_days``. There is deliberately no route that deletes logs, nor audit rows a request
chooses (SECURITY.md case 107): only the operator's retention setting removes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from quart import Blueprint

from ignition_toolbox.core import ValidationError

from .. import audit
from ..request_context import client_ip, json_object, principal
from ..state import current

blueprint = Blueprint("maintenance", __name__)

MAX_DAYS = 36_500


def _older_than_days(body: dict[str, Any]) -> int:
    unknown = sorted(set(body) - {"older_than_days"})
    if unknown:
        raise ValidationError(
            f"Unknown field(s): {', '.join(unknown[:20])}", {"fields": unknown[:20]}
        )
    days = body.get("older_than_days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationError(
            f"older_than_days must be a whole number of days from 1 to {MAX_DAYS}",
            {"field": "older_than_days"},
        )
    return days


@blueprint.post("/api/maintenance/cleanup")
async def cleanup() -> dict[str, Any]:
    days = _older_than_days(await json_object())
    cutoff = datetime.now(UTC) - timedelta(days=days)
    state = current()
    executions, screenshots = await state.require_manager().cleanup(cutoff)
    audit_rows = await audit.apply_retention(state.settings.audit_retention_days)
    await audit.record(
        "maintenance.cleanup",
        actor=principal().actor,
        ip=client_ip(),
        details={
            "older_than_days": days,
            "executions_deleted": executions,
            "audit_rows_deleted": audit_rows,
        },
    )
    return {
        "message": "Cleanup finished",
        "older_than_days": days,
        "executions_deleted": executions,
        "screenshots_deleted": screenshots,
        "audit_rows_deleted": audit_rows,
    }
