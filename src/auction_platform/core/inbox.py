"""The inbox: a consumer records each event id with its effects, so redelivery is harmless."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.sql import insert_ignoring_duplicates


def inbox_table(metadata: MetaData, service: str) -> Table:
    """The inbox table of one service, ``<service>_inbox``, keyed by consumer and event."""
    return Table(
        f"{service}_inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("received_at", DateTime(timezone=True), nullable=False),
    )


async def claim_event(conn: AsyncConnection, table: Table, *, consumer: str, event_id: str) -> bool:
    """Record the event for this consumer; False when it was handled before."""
    return await insert_ignoring_duplicates(
        conn, table, {"consumer": consumer, "event_id": event_id, "received_at": datetime.now(UTC)}
    )
