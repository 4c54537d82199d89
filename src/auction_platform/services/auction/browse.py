"""Browsing the catalogue: filtered, sorted lists of lots, one keyset page at a time.

A page ends with the sort key of its last lot; the next page starts after that
key (``WHERE (k1, k2, id) > (...)``), so lots that change or arrive between two
requests never make a page repeat or skip one that kept its place. The key
travels to the client as an opaque base64 cursor naming the sort it belongs to.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, bindparam, case, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.sql import utc
from auction_platform.services.auction.domain import Lot, Sort, Status
from auction_platform.services.auction.store import lot_from_row, lots, watchlist

CursorKind = Literal["ending_soonest", "newest", "price_low", "price_high", "watchlist"]

# "Ending soonest" lists open lots first, then those still to open, then the ended.
_RANKS = {
    Status.OPEN: 0,
    Status.SCHEDULED: 1,
    Status.CLOSED: 2,
    Status.CANCELLED: 3,
    Status.DRAFT: 4,
}
_RANK = case({status.value: rank for status, rank in _RANKS.items()}, value=lots.c.status)
_KEY_TYPES: dict[str, tuple[type, ...]] = {
    "ending_soonest": (int, datetime, str),
    "newest": (datetime, str),
    "price_low": (int, str),
    "price_high": (int, str),
    "watchlist": (datetime, str),
}


class InvalidCursor(ValueError):
    """The cursor was not made by this service for this sort."""


@dataclass(frozen=True, slots=True)
class LotFilter:
    """Which lots a list shows."""

    statuses: tuple[Status, ...]
    categories: frozenset[str] | None = None  # a category and its descendants
    seller_id: str | None = None
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    ends_after: datetime | None = None
    ends_before: datetime | None = None


def _key_columns(sort: Sort) -> tuple[list[ColumnElement[Any]], bool]:
    """The columns a sort orders by (all in one direction), and whether descending."""
    if sort == "ending_soonest":
        return [_RANK, lots.c.ends_at, lots.c.id], False
    if sort == "newest":
        return [lots.c.created_at, lots.c.id], True
    return [lots.c.current_price_cents, lots.c.id], sort == "price_high"


def sort_key(lot: Lot, sort: Sort) -> list[Any]:
    """The key of ``lot`` in ``sort``: what a cursor after it holds."""
    if sort == "ending_soonest":
        return [_RANKS[lot.status], lot.ends_at, lot.id]
    if sort == "newest":
        return [lot.created_at, lot.id]
    return [lot.current_price_cents, lot.id]


def _after(
    columns: Sequence[ColumnElement[Any]], key: Sequence[Any], *, descending: bool
) -> ColumnElement[bool]:
    # Typed binds, so SQLite compares datetimes in its stored text form.
    values = tuple_(*(bindparam(None, v, type_=c.type) for c, v in zip(columns, key, strict=True)))
    row = tuple_(*columns)
    return row < values if descending else row > values


async def lots_page(
    conn: AsyncConnection,
    where: LotFilter,
    *,
    sort: Sort,
    after: Sequence[Any] | None,
    limit: int,
) -> list[Lot]:
    """Up to ``limit`` lots matching ``where``, in ``sort`` order, after the key ``after``."""
    columns, descending = _key_columns(sort)
    query = select(lots).where(lots.c.status.in_([s.value for s in where.statuses]))
    if where.categories is not None:
        query = query.where(lots.c.category.in_(sorted(where.categories)))
    if where.seller_id is not None:
        query = query.where(lots.c.seller_id == where.seller_id)
    if where.min_price_cents is not None:
        query = query.where(lots.c.current_price_cents >= where.min_price_cents)
    if where.max_price_cents is not None:
        query = query.where(lots.c.current_price_cents <= where.max_price_cents)
    if where.ends_after is not None:
        query = query.where(lots.c.ends_at > where.ends_after)
    if where.ends_before is not None:
        query = query.where(lots.c.ends_at <= where.ends_before)
    if after is not None:
        query = query.where(_after(columns, after, descending=descending))
    order = [c.desc() for c in columns] if descending else columns
    rows = (await conn.execute(query.order_by(*order).limit(limit))).all()
    return [lot_from_row(row) for row in rows]


@dataclass(frozen=True, slots=True)
class Watched:
    """A lot on someone's watchlist, and since when."""

    lot: Lot
    since: datetime


async def watched_page(
    conn: AsyncConnection, user_id: str, *, after: Sequence[Any] | None, limit: int
) -> list[Watched]:
    """A page of someone's watchlist, most recently watched first."""
    columns: list[ColumnElement[Any]] = [watchlist.c.created_at, watchlist.c.auction_id]
    query = (
        select(lots, watchlist.c.created_at.label("watched_at"))
        .join(watchlist, watchlist.c.auction_id == lots.c.id)
        .where(watchlist.c.user_id == user_id)
        .order_by(*(c.desc() for c in columns))
        .limit(limit)
    )
    if after is not None:
        query = query.where(_after(columns, after, descending=True))
    rows = (await conn.execute(query)).all()
    return [Watched(lot_from_row(row), utc(row.watched_at)) for row in rows]


def encode_cursor(kind: CursorKind, key: Sequence[Any]) -> str:
    """An opaque cursor holding a sort key."""
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    raw = json.dumps({"s": kind, "k": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, kind: CursorKind) -> list[Any]:
    """The sort key in a cursor; ``InvalidCursor`` unless it was made for ``kind``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise InvalidCursor("the cursor is not valid") from error
    if not isinstance(document, dict) or document.get("s") != kind:
        raise InvalidCursor("the cursor belongs to another list or sort")
    values, types = document.get("k"), _KEY_TYPES[kind]
    if not isinstance(values, list) or len(values) != len(types):
        raise InvalidCursor("the cursor is not valid")
    return [_typed(value, expected) for value, expected in zip(values, types, strict=True)]


def _typed(value: Any, expected: type) -> Any:
    if expected is datetime and isinstance(value, str):
        try:
            return utc(datetime.fromisoformat(value))
        except ValueError as error:
            raise InvalidCursor("the cursor is not valid") from error
    if expected is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if expected is str and isinstance(value, str) and len(value) <= 64:
        return value
    raise InvalidCursor("the cursor is not valid")
