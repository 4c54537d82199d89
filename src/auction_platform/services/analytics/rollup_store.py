"""Queries of the rollups: per-auction facts, daily counters, bid minutes and orders."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.sql import add_to_row, insert_ignoring_duplicates
from auction_platform.services.analytics.domain import UNKNOWN_CATEGORY, UNKNOWN_CURRENCY, utc
from auction_platform.services.analytics.store import (
    COUNTERS,
    MONEY,
    auctions,
    bid_minutes,
    daily,
    daily_formats,
    orders,
)

_MONEY_AND_TIME = ("first_bid_seconds", *MONEY)
# A counter row as it starts (``add_to_row`` copies it, never changes it).
_ZEROS: dict[str, Any] = {name: 0 for name in (*COUNTERS, *_MONEY_AND_TIME)}
_TIMES = (
    "listed_at",
    "opened_at",
    "first_bid_at",
    "closed_at",
    "cancelled_at",
    "updated_at",
    "created_at",
    "paid_at",
    "refunded_at",
)


async def _row_for_update(
    conn: AsyncConnection, table: Table, key: dict[str, Any], stub: dict[str, Any]
) -> dict[str, Any]:
    """The row with ``key``, made from ``stub`` when missing, locked until commit."""
    await insert_ignoring_duplicates(conn, table, {**key, **stub})
    query = select(table).with_for_update()
    for name, value in key.items():
        query = query.where(table.c[name] == value)
    row = dict((await conn.execute(query)).mappings().one())
    for name in _TIMES:
        if row.get(name) is not None:
            row[name] = utc(row[name])
    return row


async def auction_for_update(
    conn: AsyncConnection, auction_id: str, *, currency: str | None, fmt: str, now: datetime
) -> dict[str, Any]:
    """An auction's facts, locked; an auction first heard of now starts uncategorised."""
    stub = {
        "category": UNKNOWN_CATEGORY,
        "currency": currency or UNKNOWN_CURRENCY,
        "format": fmt,
        "bid_count": 0,
        "updated_at": now,
    }
    return await _row_for_update(conn, auctions, {"auction_id": auction_id}, stub)


async def update_auction(conn: AsyncConnection, auction_id: str, **values: Any) -> None:
    """Change an auction's facts."""
    await conn.execute(update(auctions).where(auctions.c.auction_id == auction_id).values(**values))


async def bump(
    conn: AsyncConnection, day: date, category: str, currency: str, fmt: str, **deltas: float
) -> None:
    """Add ``deltas`` to a day's counters by category and currency, and by format and currency."""
    await _add(conn, daily, {"day": day, "category": category, "currency": currency}, deltas)
    await _add(conn, daily_formats, {"day": day, "format": fmt, "currency": currency}, deltas)


async def _add(
    conn: AsyncConnection, table: Table, key: dict[str, Any], deltas: dict[str, float]
) -> None:
    await add_to_row(conn, table, key, deltas, start=_ZEROS)


async def count_bid_minute(conn: AsyncConnection, auction_id: str, minute: datetime) -> None:
    """One more bid in an auction's minute."""
    key = {"auction_id": auction_id, "minute": minute}
    await add_to_row(conn, bid_minutes, key, {"bids": 1}, start={"bids": 0})


async def order_for_update(
    conn: AsyncConnection, order_id: str, *, stub: dict[str, Any]
) -> dict[str, Any]:
    """An order's facts, locked, made from ``stub`` when first heard of."""
    return await _row_for_update(conn, orders, {"order_id": order_id}, stub)


async def update_order(conn: AsyncConnection, order_id: str, **values: Any) -> None:
    """Change an order's facts."""
    await conn.execute(update(orders).where(orders.c.order_id == order_id).values(**values))


# --- reads ---------------------------------------------------------------------


async def daily_rows(
    conn: AsyncConnection, *, start: date, end: date, category: str | None = None
) -> list[dict[str, Any]]:
    """The daily rollup rows from ``start`` to ``end`` inclusive, oldest first."""
    query = (
        select(daily)
        .where(daily.c.day >= start, daily.c.day <= end)
        .order_by(daily.c.day, daily.c.category, daily.c.currency)
    )
    if category is not None:
        query = query.where(daily.c.category == category)
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def daily_format_rows(
    conn: AsyncConnection, *, start: date, end: date
) -> list[dict[str, Any]]:
    """The per-format daily rows from ``start`` to ``end`` inclusive, oldest first."""
    query = (
        select(daily_formats)
        .where(daily_formats.c.day >= start, daily_formats.c.day <= end)
        .order_by(daily_formats.c.day, daily_formats.c.format, daily_formats.c.currency)
    )
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def auction_facts(conn: AsyncConnection, auction_id: str) -> dict[str, Any] | None:
    """One auction's facts, or None."""
    row = (
        (await conn.execute(select(auctions).where(auctions.c.auction_id == auction_id)))
        .mappings()
        .one_or_none()
    )
    if row is None:
        return None
    facts = dict(row)
    for name in _TIMES:
        if facts.get(name) is not None:
            facts[name] = utc(facts[name])
    return facts


async def refunds_of(conn: AsyncConnection, auction_id: str) -> dict[str, Any]:
    """An auction's refunded orders: how many, the money given back, their hammer, the last."""
    refunded = orders.c.refunded_at.is_not(None)
    query = select(
        func.count(orders.c.refunded_at),
        func.coalesce(func.sum(orders.c.refunded_cents), 0),
        func.coalesce(func.sum(case((refunded, orders.c.hammer_cents), else_=0)), 0),
        func.max(orders.c.refunded_at),
    ).where(orders.c.auction_id == auction_id)
    count, cents, hammer, last = (await conn.execute(query)).one()
    return {
        "refunds": int(count),
        "refunded_cents": int(cents),
        "refunded_gmv_cents": int(hammer),
        "refunded_at": utc(last) if last is not None else None,
    }


async def minutes_of(conn: AsyncConnection, auction_id: str) -> list[tuple[datetime, int]]:
    """An auction's bids per minute, oldest minute first."""
    query = (
        select(bid_minutes.c.minute, bid_minutes.c.bids)
        .where(bid_minutes.c.auction_id == auction_id)
        .order_by(bid_minutes.c.minute)
    )
    return [(utc(minute), int(bids)) for minute, bids in (await conn.execute(query)).all()]


async def bids_by_minute(
    conn: AsyncConnection, *, start: datetime, end: datetime
) -> list[tuple[datetime, int]]:
    """Bids per minute over every auction, from ``start`` to ``end`` inclusive (busy minutes)."""
    total = func.sum(bid_minutes.c.bids)
    query = (
        select(bid_minutes.c.minute, total)
        .where(bid_minutes.c.minute >= start, bid_minutes.c.minute <= end)
        .group_by(bid_minutes.c.minute)
        .order_by(bid_minutes.c.minute)
    )
    return [(utc(minute), int(bids)) for minute, bids in (await conn.execute(query)).all()]
