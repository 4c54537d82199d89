"""The few statements whose SQL differs between PostgreSQL and SQLite, in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_ignoring_duplicates(
    conn: AsyncConnection, table: Table, values: dict[str, Any]
) -> bool:
    """Insert a row unless its key exists; True when this call inserted it."""
    if conn.dialect.name == "postgresql":
        statement: Any = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    else:
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    result = await conn.execute(statement)
    return bool(result.rowcount == 1)


def utc(moment: datetime) -> datetime:
    """A stored moment as an aware UTC datetime (SQLite hands back naive ones)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def maybe_utc(moment: datetime | None) -> datetime | None:
    """``utc`` for a moment that may be missing."""
    return utc(moment) if moment is not None else None
