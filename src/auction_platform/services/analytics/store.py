"""Tables and queries of the analytics service: the event store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.contracts.events import Envelope
from auction_platform.core.service import service_tables

TABLES = service_tables("analytics")

events = Table(
    "analytics_events",
    TABLES.metadata,
    Column("event_id", String(64), primary_key=True),
    Column("event_type", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("producer", String(50), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("correlation_id", String(128), nullable=True),
    Column("data", JSON, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
    Index("ix_analytics_events_type_time", "event_type", "occurred_at"),
)


async def store_event(conn: AsyncConnection, envelope: Envelope) -> None:
    """Append one event to the store."""
    await conn.execute(
        events.insert().values(
            event_id=envelope.id,
            event_type=envelope.type,
            version=envelope.version,
            producer=envelope.producer,
            occurred_at=envelope.occurred_at,
            correlation_id=envelope.correlation_id,
            data=envelope.data,
            stored_at=datetime.now(UTC),
        )
    )


async def recent_events(
    conn: AsyncConnection, *, event_type: str | None, limit: int
) -> list[dict[str, Any]]:
    """The newest stored events, optionally of one type."""
    query = select(events).order_by(events.c.occurred_at.desc()).limit(limit)
    if event_type:
        query = query.where(events.c.event_type == event_type)
    rows = (await conn.execute(query)).mappings().all()
    return [
        {
            "id": row["event_id"],
            "type": row["event_type"],
            "version": row["version"],
            "producer": row["producer"],
            "occurred_at": _utc(row["occurred_at"]).isoformat(),
            "correlation_id": row["correlation_id"],
            "data": row["data"],
        }
        for row in rows
    ]


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
