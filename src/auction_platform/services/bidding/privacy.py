"""What the bid book holds about a member, and what keeps their account open here.

Every bid the member placed leaves in their data export, with its maximum (theirs
to know). Leading an open auction keeps the account open: the lot would be sold
to nobody who can pay; a bid outbid already may stay, it wins nothing by itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.privacy import records
from auction_platform.services.bidding.domain import BookStatus
from auction_platform.services.bidding.store import bids, books


async def export(conn: AsyncConnection, user_id: str) -> dict[str, Any]:
    """The member's bids, oldest first."""
    placed = await conn.execute(
        select(
            bids.c.auction_id,
            bids.c.seq,
            bids.c.max_cents,
            bids.c.price_cents,
            bids.c.placed_at,
            bids.c.retracted_at,
        )
        .where(bids.c.bidder_id == user_id)
        .order_by(bids.c.placed_at, bids.c.seq)
    )
    return {"bids": records(placed)}


async def obligations(conn: AsyncConnection, user_id: str) -> list[str]:
    """``leading_bids`` while the member leads an open auction."""
    query = select(books.c.auction_id).where(
        books.c.leader_id == user_id, books.c.status == BookStatus.OPEN.value
    )
    return ["leading_bids"] if (await conn.execute(query.limit(1))).first() else []
