"""Opening the database: migrate through Tortoise's own framework, refuse a newer or broken schema."""

from __future__ import annotations

import logging
from typing import Any

from tortoise.context import TortoiseContext
from tortoise.migrations.executor import MigrationExecutor

from .models import APP_LABEL

log = logging.getLogger(__name__)

MIGRATIONS_MODULE = "ignition_toolbox.api.migrations"


class DatabaseError(Exception):
    """The database cannot be used; the message is meant for the operator and names no secret."""


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
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": ["ignition_toolbox.api.models"],
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_database(url: str) -> TortoiseContext:
    """Init Tortoise as the process-wide context (requests run in other tasks) and migrate."""
    config = tortoise_config(url)
    context = TortoiseContext()
    try:
        with context:
            await _init_and_migrate(context, config)
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


async def _init_and_migrate(context: TortoiseContext, config: dict[str, Any]) -> None:
    await context.init(config=config, _enable_global_fallback=True)
    connection = context.connections.get("default")
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
