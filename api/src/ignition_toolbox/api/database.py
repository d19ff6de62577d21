"""Opening the database: migrate through Tortoise's own framework, refuse a newer or broken schema."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

from tortoise.context import TortoiseContext
from tortoise.migrations.executor import MigrationExecutor

from .models import APP_LABEL

log = logging.getLogger(__name__)

MIGRATIONS_MODULE = "ignition_toolbox.api.migrations"
OPEN_TIMEOUT = 60.0


class DatabaseError(Exception):
    """The database cannot be used; the message is meant for the operator and names no secret."""


def connection_name(url: str) -> str:
    """Named after the backend: Tortoise caches compiled SQL per connection name, so a process
    that opened SQLite before PostgreSQL (the test suite) must not share one name across them."""
    return "sqlite" if url.startswith("sqlite://") else "postgres"


def tortoise_config(url: str) -> dict[str, Any]:
    connection: Any = url
    if url.startswith("sqlite://"):
        connection = {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": url.removeprefix("sqlite://"),
                "journal_mode": "WAL",
                "busy_timeout": 5000,
                "synchronous": "NORMAL",
                "journal_size_limit": 16 * 1024 * 1024,
            },
        }
    return {
        "connections": {connection_name(url): connection},
        "apps": {
            APP_LABEL: {
                "models": ["ignition_toolbox.api.models"],
                "migrations": MIGRATIONS_MODULE,
                "default_connection": connection_name(url),
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_database(url: str) -> TortoiseContext:
    """Init Tortoise as the process-wide context (requests run in other tasks) and migrate."""
    config = tortoise_config(url)
    if url.startswith("sqlite://"):
        await asyncio.to_thread(_check_sqlite_file, Path(url.removeprefix("sqlite://")))
    context = TortoiseContext()
    try:
        with context:
            await asyncio.wait_for(_init_and_migrate(context, config), OPEN_TIMEOUT)
    except DatabaseError:
        await context.close_connections()
        raise
    except Exception as exc:
        await context.close_connections()
        log.debug("database open failed", exc_info=True)
        raise DatabaseError(
            f"cannot open the database ({type(exc).__name__}); "
            "it may be corrupt, locked or unreachable"
        ) from exc
    return context


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not SQLite before Tortoise sees it: a failed first connect there
    leaves its connection lock held and the next query waits forever."""
    if not path.exists():
        return
    try:
        connection = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=5)
        try:
            connection.execute("PRAGMA schema_version").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise DatabaseError(
            f"the database file {path.name} is not a usable SQLite database ({exc}); "
            "refusing to start (it was not modified)"
        ) from None


async def _init_and_migrate(context: TortoiseContext, config: dict[str, Any]) -> None:
    await context.init(config=config, _enable_global_fallback=True)
    connection = context.connections.get(config["apps"][APP_LABEL]["default_connection"])
    executor = MigrationExecutor(connection, config["apps"])
    await executor.loader.build_graph()
    known = set(executor.loader.disk_migrations)
    applied = set(executor.loader.applied_migrations)
    unknown = sorted(k.name for k in applied - known if k.app_label == APP_LABEL)
    if unknown:
        raise DatabaseError(
            "the database schema is newer than this version of Ignition Toolbox "
            f"(unknown migrations: {', '.join(unknown)}); upgrade the software"
        )
    await executor.migrate()


async def close_database(context: TortoiseContext) -> None:
    await context.close_connections()
