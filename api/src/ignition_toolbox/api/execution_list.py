"""The execution list as one fixed query over plain rows.

``GET /api/executions`` is the API's hottest read. Through the ORM, turning a page's 150 timestamps
back into datetimes (Tortoise's pure-Python ISO 8601 parser) cost more than the query and the HTTP
round trip together, and building the query through pypika cost another share. Here the SQL is
written once per dialect, SQLite's stored timestamp text goes through the C
``datetime.fromisoformat``, and PostgreSQL's datetimes pass straight through.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

from .executions import SUMMARY_FIELDS, summary_from_row
from .models import ExecutionRecord


@cache
def _sql(dialect: str, with_status: bool) -> str:
    marks = iter(["$1", "$2", "$3"] if dialect == "postgres" else ["?", "?", "?"])
    where = f" WHERE status = {next(marks)}" if with_status else ""
    return (
        f"SELECT {', '.join(SUMMARY_FIELDS)} FROM executions{where}"
        f" ORDER BY created_at DESC LIMIT {next(marks)} OFFSET {next(marks)}"
    )


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("started_at", "created_at", "completed_at"):
        row[name] = _timestamp(row[name])
    row["debug_mode"] = bool(row["debug_mode"])
    if isinstance(row["error"], str):
        row["error"] = json.loads(row["error"])
    return summary_from_row(row)


async def list_summaries(status: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """Newest first. ``status`` must already be one of the known statuses."""
    db = ExecutionRecord._meta.db
    params: list[Any] = [limit, offset] if status is None else [status, limit, offset]
    rows = await db.execute_query_dict(_sql(db.capabilities.dialect, status is not None), params)
    return [_summary(row) for row in rows]


__all__ = ["list_summaries"]
