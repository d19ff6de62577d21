"""Audit rows for every mutation and every authentication failure (SR-16)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from .event_writes import GroupCommit, insert_row
from .models import AuditRecord

log = logging.getLogger(__name__)


async def record(
    action: str,
    *,
    actor: str | None,
    target: str | None = None,
    outcome: str = "success",
    ip: str | None = None,
    details: dict[str, Any] | None = None,
    commits: GroupCommit | None = None,
) -> None:
    """Best effort: a failed audit write is logged but never turns a done action into an error.

    ``commits`` writes the row with the other writes in flight (a hot path such as a start)."""
    row = {
        "action": action,
        "actor": actor,
        "target": (target or "")[:255] or None,
        "outcome": outcome,
        "ip": ip,
        "details": details or {},
    }
    try:
        if commits is None:
            await AuditRecord.create(**row)
        else:
            await insert_row(AuditRecord, {**row, "timestamp": datetime.now(UTC)}, commits)
    except Exception:
        log.exception("could not write audit row for %s", action)


PRUNE_CHUNK = 1000


async def apply_retention(days: int) -> int:
    """Delete rows older than ``days`` (the server's ``audit_retention_days``; 0 keeps every row).

    Returns how many went. Chunked by id, so no delete holds the database for long."""
    if days <= 0:
        return 0
    cutoff = datetime.now(UTC) - timedelta(days=days)
    deleted = 0
    while True:
        ids = (
            await AuditRecord.filter(timestamp__lt=cutoff)
            .order_by("id")
            .limit(PRUNE_CHUNK)
            .values_list("id", flat=True)
        )
        if not ids:
            return deleted
        deleted += await AuditRecord.filter(id__in=list(ids)).delete()


def describe(row: AuditRecord) -> dict[str, Any]:
    from .keys import iso

    return {
        "id": row.id,
        "timestamp": iso(row.timestamp),
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "outcome": row.outcome,
        "ip": row.ip,
        "details": row.details,
    }


__all__ = ["apply_retention", "describe", "record"]
