"""Tables and queries of the auction service: lots, watchlist, bidders and reminders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    false,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.service import service_tables
from auction_platform.core.sql import insert_ignoring_duplicates, maybe_utc, utc
from auction_platform.services.auction import delivery
from auction_platform.services.auction.domain import Actor, Lot, Outcome, Status
from auction_platform.services.auction.listing import DutchClock, Format, SoftClose, Terms

TABLES = service_tables("auction")

lots = Table(
    "auction_lots",
    TABLES.metadata,
    Column("id", String(32), primary_key=True),
    Column("seller_id", String(64), nullable=False),
    Column("title", String(120), nullable=False),
    Column("description", Text, nullable=False),
    Column("category", String(40), nullable=False),
    Column("images", JSON, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("start_cents", BigInteger, nullable=False),
    Column("reserve_cents", BigInteger, nullable=True),
    Column("buy_now_cents", BigInteger, nullable=True),
    Column("increments", JSON, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("scheduled_ends_at", DateTime(timezone=True), nullable=False),
    Column("soft_window_seconds", Integer, nullable=True),
    Column("soft_extend_seconds", Integer, nullable=True),
    Column("soft_max_extensions", Integer, nullable=True),
    Column("status", String(16), nullable=False),
    Column("outcome", String(16), nullable=True),
    Column("winner_id", String(64), nullable=True),
    Column("final_price_cents", BigInteger, nullable=True),
    Column("current_price_cents", BigInteger, nullable=False),
    Column("bid_count", Integer, nullable=False),
    Column("leader_id", String(64), nullable=True),
    Column("last_bid_seq", BigInteger, nullable=False),
    Column("extensions", Integer, nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("cancelled_by", String(16), nullable=True),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("opened_at", DateTime(timezone=True), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # "Start now": a draft that starts when published, and the length it then runs.
    Column("starts_when_published", Boolean, nullable=False, server_default=false()),
    Column("duration_seconds", Integer, nullable=True),
    Column("relisted_from", String(32), nullable=True),
    Column("relisted_as", String(32), nullable=True),
    # How the lot reaches its buyer: ``DeliveryData`` as JSON text.
    Column("delivery", Text, nullable=False, server_default=delivery.DEFAULT_JSON),
    # How the lot is sold (``listing.Format``), and a Dutch lot's clock (``DutchClockData``).
    Column("format", String(24), nullable=False, server_default=Format.ENGLISH.value),
    Column("dutch", JSON, nullable=True),
    # The timed sale the lot is sold in (``sale_store``: its number there).
    Column("sale_id", String(32), nullable=True),
    Index("ix_auction_lots_status_ends", "status", "ends_at", "id"),
    Index("ix_auction_lots_status_price", "status", "current_price_cents", "id"),
    Index("ix_auction_lots_status_created", "status", "created_at", "id"),
    Index("ix_auction_lots_category", "category", "status", "ends_at"),
    Index("ix_auction_lots_seller", "seller_id", "created_at", "id"),
    Index(
        "ix_auction_lots_due",
        "starts_at",
        postgresql_where=text("status = 'scheduled'"),
        sqlite_where=text("status = 'scheduled'"),
    ),
)

watchlist = Table(
    "auction_watchlist",
    TABLES.metadata,
    Column("user_id", String(64), primary_key=True),
    Column("auction_id", String(32), ForeignKey("auction_lots.id"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_auction_watchlist_auction", "auction_id"),
    Index("ix_auction_watchlist_user_created", "user_id", "created_at", "auction_id"),
)

# Everyone who bid on a lot; watchers come from the watchlist.
participants = Table(
    "auction_participants",
    TABLES.metadata,
    Column("auction_id", String(32), ForeignKey("auction_lots.id"), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("joined_at", DateTime(timezone=True), nullable=False),
)

reminders = Table(
    "auction_reminders",
    TABLES.metadata,
    Column("auction_id", String(32), ForeignKey("auction_lots.id"), primary_key=True),
    Column("minutes_left", Integer, primary_key=True),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Index(
        "ix_auction_reminders_due",
        "due_at",
        postgresql_where=text("sent_at IS NULL"),
        sqlite_where=text("sent_at IS NULL"),
    ),
)


def _columns(lot: Lot) -> dict[str, Any]:
    terms, soft = lot.terms, lot.terms.soft_close
    return {
        "seller_id": lot.seller_id,
        "title": terms.title,
        "description": terms.description,
        "category": terms.category,
        "images": list(terms.images),
        "currency": terms.currency,
        "start_cents": terms.start_cents,
        "reserve_cents": terms.reserve_cents,
        "buy_now_cents": terms.buy_now_cents,
        "increments": [list(row) for row in terms.increments],
        "starts_at": terms.starts_at,
        "scheduled_ends_at": terms.ends_at,
        "soft_window_seconds": soft.window_seconds if soft else None,
        "soft_extend_seconds": soft.extend_seconds if soft else None,
        "soft_max_extensions": soft.max_extensions if soft else None,
        "status": lot.status.value,
        "outcome": lot.outcome.value if lot.outcome else None,
        "winner_id": lot.winner_id,
        "final_price_cents": lot.final_price_cents,
        "current_price_cents": lot.current_price_cents,
        "bid_count": lot.bid_count,
        "leader_id": lot.leader_id,
        "last_bid_seq": lot.last_bid_seq,
        "extensions": lot.extensions,
        "ends_at": lot.ends_at,
        "cancelled_by": lot.cancelled_by.value if lot.cancelled_by else None,
        "published_at": lot.published_at,
        "opened_at": lot.opened_at,
        "closed_at": lot.closed_at,
        "created_at": lot.created_at,
        "updated_at": lot.updated_at,
        "starts_when_published": terms.starts_when_published,
        "duration_seconds": int(terms.duration.total_seconds()) if terms.duration else None,
        "relisted_from": lot.relisted_from,
        "relisted_as": lot.relisted_as,
        "delivery": delivery.dumps(terms.delivery),
        "format": terms.format.value,
        "dutch": _dutch_data(terms.dutch),
        "sale_id": lot.sale_id,
    }


def _dutch_data(clock: DutchClock | None) -> dict[str, int] | None:
    if clock is None:
        return None
    return {
        "floor_cents": clock.floor_cents,
        "step_cents": clock.step_cents,
        "tick_seconds": clock.tick_seconds,
    }


def _dutch_clock(data: Any) -> DutchClock | None:
    if not data:
        return None
    return DutchClock(
        floor_cents=int(data["floor_cents"]),
        step_cents=int(data["step_cents"]),
        tick_seconds=int(data["tick_seconds"]),
    )


def lot_from_row(row: Any) -> Lot:
    """Rebuild a lot from its row."""
    soft = (
        SoftClose(row.soft_window_seconds, row.soft_extend_seconds, row.soft_max_extensions)
        if row.soft_window_seconds is not None
        else None
    )
    terms = Terms(
        title=row.title,
        description=row.description,
        category=row.category,
        images=tuple(row.images),
        currency=row.currency,
        start_cents=row.start_cents,
        reserve_cents=row.reserve_cents,
        buy_now_cents=row.buy_now_cents,
        increments=tuple((int(a), int(b)) for a, b in row.increments),
        starts_at=utc(row.starts_at),
        ends_at=utc(row.scheduled_ends_at),
        soft_close=soft,
        starts_when_published=bool(row.starts_when_published),
        duration=timedelta(seconds=row.duration_seconds)
        if row.duration_seconds is not None
        else None,
        delivery=delivery.loads(row.delivery),
        format=Format(row.format),
        dutch=_dutch_clock(row.dutch),
    )
    return Lot(
        id=row.id,
        seller_id=row.seller_id,
        terms=terms,
        status=Status(row.status),
        current_price_cents=row.current_price_cents,
        ends_at=utc(row.ends_at),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        bid_count=row.bid_count,
        leader_id=row.leader_id,
        last_bid_seq=row.last_bid_seq,
        extensions=row.extensions,
        outcome=Outcome(row.outcome) if row.outcome else None,
        winner_id=row.winner_id,
        final_price_cents=row.final_price_cents,
        cancelled_by=Actor(row.cancelled_by) if row.cancelled_by else None,
        published_at=maybe_utc(row.published_at),
        opened_at=maybe_utc(row.opened_at),
        closed_at=maybe_utc(row.closed_at),
        relisted_from=row.relisted_from,
        relisted_as=row.relisted_as,
        sale_id=row.sale_id,
    )


async def add_lot(conn: AsyncConnection, lot: Lot) -> None:
    """Insert a new lot."""
    await conn.execute(lots.insert().values(id=lot.id, **_columns(lot)))


async def save_lot(conn: AsyncConnection, lot: Lot) -> None:
    """Write a changed lot back."""
    await conn.execute(update(lots).where(lots.c.id == lot.id).values(**_columns(lot)))


async def lot_by_id(conn: AsyncConnection, lot_id: str, *, for_update: bool = False) -> Lot | None:
    """The lot with this id (locked for the transaction when ``for_update``)."""
    query = select(lots).where(lots.c.id == lot_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return lot_from_row(row) if row else None


async def claim_due_lots(conn: AsyncConnection, *, now: datetime, limit: int) -> list[Lot]:
    """Scheduled lots whose start has come, locked; rows another replica holds are skipped."""
    query = (
        select(lots)
        .where(lots.c.status == Status.SCHEDULED.value, lots.c.starts_at <= now)
        .order_by(lots.c.starts_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [lot_from_row(row) for row in (await conn.execute(query)).all()]


async def due_work(conn: AsyncConnection, *, now: datetime) -> tuple[bool, bool]:
    """Whether some lot is due to open, and whether some notice is due (a cheap read)."""
    opening = select(lots.c.id).where(
        lots.c.status == Status.SCHEDULED.value, lots.c.starts_at <= now
    )
    noticing = (
        select(reminders.c.auction_id)
        .join(lots, lots.c.id == reminders.c.auction_id)
        .where(
            reminders.c.sent_at.is_(None),
            reminders.c.due_at <= now,
            lots.c.status == Status.OPEN.value,
        )
    )
    return (
        await conn.scalar(opening.limit(1)) is not None,
        await conn.scalar(noticing.limit(1)) is not None,
    )


async def mark_opened(conn: AsyncConnection, lot_ids: Sequence[str], *, now: datetime) -> None:
    """Write the lots the scheduler opened together, in one statement."""
    if lot_ids:
        await conn.execute(
            update(lots)
            .where(lots.c.id.in_(lot_ids))
            .values(status=Status.OPEN.value, opened_at=now, updated_at=now)
        )


async def add_reminders(conn: AsyncConnection, due: Sequence[tuple[str, int, datetime]]) -> None:
    """Plan ending-soon notices: ``(auction_id, minutes_left, due_at)`` rows."""
    if due:
        await conn.execute(
            reminders.insert(),
            [{"auction_id": a, "minutes_left": m, "due_at": at} for a, m, at in due],
        )


async def unsent_reminders(conn: AsyncConnection, auction_id: str) -> list[int]:
    """The lead times (minutes) of a lot's notices not sent yet."""
    query = select(reminders.c.minutes_left).where(
        reminders.c.auction_id == auction_id, reminders.c.sent_at.is_(None)
    )
    return list((await conn.execute(query)).scalars())


async def move_reminder(
    conn: AsyncConnection, auction_id: str, minutes_left: int, due_at: datetime
) -> None:
    """Move an unsent notice (the end moved)."""
    await conn.execute(
        update(reminders)
        .where(
            reminders.c.auction_id == auction_id,
            reminders.c.minutes_left == minutes_left,
            reminders.c.sent_at.is_(None),
        )
        .values(due_at=due_at)
    )


async def claim_due_reminders(
    conn: AsyncConnection, *, now: datetime, limit: int
) -> list[tuple[Lot, int]]:
    """Unsent notices of open lots that are due, locked (skipping other replicas' claims)."""
    query = (
        select(lots, reminders.c.minutes_left)
        .join(reminders, reminders.c.auction_id == lots.c.id)
        .where(
            reminders.c.sent_at.is_(None),
            reminders.c.due_at <= now,
            lots.c.status == Status.OPEN.value,
        )
        .order_by(reminders.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=reminders)
    )
    return [(lot_from_row(row), row.minutes_left) for row in (await conn.execute(query)).all()]


async def mark_reminders_sent(
    conn: AsyncConnection, sent: Sequence[tuple[str, int]], *, now: datetime
) -> None:
    """Record that notices went out (or were dropped as stale): ``(auction_id, minutes)``."""
    if sent:
        key = tuple_(reminders.c.auction_id, reminders.c.minutes_left)
        await conn.execute(update(reminders).where(key.in_(list(sent))).values(sent_at=now))


async def sent_reminders(conn: AsyncConnection, auction_id: str) -> set[int]:
    """The lead times (minutes) of a lot's notices already sent."""
    query = select(reminders.c.minutes_left).where(
        reminders.c.auction_id == auction_id, reminders.c.sent_at.is_not(None)
    )
    return set((await conn.execute(query)).scalars())


async def drop_unsent_reminders(conn: AsyncConnection, auction_id: str) -> None:
    """Forget the notices of a lot that ended or was cancelled before they were due."""
    await conn.execute(
        delete(reminders).where(reminders.c.auction_id == auction_id, reminders.c.sent_at.is_(None))
    )


async def add_participant(
    conn: AsyncConnection, auction_id: str, user_id: str, *, now: datetime
) -> None:
    """Remember a bidder of a lot (once)."""
    await insert_ignoring_duplicates(
        conn, participants, {"auction_id": auction_id, "user_id": user_id, "joined_at": now}
    )


async def recipients(conn: AsyncConnection, auction_ids: Sequence[str]) -> dict[str, list[str]]:
    """Watchers and bidders of each lot, each once, sorted."""
    watchers = select(watchlist.c.auction_id, watchlist.c.user_id).where(
        watchlist.c.auction_id.in_(auction_ids)
    )
    bidders = select(participants.c.auction_id, participants.c.user_id).where(
        participants.c.auction_id.in_(auction_ids)
    )
    found: dict[str, set[str]] = {auction_id: set() for auction_id in auction_ids}
    for auction_id, user_id in await conn.execute(watchers.union(bidders)):
        found[auction_id].add(user_id)
    return {auction_id: sorted(users) for auction_id, users in found.items()}


async def watch(conn: AsyncConnection, user_id: str, auction_id: str, *, now: datetime) -> bool:
    """Put a lot on a watchlist; False when it was there already."""
    return await insert_ignoring_duplicates(
        conn, watchlist, {"user_id": user_id, "auction_id": auction_id, "created_at": now}
    )


async def unwatch(conn: AsyncConnection, user_id: str, auction_id: str) -> None:
    """Take a lot off a watchlist."""
    await conn.execute(
        delete(watchlist).where(
            watchlist.c.user_id == user_id, watchlist.c.auction_id == auction_id
        )
    )


async def listed_lot_ids_of(conn: AsyncConnection, seller_id: str) -> list[str]:
    """The ids of a seller's lots that are scheduled or open, oldest first."""
    query = (
        select(lots.c.id)
        .where(
            lots.c.seller_id == seller_id,
            lots.c.status.in_((Status.SCHEDULED.value, Status.OPEN.value)),
        )
        .order_by(lots.c.id)
    )
    return [row.id for row in await conn.execute(query)]
