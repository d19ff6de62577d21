"""Persisting an execution's events: one fixed statement per event.

Every step writes its row when it starts and again when it ends, before either is broadcast, so
these statements run about twenty times per execution. Through the ORM each one cost 0.15–0.25 ms
of CPU (building the query through pypika, instantiating a model); with fifty executions running
that made persistence a quarter of the server's CPU (bench/fleet.py). Here each statement is written
once per dialect and the values go through the model fields' own conversions. A step row is an
upsert on its unique ``(execution_id, step_index)``, so the writer needs no memory of which rows
exist, and a retried step (debug mode) simply overwrites its row.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import Any

from .models import ExecutionRecord, StepResultRecord

STEP_COLUMNS = (
    "execution_id",
    "step_index",
    "step_id",
    "step_name",
    "step_type",
    "status",
    "started_at",
    "completed_at",
    "output",
    "error",
    "attempts",
)
_KEY = ("execution_id", "step_index")


def _marks(dialect: str) -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"${n}" if dialect == "postgres" else "?"


@cache
def _step_sql(dialect: str) -> str:
    marks = _marks(dialect)
    updates = ", ".join(f"{c} = excluded.{c}" for c in STEP_COLUMNS if c not in _KEY)
    return (
        f"INSERT INTO step_results ({', '.join(STEP_COLUMNS)})"
        f" VALUES ({', '.join(next(marks) for _ in STEP_COLUMNS)})"
        f" ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {updates}"
    )


@cache
def _execution_sql(dialect: str, columns: tuple[str, ...]) -> str:
    marks = _marks(dialect)
    assignments = ", ".join(f"{c} = {next(marks)}" for c in columns)
    return f"UPDATE executions SET {assignments} WHERE id = {next(marks)}"


def _json(model: type[StepResultRecord] | type[ExecutionRecord], name: str, value: Any) -> Any:
    """The JSON field's own encoding (the text both SQLite and PostgreSQL's jsonb accept)."""
    return model._meta.fields_map[name].to_db_value(value, model)


async def write_step(
    execution_id: str,
    step_index: int,
    *,
    step_id: str,
    step_name: str,
    step_type: str,
    status: str,
    started_at: datetime | None,
    completed_at: datetime | None,
    output: Any,
    error: Any,
    attempts: int,
) -> None:
    db = StepResultRecord._meta.db
    await db.execute_query(
        _step_sql(db.capabilities.dialect),
        [
            execution_id,
            step_index,
            step_id[:128],
            step_name[:255],
            step_type[:128],
            status,
            started_at,
            completed_at,
            _json(StepResultRecord, "output", output),
            _json(StepResultRecord, "error", error),
            attempts,
        ],
    )


async def update_execution(execution_id: str, values: dict[str, Any]) -> None:
    """``UPDATE executions SET <values> WHERE id = ...``; JSON columns are encoded here."""
    columns = tuple(sorted(values))
    params = [
        _json(ExecutionRecord, c, values[c]) if c in ("error", "parameters") else values[c]
        for c in columns
    ]
    db = ExecutionRecord._meta.db
    await db.execute_query(
        _execution_sql(db.capabilities.dialect, columns), [*params, execution_id]
    )


__all__ = ["STEP_COLUMNS", "update_execution", "write_step"]
