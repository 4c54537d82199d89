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
    result = await conn.execute(_insert(conn, table).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount == 1)


async def add_to_row(
    conn: AsyncConnection,
    table: Table,
    key: dict[str, Any],
    deltas: dict[str, float],
    *,
    start: dict[str, Any],
) -> None:
    """Add ``deltas`` to the row with ``key`` (its primary key), made from ``start`` first.

    One statement (an upsert), where a read-modify-write would be three and an insert
    then an update two: counters bumped by every bid add up fast.
    """
    first = {**start, **key}
    for name, delta in deltas.items():
        first[name] = first.get(name, 0) + delta
    statement = _insert(conn, table).values(**first)
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + delta for name, delta in deltas.items()},
    )
    await conn.execute(statement)


def _insert(conn: AsyncConnection, table: Table) -> Any:
    """The dialect's own INSERT, which has ON CONFLICT."""
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def utc(moment: datetime) -> datetime:
    """A stored moment as an aware UTC datetime (SQLite hands back naive ones)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def maybe_utc(moment: datetime | None) -> datetime | None:
    """``utc`` for a moment that may be missing."""
    return utc(moment) if moment is not None else None
