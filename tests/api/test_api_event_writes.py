"""Group commit of execution events, on SQLite and (when ITK_TEST_POSTGRES_URL is set, as in CI)
on PostgreSQL: concurrent writers share transactions, each returns once its own row is committed,
and one bad statement fails only its own writer."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ignition_toolbox.api import event_writes
from ignition_toolbox.api.database import close_database, open_database
from ignition_toolbox.api.event_writes import GroupCommit, update_execution, write_step
from ignition_toolbox.api.models import ExecutionRecord, StepResultRecord

POSTGRES_URL = os.environ.get("ITK_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[None]:
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("ITK_TEST_POSTGRES_URL is not set")
        from test_api_postgres import _reset_schema

        await _reset_schema()
        url = POSTGRES_URL
    else:
        url = f"sqlite://{tmp_path / 'itk.sqlite3'}"
    context = await open_database(url)
    try:
        with context:
            yield
    finally:
        await close_database(context)


async def _executions(count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    for execution_id in ids:
        await ExecutionRecord.create(
            id=execution_id,
            playbook_path="p.yaml",
            playbook_name="P",
            playbook_hash="0" * 64,
            status="running",
            total_steps=3,
        )
    return ids


def _step(execution_id: str, index: int, status: str, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "step_id": f"s{index}",
        "step_name": f"Step {index}",
        "step_type": "utility.log",
        "status": status,
        "started_at": now,
        "completed_at": now if status != "running" else None,
        "output": extra.get("output"),
        "error": extra.get("error"),
        "attempts": 1,
    }


async def test_concurrent_writers_share_transactions(
    database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    grouped: set[str] = set()
    together = GroupCommit._together

    async def counting(batch: list[Any]) -> None:
        batches.append(len(batch))
        grouped.update(sql.split(" ", 1)[0] for sql, _, _ in batch)
        await together(batch)

    monkeypatch.setattr(GroupCommit, "_together", staticmethod(counting))
    commits = GroupCommit()
    ids = await _executions(20)

    async def run(execution_id: str) -> None:
        # One execution's writes in order, as the executor awaits them: start, end, index.
        for index in range(3):
            await write_step(
                execution_id, index, **_step(execution_id, index, "running"), commits=commits
            )
            await write_step(
                execution_id,
                index,
                **_step(execution_id, index, "completed", output={"n": index, "é": [True]}),
                commits=commits,
            )
            await update_execution(execution_id, {"current_step_index": index}, commits)

    await asyncio.gather(*(run(i) for i in ids))

    assert batches and max(batches) > GroupCommit.SMALL  # the writers really were grouped
    assert grouped == {"INSERT", "UPDATE"}  # step rows and execution rows alike
    rows = await StepResultRecord.all().order_by("execution_id", "step_index")
    assert len(rows) == 60  # the upsert left one row per step
    assert {r.status for r in rows} == {"completed"}
    assert {r.step_index: r.output for r in rows if r.execution_id == ids[0]} == {
        n: {"n": n, "é": [True]} for n in range(3)
    }
    assert {r.current_step_index for r in await ExecutionRecord.all()} == {2}


async def test_a_bad_statement_fails_only_its_writer(database: None) -> None:
    commits = GroupCommit()
    ids = await _executions(6)
    good = [
        write_step(i, 0, **_step(i, 0, "failed", error={"message": "x"}), commits=commits)
        for i in ids
    ]
    bad = commits.execute("INSERT INTO no_such_table (x) VALUES (1)", [])
    results = await asyncio.gather(*good, bad, return_exceptions=True)
    assert results[:-1] == [None] * len(ids)
    assert isinstance(results[-1], Exception)
    rows = await StepResultRecord.all()
    assert sorted(r.execution_id for r in rows) == sorted(ids)
    assert all(r.error == {"message": "x"} for r in rows)


async def test_terminal_update_encodes_json_and_clears_nothing_else(database: None) -> None:
    commits = GroupCommit()
    [execution_id] = await _executions(1)
    done = datetime.now(UTC)
    await update_execution(
        execution_id,
        {"status": "failed", "completed_at": done, "error": {"message": "boom", "code": 1}},
        commits,
    )
    record = await ExecutionRecord.get(id=execution_id)
    assert record.status == "failed" and record.error == {"message": "boom", "code": 1}
    assert record.completed_at is not None and abs((record.completed_at - done).total_seconds()) < 1
    assert record.playbook_name == "P" and record.total_steps == 3


def test_statements_per_dialect() -> None:
    sqlite = event_writes._step_sql("sqlite")
    postgres = event_writes._step_sql("postgres")
    assert "?" in sqlite and "$11" in postgres and "$12" not in postgres
    assert "ON CONFLICT (execution_id, step_index) DO UPDATE" in sqlite
    assert event_writes._execution_sql("postgres", ("error", "status")) == (
        "UPDATE executions SET error = $1, status = $2 WHERE id = $3"
    )


async def test_inserted_rows_read_back_as_the_orm_wrote_them(database: None) -> None:
    from ignition_toolbox.api.models import AuditRecord

    commits = GroupCommit()
    now = datetime.now(UTC)
    row = {
        "id": str(uuid.uuid4()),
        "playbook_path": "p.yaml",
        "playbook_name": "P",
        "playbook_hash": "0" * 64,
        "status": "pending",
        "parameters": {"count": 3, "names": ["a", "ü"]},
        "gateway_url": None,
        "credential_name": "plant",
        "debug_mode": True,
        "current_step_index": 0,
        "total_steps": 3,
        "error": None,
        "created_by": None,
        "idempotency_key": None,
        "request_hash": None,
        "created_at": now,
        "started_at": now,
        "completed_at": None,
    }
    audit = {"action": "execution.started", "actor": "local", "target": row["id"], "ip": None}
    await asyncio.gather(
        event_writes.insert_row(ExecutionRecord, row, commits),
        event_writes.insert_row(
            AuditRecord,
            {**audit, "outcome": "success", "details": {"k": "v"}, "timestamp": now},
            commits,
        ),
    )
    stored = await ExecutionRecord.get(id=row["id"])
    assert stored.parameters == {"count": 3, "names": ["a", "ü"]}
    assert stored.debug_mode is True and stored.credential_name == "plant"
    assert stored.created_at is not None and abs((stored.created_at - now).total_seconds()) < 1
    logged = await AuditRecord.get(target=row["id"])
    assert logged.details == {"k": "v"} and logged.action == "execution.started"
