"""Tables and queries of the shill-bidding signals (on the analytics service's metadata).

The facts are read from what analytics has already: the bid events in the event
store, each lot's seller in ``analytics_auctions``, and the signup fingerprints
identity announces with ``UserRegistered``.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Index,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.contracts.auctions import BID_PLACED, BID_RETRACTED
from auction_platform.core.sql import insert_ignoring_duplicates, maybe_utc, utc
from auction_platform.services.analytics.shill import BidFact, Fingerprints, Flag, FlagStatus
from auction_platform.services.analytics.store import TABLES, auctions, events

# Each account's signup fingerprints (keyed hashes, never the address itself).
signup_signals = Table(
    "analytics_signup_signals",
    TABLES.metadata,
    Column("user_id", String(64), primary_key=True),
    Column("address", String(64), nullable=True),
    Column("device", String(64), nullable=True),
)

# The flags for review. The id is derived from (kind, bidder, seller, day): a second
# run of the same day adds nothing.
shill_flags = Table(
    "analytics_shill_flags",
    TABLES.metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("bidder_id", String(64), nullable=False),
    Column("seller_id", String(64), nullable=True),
    Column("day", Date, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("status", String(12), nullable=False),
    Column("note", Text, nullable=True),
    Column("reviewed_by", String(64), nullable=True),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_analytics_shill_flags_status", "status", "day"),
    Index("ix_analytics_shill_flags_subject", "kind", "bidder_id", "day"),
)

# One row per day the job ran: the replica that inserts it runs the day's job.
shill_runs = Table(
    "analytics_shill_runs",
    TABLES.metadata,
    Column("day", Date, primary_key=True),
    Column("ran_at", DateTime(timezone=True), nullable=False),
)


async def keep_fingerprints(conn: AsyncConnection, user_id: str, kept: Fingerprints) -> None:
    """Keep an account's signup fingerprints (once: a redelivery changes nothing)."""
    if kept.address is None and kept.device is None:
        return
    values = {"user_id": user_id, "address": kept.address, "device": kept.device}
    await insert_ignoring_duplicates(conn, signup_signals, values)


async def fingerprints(conn: AsyncConnection, user_ids: set[str]) -> dict[str, Fingerprints]:
    """The signup fingerprints of these accounts (those that have any)."""
    if not user_ids:
        return {}
    query = select(signup_signals).where(signup_signals.c.user_id.in_(sorted(user_ids)))
    rows = (await conn.execute(query)).all()
    return {row.user_id: Fingerprints(row.address, row.device) for row in rows}


async def bid_facts(
    conn: AsyncConnection, *, since: datetime, until: datetime
) -> tuple[list[BidFact], list[BidFact]]:
    """The bids and retractions from ``since`` to ``until``, each with its lot's seller."""
    query = (
        select(events.c.event_type, events.c.occurred_at, events.c.data)
        .where(events.c.event_type.in_((BID_PLACED, BID_RETRACTED)))
        .where(events.c.occurred_at >= since, events.c.occurred_at < until)
        .order_by(events.c.occurred_at)
    )
    rows = (await conn.execute(query)).all()
    auction_ids = {str(row.data.get("auction_id")) for row in rows}
    sellers = await _sellers(conn, auction_ids)
    placed: list[BidFact] = []
    retracted: list[BidFact] = []
    for row in rows:
        auction_id, bidder_id = str(row.data.get("auction_id")), row.data.get("bidder_id")
        seller_id = sellers.get(auction_id)
        if seller_id is None or not bidder_id:
            continue  # a lot analytics never saw listed: no seller to weigh
        fact = BidFact(str(bidder_id), seller_id, auction_id, utc(row.occurred_at))
        (placed if row.event_type == BID_PLACED else retracted).append(fact)
    return placed, retracted


async def _sellers(conn: AsyncConnection, auction_ids: set[str]) -> dict[str, str]:
    if not auction_ids:
        return {}
    query = select(auctions.c.auction_id, auctions.c.seller_id).where(
        auctions.c.auction_id.in_(sorted(auction_ids)), auctions.c.seller_id.is_not(None)
    )
    return {row.auction_id: row.seller_id for row in (await conn.execute(query)).all()}


def flag_id(flag: Flag, day: date) -> str:
    """The id of a flag of one day (the same flag found twice that day has one id)."""
    key = f"{flag.kind}|{flag.bidder_id}|{flag.seller_id or ''}|{day.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


async def recently_flagged(conn: AsyncConnection, *, since: date) -> set[tuple[str, str, str]]:
    """(kind, bidder, seller) of every flag raised from ``since`` on, whatever its review."""
    query = select(shill_flags.c.kind, shill_flags.c.bidder_id, shill_flags.c.seller_id).where(
        shill_flags.c.day >= since
    )
    return {(r.kind, r.bidder_id, r.seller_id or "") for r in (await conn.execute(query)).all()}


async def add_flag(conn: AsyncConnection, flag: Flag, *, day: date, at: datetime) -> bool:
    """Record a flag for review; False when this day's run recorded it already."""
    values = {
        "id": flag_id(flag, day),
        "kind": flag.kind.value,
        "bidder_id": flag.bidder_id,
        "seller_id": flag.seller_id,
        "day": day,
        "evidence": flag.evidence,
        "status": FlagStatus.OPEN.value,
        "created_at": at,
    }
    return await insert_ignoring_duplicates(conn, shill_flags, values)


async def claim_day(conn: AsyncConnection, day: date, *, at: datetime) -> bool:
    """Mark the day's job as run; False when a replica (or an earlier pass) ran it."""
    return await insert_ignoring_duplicates(conn, shill_runs, {"day": day, "ran_at": at})


async def has_run(conn: AsyncConnection, day: date) -> bool:
    """True when the day's job ran already."""
    found = await conn.execute(select(shill_runs.c.day).where(shill_runs.c.day == day))
    return found.first() is not None


def _flag(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "bidder_id": row.bidder_id,
        "seller_id": row.seller_id,
        "day": row.day.isoformat(),
        "evidence": row.evidence,
        "status": row.status,
        "note": row.note,
        "reviewed_by": row.reviewed_by,
        "reviewed_at": (reviewed.isoformat() if (reviewed := maybe_utc(row.reviewed_at)) else None),
        "created_at": utc(row.created_at).isoformat(),
    }


async def list_flags(
    conn: AsyncConnection, *, status: str | None, kind: str | None, limit: int
) -> list[dict[str, Any]]:
    """Flags newest first, of one status or kind when given."""
    query = select(shill_flags).order_by(
        shill_flags.c.day.desc(), shill_flags.c.created_at.desc(), shill_flags.c.id
    )
    if status is not None:
        query = query.where(shill_flags.c.status == status)
    if kind is not None:
        query = query.where(shill_flags.c.kind == kind)
    return [_flag(row) for row in (await conn.execute(query.limit(limit))).all()]


async def get_flag(conn: AsyncConnection, flag_id: str) -> dict[str, Any] | None:
    """One flag, or None."""
    row = (await conn.execute(select(shill_flags).where(shill_flags.c.id == flag_id))).first()
    return _flag(row) if row is not None else None


async def review_flag(
    conn: AsyncConnection, flag_id: str, *, status: str, note: str | None, by: str, at: datetime
) -> bool:
    """Record an admin's review of a flag; False when there is no such flag."""
    result = await conn.execute(
        update(shill_flags)
        .where(shill_flags.c.id == flag_id)
        .values(status=status, note=note, reviewed_by=by, reviewed_at=at)
    )
    return bool(result.rowcount == 1)
