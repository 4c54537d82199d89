"""What the catalogue holds about a member, and what keeps their account open here.

A seller's listings (each with its format and timed sale), their timed sales and a
member's watchlist leave in their data export. A listing
scheduled or open (with bids or not) keeps the account open: its bidders expect a
seller who answers, so the seller cancels it (or lets it close) first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.privacy import records
from auction_platform.services.auction.domain import Status
from auction_platform.services.auction.sale_store import sales
from auction_platform.services.auction.store import lots, watchlist

_LISTED = (
    lots.c.id,
    lots.c.title,
    lots.c.description,
    lots.c.category,
    lots.c.currency,
    lots.c.start_cents,
    lots.c.reserve_cents,
    lots.c.buy_now_cents,
    lots.c.format,
    lots.c.sale_id,
    lots.c.status,
    lots.c.outcome,
    lots.c.final_price_cents,
    lots.c.bid_count,
    lots.c.starts_at,
    lots.c.ends_at,
    lots.c.created_at,
)
_SALES = (
    sales.c.id,
    sales.c.title,
    sales.c.description,
    sales.c.status,
    sales.c.first_close_at,
    sales.c.interval_seconds,
    sales.c.lot_count,
    sales.c.created_at,
    sales.c.published_at,
    sales.c.cancelled_at,
)
_KEEPING = (Status.SCHEDULED.value, Status.OPEN.value)


async def export(conn: AsyncConnection, user_id: str) -> dict[str, Any]:
    """The member's listings (every status), timed sales and watchlist."""
    listings = await conn.execute(
        select(*_LISTED).where(lots.c.seller_id == user_id).order_by(lots.c.created_at)
    )
    watched = await conn.execute(
        select(watchlist.c.auction_id, watchlist.c.created_at)
        .where(watchlist.c.user_id == user_id)
        .order_by(watchlist.c.created_at)
    )
    timed_sales = await conn.execute(
        select(*_SALES).where(sales.c.seller_id == user_id).order_by(sales.c.created_at)
    )
    return {
        "listings": records(listings),
        "timed_sales": records(timed_sales),
        "watchlist": records(watched),
    }


async def obligations(conn: AsyncConnection, user_id: str) -> list[str]:
    """``open_listings`` while the member has a listing scheduled or open."""
    query = select(lots.c.id).where(lots.c.seller_id == user_id, lots.c.status.in_(_KEEPING))
    return ["open_listings"] if (await conn.execute(query.limit(1))).first() else []
