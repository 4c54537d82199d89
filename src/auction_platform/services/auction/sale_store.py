"""The timed sales of the auction service: the sales, their lots in order, and their queries.

``auction_sales`` holds a sale's words and timing; ``auction_sale_lots`` its lots by
number (a lot is in one sale at most: its id is unique there). A lot also names its
sale (``auction_lots.sale_id``), so the lot's own answer shows it without a join.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    delete,
    exists,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.sql import maybe_utc, utc
from auction_platform.services.auction.domain import Lot
from auction_platform.services.auction.sales import RUNNING, Sale, SaleStatus
from auction_platform.services.auction.store import TABLES, lot_from_row, lots

sales = Table(
    "auction_sales",
    TABLES.metadata,
    Column("id", String(32), primary_key=True),
    Column("seller_id", String(64), nullable=False),
    Column("title", String(120), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),
    # Null while a draft starts when it is published.
    Column("starts_at", DateTime(timezone=True), nullable=True),
    Column("first_close_at", DateTime(timezone=True), nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("lot_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
    # Set when a cancellation left none of its lots to close (``sales.cancelled``).
    Column("cancelled_at", DateTime(timezone=True), nullable=True),
    Index("ix_auction_sales_status_first_close", "status", "first_close_at", "id"),
    Index("ix_auction_sales_seller", "seller_id", "created_at", "id"),
)

sale_lots = Table(
    "auction_sale_lots",
    TABLES.metadata,
    Column("sale_id", String(32), ForeignKey("auction_sales.id"), primary_key=True),
    Column("lot_number", Integer, primary_key=True),
    Column("auction_id", String(32), ForeignKey("auction_lots.id"), nullable=False),
    # A lot is in one sale at most: the database settles two sellers' races.
    Index("ux_auction_sale_lots_auction", "auction_id", unique=True),
)


class InvalidCursor(ValueError):
    """The cursor was not made by this list."""


class SaleList(StrEnum):
    """The lists of sales a cursor may belong to."""

    CURRENT = "current"  # published, lots still to close: the first close soonest first
    FINISHED = "finished"  # published, every lot ended: the latest first
    MINE = "mine"  # a seller's own, the newest first


def _columns(sale: Sale) -> dict[str, Any]:
    return {
        "seller_id": sale.seller_id,
        "title": sale.title,
        "description": sale.description,
        "status": sale.status.value,
        "starts_at": sale.starts_at,
        "first_close_at": sale.first_close_at,
        "interval_seconds": sale.interval_seconds,
        "lot_count": len(sale.lot_ids),
        "created_at": sale.created_at,
        "updated_at": sale.updated_at,
        "published_at": sale.published_at,
        "cancelled_at": sale.cancelled_at,
    }


def _sale(row: Any, lot_ids: Sequence[str]) -> Sale:
    return Sale(
        id=row.id,
        seller_id=row.seller_id,
        title=row.title,
        description=row.description,
        first_close_at=utc(row.first_close_at),
        interval_seconds=row.interval_seconds,
        starts_at=maybe_utc(row.starts_at),
        status=SaleStatus(row.status),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        lot_ids=tuple(lot_ids),
        published_at=maybe_utc(row.published_at),
        cancelled_at=maybe_utc(row.cancelled_at),
    )


async def add_sale(conn: AsyncConnection, sale: Sale) -> None:
    """Insert a new sale (and its lots, if it has some)."""
    await conn.execute(sales.insert().values(id=sale.id, **_columns(sale)))
    await _write_lots(conn, sale)


async def save_sale(conn: AsyncConnection, sale: Sale, *, lots_changed: bool = False) -> None:
    """Write a changed sale back; its lots' numbers too when ``lots_changed``."""
    await conn.execute(update(sales).where(sales.c.id == sale.id).values(**_columns(sale)))
    if lots_changed:
        await conn.execute(delete(sale_lots).where(sale_lots.c.sale_id == sale.id))
        await _write_lots(conn, sale)


async def delete_sale(conn: AsyncConnection, sale_id: str) -> None:
    """Forget a sale and its list of lots (the lots themselves stay)."""
    await conn.execute(delete(sale_lots).where(sale_lots.c.sale_id == sale_id))
    await conn.execute(delete(sales).where(sales.c.id == sale_id))


async def _write_lots(conn: AsyncConnection, sale: Sale) -> None:
    if sale.lot_ids:
        rows = [
            {"sale_id": sale.id, "lot_number": number, "auction_id": lot_id}
            for number, lot_id in enumerate(sale.lot_ids, start=1)
        ]
        await conn.execute(sale_lots.insert(), rows)


async def _lot_ids(conn: AsyncConnection, sale_ids: Sequence[str]) -> dict[str, list[str]]:
    query = (
        select(sale_lots.c.sale_id, sale_lots.c.auction_id)
        .where(sale_lots.c.sale_id.in_(list(sale_ids)))
        .order_by(sale_lots.c.sale_id, sale_lots.c.lot_number)
    )
    found: dict[str, list[str]] = {sale_id: [] for sale_id in sale_ids}
    for sale_id, lot_id in await conn.execute(query):
        found[sale_id].append(lot_id)
    return found


async def sale_by_id(
    conn: AsyncConnection, sale_id: str, *, for_update: bool = False
) -> Sale | None:
    """The sale with its lots in order (locked for the transaction when ``for_update``)."""
    query = select(sales).where(sales.c.id == sale_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return _sale(row, (await _lot_ids(conn, [sale_id]))[sale_id])


async def lots_of(conn: AsyncConnection, sale: Sale, *, for_update: bool = False) -> list[Lot]:
    """The sale's lots, in its order (locked when ``for_update``); a missing one is left out."""
    if not sale.lot_ids:
        return []
    query = select(lots).where(lots.c.id.in_(list(sale.lot_ids))).order_by(lots.c.id)
    if for_update:
        query = query.with_for_update()
    found = {row.id: lot_from_row(row) for row in await conn.execute(query)}
    return [found[lot_id] for lot_id in sale.lot_ids if lot_id in found]


def _still_running() -> Any:
    """Whether a sale has a lot still to close (scheduled or open)."""
    return exists(
        select(sale_lots.c.auction_id)
        .join(lots, lots.c.id == sale_lots.c.auction_id)
        .where(
            sale_lots.c.sale_id == sales.c.id,
            lots.c.status.in_([status.value for status in RUNNING]),
        )
    )


async def published_page(
    conn: AsyncConnection,
    *,
    finished: bool,
    after: Sequence[Any] | None,
    limit: int,
) -> list[Sale]:
    """Published sales: those with lots still to close, the first close soonest first; or
    (``finished``) those whose every lot has ended, the latest first. Keyset-paged."""
    key = [sales.c.first_close_at, sales.c.id]
    query = select(sales).where(sales.c.status == SaleStatus.PUBLISHED.value)
    query = query.where(~_still_running() if finished else _still_running())
    if after is not None:
        query = query.where(_after(key, after, descending=finished))
    order = [c.desc() for c in key] if finished else key
    return await _sales(conn, query.order_by(*order).limit(limit))


async def seller_page(
    conn: AsyncConnection, seller_id: str, *, after: Sequence[Any] | None, limit: int
) -> list[Sale]:
    """A seller's sales in every status, the newest first. Keyset-paged."""
    key = [sales.c.created_at, sales.c.id]
    query = select(sales).where(sales.c.seller_id == seller_id)
    if after is not None:
        query = query.where(_after(key, after, descending=True))
    return await _sales(conn, query.order_by(*(c.desc() for c in key)).limit(limit))


async def _sales(conn: AsyncConnection, query: Any) -> list[Sale]:
    rows = (await conn.execute(query)).all()
    ids = await _lot_ids(conn, [row.id for row in rows])
    return [_sale(row, ids[row.id]) for row in rows]


async def running_counts(conn: AsyncConnection, sale_ids: Sequence[str]) -> dict[str, int]:
    """For each sale, how many of its lots are still to close (scheduled or open)."""
    if not sale_ids:
        return {}
    query = (
        select(sale_lots.c.sale_id, func.count())
        .join(lots, lots.c.id == sale_lots.c.auction_id)
        .where(
            sale_lots.c.sale_id.in_(list(sale_ids)),
            lots.c.status.in_([status.value for status in RUNNING]),
        )
        .group_by(sale_lots.c.sale_id)
    )
    return {sale_id: int(count) for sale_id, count in await conn.execute(query)}


async def cover_images(conn: AsyncConnection, sale_ids: Sequence[str]) -> dict[str, str]:
    """For each sale, the first picture of its lowest-numbered lot that has one."""
    if not sale_ids:
        return {}
    query = (
        select(sale_lots.c.sale_id, lots.c.images)
        .join(lots, lots.c.id == sale_lots.c.auction_id)
        .where(sale_lots.c.sale_id.in_(list(sale_ids)))
        .order_by(sale_lots.c.sale_id, sale_lots.c.lot_number)
    )
    found: dict[str, str] = {}
    for sale_id, images in await conn.execute(query):
        if sale_id not in found and images:
            found[sale_id] = str(images[0])
    return found


def _after(columns: Sequence[Any], key: Sequence[Any], *, descending: bool) -> Any:
    # Typed binds, so SQLite compares datetimes in its stored text form.
    values = tuple_(*(bindparam(None, v, type_=c.type) for c, v in zip(columns, key, strict=True)))
    row = tuple_(*columns)
    return row < values if descending else row > values


def encode_cursor(kind: SaleList, sale: Sale) -> str:
    """An opaque cursor after ``sale`` in the list ``kind``."""
    moment = sale.created_at if kind is SaleList.MINE else sale.first_close_at
    raw = json.dumps({"s": kind.value, "k": [moment.isoformat(), sale.id]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str, kind: SaleList) -> list[Any]:
    """The key in a cursor of the list ``kind``; ``InvalidCursor`` for any other."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw)
        if not isinstance(document, dict) or document.get("s") != kind.value:
            raise InvalidCursor("the cursor belongs to another list")
        moment, sale_id = document["k"]
        if not isinstance(moment, str) or not isinstance(sale_id, str) or len(sale_id) > 64:
            raise InvalidCursor("the cursor is not valid")
        return [utc(datetime.fromisoformat(moment)), sale_id]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        if isinstance(error, InvalidCursor):
            raise
        raise InvalidCursor("the cursor is not valid") from error
