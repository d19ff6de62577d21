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
from .keys import iso
from .models import ExecutionRecord
from .sql_params import placeholders


@cache
def _sql(dialect: str, with_status: bool) -> str:
    marks = placeholders(dialect)
    where = f" WHERE status = {next(marks)}" if with_status else ""
    return (
        f"SELECT {', '.join(SUMMARY_FIELDS)} FROM executions{where}"
        f" ORDER BY created_at DESC LIMIT {next(marks)} OFFSET {next(marks)}"
    )


def _timestamp(value: Any) -> datetime | str | None:
    """SQLite's stored UTC text straight to the API's form (the same text ``iso`` would give, at a
    tenth of the cost of parsing and formatting it); anything else through ``iso``."""
    if isinstance(value, str):
        if value.endswith("+00:00") and value[10:11] == " ":
            return f"{value[:10]}T{value[11:-6]}Z"
        return iso(datetime.fromisoformat(value))
    return value


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
