"""Persisting an execution's events: one fixed statement per event.

Every step writes its row when it starts and again when it ends, before either is broadcast, so
these statements run about twenty times per execution. Through the ORM each one cost 0.15–0.25 ms
of CPU (building the query through pypika, instantiating a model); with fifty executions running
that made persistence a quarter of the server's CPU (bench/fleet.py). Here each statement is written
once per dialect and the values go through the model fields' own conversions. A step row is an
upsert on its unique ``(execution_id, step_index)``, so the writer needs no memory of which rows
exist, and a retried step (debug mode) simply overwrites its row.

Concurrent executions share transactions (group commit): each statement costs the database thread
a wake-up and the event loop a wake-up back, and with fifty executions running those hand-offs took
more of the server's time than the statements. Writes that arrive while one batch is being written
go together into the next, in arrival order, one transaction per batch, consecutive uses of one
statement sent as one ``executemany``; a writer still returns only once its own write is
committed, so "persist, then broadcast" holds.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from functools import cache
from itertools import groupby
from typing import Any

from tortoise.fields import JSONField
from tortoise.models import Model
from tortoise.transactions import in_transaction

from .models import ExecutionRecord, StepResultRecord
from .sql_params import placeholders

log = logging.getLogger(__name__)

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


@cache
def _step_sql(dialect: str) -> str:
    marks = placeholders(dialect)
    updates = ", ".join(f"{c} = excluded.{c}" for c in STEP_COLUMNS if c not in _KEY)
    return (
        f"INSERT INTO step_results ({', '.join(STEP_COLUMNS)})"
        f" VALUES ({', '.join(next(marks) for _ in STEP_COLUMNS)})"
        f" ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {updates}"
    )


@cache
def _execution_sql(dialect: str, columns: tuple[str, ...]) -> str:
    marks = placeholders(dialect)
    assignments = ", ".join(f"{c} = {next(marks)}" for c in columns)
    return f"UPDATE executions SET {assignments} WHERE id = {next(marks)}"


@cache
def _insert_sql(dialect: str, table: str, columns: tuple[str, ...]) -> str:
    marks = placeholders(dialect)
    return (
        f"INSERT INTO {table} ({', '.join(columns)})"
        f" VALUES ({', '.join(next(marks) for _ in columns)})"
    )


def _json(model: type[Model], name: str, value: Any) -> Any:
    """The JSON field's own encoding (the text both SQLite and PostgreSQL's jsonb accept)."""
    return model._meta.fields_map[name].to_db_value(value, model)


def _db_values(model: type[Model], values: dict[str, Any], columns: tuple[str, ...]) -> list[Any]:
    """``values`` in ``columns`` order, each JSON field through its own encoding."""
    fields = model._meta.fields_map
    return [
        _json(model, c, values[c]) if isinstance(fields[c], JSONField) else values[c]
        for c in columns
    ]


_Write = tuple[str, list[Any], "asyncio.Future[None]"]  # statement, parameters, its writer


class GroupCommit:
    """Statements from concurrent writers, committed together; see the module's docstring."""

    # A batch this small goes statement by statement: a transaction costs three hand-offs itself.
    SMALL = 2

    def __init__(self) -> None:
        self._pending: list[_Write] = []
        self._writer: asyncio.Task[None] | None = None

    async def execute(self, sql: str, params: list[Any]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((sql, params, future))
        if self._writer is None or self._writer.done():
            # Created from the writer's context, so the task sees the same Tortoise connections.
            self._writer = asyncio.create_task(self._drain(), name="itk-group-commit")
        await future

    async def _drain(self) -> None:
        batch: list[_Write] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                await self._write(batch)
        except BaseException:
            # Cancelled (the loop is closing): no writer may wait forever for an answer.
            for _, _, future in [*batch, *self._pending]:
                future.cancel()
            raise

    async def _write(self, batch: list[_Write]) -> None:
        if len(batch) > self.SMALL:
            try:
                await self._together(batch)
            except Exception:
                # One bad statement must fail only its own writer: retry them one by one.
                log.debug("group commit of %d statements failed", len(batch), exc_info=True)
            else:
                for _, _, future in batch:
                    if not future.done():
                        future.set_result(None)
                return
        await self._one_by_one(batch)

    @staticmethod
    async def _together(batch: list[_Write]) -> None:
        db = StepResultRecord._meta.db
        async with in_transaction(db.connection_name) as connection:
            for sql, items in groupby(batch, key=lambda item: item[0]):
                await connection.execute_many(sql, [params for _, params, _ in items])

    @staticmethod
    async def _one_by_one(batch: list[_Write]) -> None:
        db = StepResultRecord._meta.db
        for sql, params, future in batch:
            try:
                await db.execute_query(sql, params)
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(None)


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
    commits: GroupCommit,
) -> None:
    db = StepResultRecord._meta.db
    await commits.execute(
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


async def update_execution(execution_id: str, values: dict[str, Any], commits: GroupCommit) -> None:
    """``UPDATE executions SET <values> WHERE id = ...``; JSON columns are encoded here."""
    columns = tuple(sorted(values))
    params = _db_values(ExecutionRecord, values, columns)
    db = ExecutionRecord._meta.db
    await commits.execute(_execution_sql(db.capabilities.dialect, columns), [*params, execution_id])


async def insert_row(model: type[Model], values: dict[str, Any], commits: GroupCommit) -> None:
    """``INSERT INTO <model's table> (<values' columns>)``, committed with the other writes in
    flight. ``values`` names every column: model defaults are Python-side, not in the schema.
    For rows on a hot path (an execution's own row, the audit row of its start): the ORM's
    ``create`` costs a database round trip and a commit of its own per row."""
    columns = tuple(values)
    params = _db_values(model, values, columns)
    db = model._meta.db
    await commits.execute(
        _insert_sql(db.capabilities.dialect, model._meta.db_table, columns), params
    )


__all__ = ["STEP_COLUMNS", "GroupCommit", "insert_row", "update_execution", "write_step"]
