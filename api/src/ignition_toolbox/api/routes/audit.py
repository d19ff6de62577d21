"""``GET /api/audit``: admins read; there is deliberately no route that changes audit rows."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from .. import audit
from ..models import AuditRecord
from ..request_context import query_int

blueprint = Blueprint("audit", __name__)


@blueprint.get("/api/audit")
async def list_audit() -> dict[str, Any]:
    limit = query_int("limit", 100, 1, 200)
    offset = query_int("offset", 0, 0, 10_000_000)
    query = AuditRecord.all()
    action = request.args.get("action")
    if action:
        query = query.filter(action=action[:64])
    rows = await query.order_by("-id").offset(offset).limit(limit)
    return {"events": [audit.describe(r) for r in rows]}
