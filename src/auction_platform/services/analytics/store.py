"""Tables of the analytics service, and the event store's queries.

The event store keeps every event as it came. The rollups (``rollup_store``) and
the search documents (``search_store``) are projections of the same events,
each written in the transaction that records the event in the inbox.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.contracts.events import Envelope
from auction_platform.core.service import service_tables
from auction_platform.core.sql import utc

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

# One row per auction: the dimensions (category, currency, format) the rollups are
# keyed by, and the per-auction facts (opening, first bid, result).
auctions = Table(
    "analytics_auctions",
    TABLES.metadata,
    Column("auction_id", String(64), primary_key=True),
    Column("title", String(200), nullable=True),
    Column("category", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    # How the lot is sold (``domain.SaleFormat``); lots counted before 0008 were English.
    Column("format", String(24), nullable=False, server_default="english"),
    Column("seller_id", String(64), nullable=True),
    Column("listed_at", DateTime(timezone=True), nullable=True),
    Column("opened_at", DateTime(timezone=True), nullable=True),
    Column("first_bid_seq", BigInteger, nullable=True),
    Column("first_bid_at", DateTime(timezone=True), nullable=True),
    Column("first_bid_seconds", Float, nullable=True),
    Column("bid_count", Integer, nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("sold", Boolean, nullable=True),
    Column("hammer_cents", BigInteger, nullable=True),
    Column("cancelled_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Counters per UTC day, category and currency (money never mixes currencies).
COUNTERS = (
    "listed",
    "opened",
    "sold",
    "unsold",
    "cancelled",
    "bids",
    "closed_bids",
    "first_bids",
    "orders_created",
    "orders_paid",
    "orders_created_paid",
    "refunds",
)
# Money per day: gross GMV and fees as they were made, and what refunds took back of
# them (the reports show both, and the net).
MONEY = ("gmv_cents", "fees_cents", "refunded_cents", "refunded_gmv_cents", "refunded_fees_cents")


def _counters() -> list[Column[Any]]:
    """The columns of a day's counters (each table of them gets its own copies)."""
    return [
        *(Column(name, Integer, nullable=False, default=0) for name in COUNTERS),
        Column("first_bid_seconds", Float, nullable=False, default=0.0),
        *(Column(name, BigInteger, nullable=False, default=0) for name in MONEY),
    ]


daily = Table(
    "analytics_daily",
    TABLES.metadata,
    Column("day", Date, primary_key=True),
    Column("category", String(40), primary_key=True),
    Column("currency", String(3), primary_key=True),
    *_counters(),
)

# The same counters per UTC day, sale format and currency: every fact is counted in
# both tables at once (``rollup_store.bump``), so each adds up to the same totals.
daily_formats = Table(
    "analytics_daily_formats",
    TABLES.metadata,
    Column("day", Date, primary_key=True),
    Column("format", String(24), primary_key=True),
    Column("currency", String(3), primary_key=True),
    *_counters(),
)

bid_minutes = Table(
    "analytics_bid_minutes",
    TABLES.metadata,
    Column("auction_id", String(64), primary_key=True),
    Column("minute", DateTime(timezone=True), primary_key=True),
    Column("bids", Integer, nullable=False),
)

orders = Table(
    "analytics_orders",
    TABLES.metadata,
    Column("order_id", String(64), primary_key=True),
    Column("auction_id", String(64), nullable=False),
    Column("category", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("fees_cents", BigInteger, nullable=False),
    # The lot's format when the order was heard of: its refund nets under the same one.
    Column("format", String(24), nullable=False, server_default="english"),
    Column("created_at", DateTime(timezone=True), nullable=True),
    Column("paid_at", DateTime(timezone=True), nullable=True),
    # The order's hammer (None for orders heard of before 0005), and its refund.
    Column("hammer_cents", BigInteger, nullable=True),
    Column("refunded_at", DateTime(timezone=True), nullable=True),
    Column("refunded_cents", BigInteger, nullable=True),
    Index("ix_analytics_orders_auction", "auction_id"),
)

# The search documents: the source of truth of every search backend. SQLite adds an
# FTS5 index over the folded title and description, PostgreSQL a generated tsvector column
# (both made by migration 0004, outside this metadata); Elasticsearch is fed from
# the rows whose ``version`` is ahead of ``indexed_version``.
search_docs = Table(
    "analytics_search_docs",
    TABLES.metadata,
    # An integer key that never changes: FTS5 indexes rows by it.
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("auction_id", String(64), nullable=False, unique=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    # Title and description folded (lower case, no accents): what every index reads.
    Column("folded_title", Text, nullable=False),
    Column("folded_description", Text, nullable=False),
    Column("category", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    # How the lot is sold, and a Dutch lot's clock ({floor_cents, step_cents,
    # tick_seconds}; None for the other formats), from its listing (migration 0008).
    Column("format", String(24), nullable=False, server_default="english"),
    Column("dutch", JSON, nullable=True),
    Column("price_cents", BigInteger, nullable=False),
    Column("bid_count", Integer, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=True),
    Column("ends_at", DateTime(timezone=True), nullable=True),
    Column("listed_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("indexed_version", Integer, nullable=False),
    Index("ix_analytics_search_docs_filters", "status", "category", "price_cents"),
    Index(
        "ix_analytics_search_docs_unindexed",
        "id",
        postgresql_where=column("version") > column("indexed_version"),
        sqlite_where=column("version") > column("indexed_version"),
    ),
)

# The audit trail: one row per AuditRecorded event, keyed by the event's id (a
# redelivered record is the row already there). Append-only: nothing here updates or
# deletes a row, and triggers made by migration 0006 refuse it on both databases.
audit_log = Table(
    "analytics_audit_log",
    TABLES.metadata,
    Column("event_id", String(64), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_id", String(100), nullable=False),
    Column("action", String(100), nullable=False),
    Column("target", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("details", JSON, nullable=False),
    Column("producer", String(50), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_analytics_audit_log_at", "at", "event_id"),
    Index("ix_analytics_audit_log_actor", "actor_id", "at"),
    Index("ix_analytics_audit_log_target", "target", "at"),
    Index("ix_analytics_audit_log_action", "action", "at"),
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
            "occurred_at": utc(row["occurred_at"]).isoformat(),
            "correlation_id": row["correlation_id"],
            "data": row["data"],
        }
        for row in rows
    ]
