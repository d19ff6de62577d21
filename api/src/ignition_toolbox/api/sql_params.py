"""Parameter marks of the fixed SQL statements, which differ between the two backends."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count


def placeholders(dialect: str) -> Iterator[str]:
    """``$1, $2, ...`` for PostgreSQL (asyncpg), ``?, ?, ...`` for SQLite, one per ``next``."""
    for n in count(1):
        yield f"${n}" if dialect == "postgres" else "?"


__all__ = ["placeholders"]
