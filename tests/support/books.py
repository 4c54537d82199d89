"""Open a bid book directly, as the bidding service does on ``AuctionOpened``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from auction_platform.composition import Platform
from auction_platform.services.bidding import handlers


def auction_rules(
    seller_id: str,
    *,
    start_cents: int = 100,
    reserve_cents: int | None = None,
    buy_now_cents: int | None = None,
    lasts: timedelta = timedelta(hours=1),
    soft_close: dict[str, int] | None = None,
    auction_id: str | None = None,
) -> dict[str, Any]:
    """An open auction's rules (``AuctionRulesData``) starting now."""
    now = datetime.now(UTC)
    return {
        "auction_id": auction_id or uuid.uuid4().hex,
        "seller_id": seller_id,
        "title": "A Victorian tea set",
        "currency": "EUR",
        "start_cents": start_cents,
        "reserve_cents": reserve_cents,
        "buy_now_cents": buy_now_cents,
        "starts_at": (now - timedelta(seconds=1)).isoformat(),
        "ends_at": (now + lasts).isoformat(),
        "soft_close": soft_close,
        "increments": [],
    }


async def open_book(platform: Platform, rules: dict[str, Any]) -> str:
    """Create the book of an open auction; its id."""
    runtime = platform.runtimes["bidding"]
    async with runtime.require_uow()() as tx:
        await handlers.open_book(tx, rules, now=runtime.clock())
    return str(rules["auction_id"])
