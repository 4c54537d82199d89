"""The rollups consumer: per-auction facts and daily counters, kept from events.

Each event is handled in the transaction that records it in the inbox, so a
redelivered envelope changes nothing. Beyond that, every fact is recorded once
per auction or order (opened, first bid, closed, cancelled, created, paid), so
even a second event meaning the same thing cannot count twice, and events that
arrive out of order (a bid before the opening, a payment before the order) meet
up whichever comes first.

Where each counter goes: the UTC day of the fact, the auction's category (from
``AuctionPublished``; ``unknown`` for an auction first heard of by another event)
and its currency; and, in a second table of the same counters, the same day, the
auction's sale format and its currency.

The format is a second key rather than a fourth column of the first: every bump
adds the same deltas to both rows (``rollup_store.bump``), so the category report
keeps its rows and shape, the per-format breakdown of the summary reads a table a
few rows a day, and both add up to the same totals (refunds, fees and moves too).
The format is the listing's (``AuctionPublished``/``AuctionEdited``; an edit that
changes it moves the listing as a change of category does); an auction first heard
of by another event takes that event's (``BidPlaced``, ``AuctionOpened`` and
``AuctionClosed`` name it), and an event without one is of an English auction. An
order keeps the format its lot had when the order was heard of, as it keeps the
category, so its payment and refund count where its sale did.

- listed, opened, cancelled: on the day of the event.
- sold / unsold, closed_bids, GMV (hammer prices of sold lots): on ``closed_at``.
- bids: on each bid's ``placed_at``; first bids and their seconds since the
  opening (the bid with the lowest ledger sequence): on the opening's day.
- orders_created on the order's day; orders_paid and fees (buyer's premium plus
  seller's fee, from ``OrderPaid``: fees are income once collected, and an unpaid
  order followed by a second-chance order must not count twice) on the day paid;
  orders_created_paid on the order's day, so conversion compares like with like.
- refunds, on the day of the refund (``OrderRefunded``, once per order): the count,
  the money given back to the buyer (``refunded_cents``), the order's hammer, which
  comes off GMV (``refunded_gmv_cents``), and its fees, which come off the fees
  collected (``refunded_fees_cents``) once its payment is counted: a payment heard
  of after its refund takes its fees back on the refund's day too. Gross figures are
  never rewritten; the reports subtract.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from auction_platform.contracts.auctions import (
    AUCTION_CANCELLED,
    AUCTION_CLOSED,
    AUCTION_EDITED,
    AUCTION_OPENED,
    AUCTION_PUBLISHED,
    BID_PLACED,
)
from auction_platform.contracts.events import Envelope
from auction_platform.contracts.payments import ORDER_CREATED, ORDER_PAID, ORDER_REFUNDED
from auction_platform.core.uow import Transaction
from auction_platform.services.analytics import rollup_store as rs
from auction_platform.services.analytics.domain import (
    day_of,
    minute_of,
    parse_time,
    sale_format,
    seconds_between,
    utc,
)

Handler = Callable[[Transaction, Envelope, datetime], Awaitable[None]]


def _currency(data: dict[str, Any]) -> str | None:
    value = data.get("currency")
    return str(value) if value else None


async def _lock(tx: Transaction, event: Envelope, now: datetime) -> dict[str, Any]:
    data = event.data
    return await rs.auction_for_update(
        tx.conn, str(data["auction_id"]), currency=_currency(data), fmt=sale_format(data), now=now
    )


async def _bump(tx: Transaction, facts: dict[str, Any], moment: datetime, **deltas: float) -> None:
    day = day_of(moment)
    await rs.bump(tx.conn, day, facts["category"], facts["currency"], facts["format"], **deltas)


async def published(tx: Transaction, event: Envelope, now: datetime) -> None:
    """A lot was listed (or its listing edited): its category, currency and format, counted once."""
    data = event.data
    facts = await _lock(tx, event, now)
    dimensions = {
        "category": str(data["category"]),
        "currency": str(data["currency"]),
        "format": sale_format(data),
    }
    listed_at = facts["listed_at"] or utc(event.occurred_at)
    await rs.update_auction(
        tx.conn,
        facts["auction_id"],
        title=str(data["title"]),
        seller_id=str(data["seller_id"]),
        **dimensions,
        listed_at=listed_at,
        updated_at=now,
    )
    moved = any(facts[name] != value for name, value in dimensions.items())
    if facts["listed_at"] is not None and not moved:
        return  # listed and counted already
    if facts["listed_at"] is not None:
        # An edit moved the lot: its listing counts under the new category or format.
        await _bump(tx, facts, listed_at, listed=-1)
    await _bump(tx, dimensions, listed_at, listed=1)


async def opened(tx: Transaction, event: Envelope, now: datetime) -> None:
    """The lot opened; if its first bid is already known, so is its time to first bid."""
    facts = await _lock(tx, event, now)
    if facts["opened_at"] is not None:
        return
    opened_at = utc(event.occurred_at)
    changes: dict[str, Any] = {"opened_at": opened_at, "updated_at": now}
    deltas: dict[str, float] = {"opened": 1}
    if facts["first_bid_at"] is not None:
        seconds = seconds_between(opened_at, facts["first_bid_at"])
        changes["first_bid_seconds"] = seconds
        deltas.update(first_bids=1, first_bid_seconds=seconds)
    await rs.update_auction(tx.conn, facts["auction_id"], **changes)
    await _bump(tx, facts, opened_at, **deltas)


async def bid_placed(tx: Transaction, event: Envelope, now: datetime) -> None:
    """A bid: the day's and the minute's counts, and maybe the auction's first bid."""
    data = event.data
    facts = await _lock(tx, event, now)
    placed_at = parse_time(data["placed_at"])
    seq = int(data["seq"])
    await _bump(tx, facts, placed_at, bids=1)
    await rs.count_bid_minute(tx.conn, facts["auction_id"], minute_of(placed_at))
    changes: dict[str, Any] = {"bid_count": facts["bid_count"] + 1, "updated_at": now}
    first_seq = facts["first_bid_seq"]
    if first_seq is None or seq < first_seq:
        changes.update(first_bid_seq=seq, first_bid_at=placed_at)
        opened_at = facts["opened_at"]
        if opened_at is not None:
            seconds = seconds_between(opened_at, placed_at)
            changes["first_bid_seconds"] = seconds
            before = facts["first_bid_seconds"]
            if before is None:
                await _bump(tx, facts, opened_at, first_bids=1, first_bid_seconds=seconds)
            else:  # an earlier bid arrived late: correct the sum, not the count
                await _bump(tx, facts, opened_at, first_bid_seconds=seconds - before)
    await rs.update_auction(tx.conn, facts["auction_id"], **changes)


async def closed(tx: Transaction, event: Envelope, now: datetime) -> None:
    """The hammer fell: sold (with its price in GMV) or unsold, counted once."""
    data = event.data
    facts = await _lock(tx, event, now)
    if facts["closed_at"] is not None or facts["cancelled_at"] is not None:
        return
    closed_at = parse_time(data["closed_at"])
    sold = bool(data["sold"])
    price = int(data["price_cents"])
    await rs.update_auction(
        tx.conn,
        facts["auction_id"],
        closed_at=closed_at,
        sold=sold,
        hammer_cents=price if sold else None,
        updated_at=now,
    )
    deltas: dict[str, float] = {"closed_bids": int(data["bid_count"])}
    if sold:
        deltas.update(sold=1, gmv_cents=price)
    else:
        deltas["unsold"] = 1
    await _bump(tx, facts, closed_at, **deltas)


async def cancelled(tx: Transaction, event: Envelope, now: datetime) -> None:
    """The lot was withdrawn, counted once (and never after a result)."""
    facts = await _lock(tx, event, now)
    if facts["closed_at"] is not None or facts["cancelled_at"] is not None:
        return
    at = utc(event.occurred_at)
    await rs.update_auction(tx.conn, facts["auction_id"], cancelled_at=at, updated_at=now)
    await _bump(tx, facts, at, cancelled=1)


async def _order(tx: Transaction, event: Envelope, now: datetime) -> dict[str, Any]:
    data = event.data
    auction = await _lock(tx, event, now)
    hammer = data.get("hammer_cents")
    stub = {
        "auction_id": auction["auction_id"],
        "category": auction["category"],
        "currency": str(data.get("currency") or auction["currency"]),
        "format": auction["format"],
        "fees_cents": int(data["buyers_premium_cents"]) + int(data["seller_fee_cents"]),
        "hammer_cents": int(hammer) if hammer is not None else None,
    }
    return await rs.order_for_update(tx.conn, str(data["order_id"]), stub=stub)


async def order_created(tx: Transaction, event: Envelope, now: datetime) -> None:
    """The winner owes payment: one more order on its day."""
    order = await _order(tx, event, now)
    if order["created_at"] is not None:
        return
    created_at = utc(event.occurred_at)
    await rs.update_order(tx.conn, order["order_id"], created_at=created_at)
    deltas: dict[str, float] = {"orders_created": 1}
    if order["paid_at"] is not None:  # the payment was heard of first
        deltas["orders_created_paid"] = 1
    await _bump(tx, order, created_at, **deltas)


async def order_paid(tx: Transaction, event: Envelope, now: datetime) -> None:
    """Payment received: the fees are collected, and the order converted."""
    order = await _order(tx, event, now)
    if order["paid_at"] is not None:
        return
    paid_at = utc(event.occurred_at)
    await rs.update_order(tx.conn, order["order_id"], paid_at=paid_at)
    await _bump(tx, order, paid_at, orders_paid=1, fees_cents=order["fees_cents"])
    if order["created_at"] is not None:
        await _bump(tx, order, order["created_at"], orders_created_paid=1)
    if order["refunded_at"] is not None:  # the refund was heard of first
        await _bump(tx, order, order["refunded_at"], refunded_fees_cents=order["fees_cents"])


async def order_refunded(tx: Transaction, event: Envelope, now: datetime) -> None:
    """An admin refunded the order: its money comes off GMV and fees on the refund's day."""
    data = event.data
    order = await _order(tx, event, now)
    if order["refunded_at"] is not None:
        return
    refunded_at = utc(event.occurred_at)
    hammer, given_back = int(data["hammer_cents"]), int(data["refunded_cents"])
    await rs.update_order(
        tx.conn,
        order["order_id"],
        refunded_at=refunded_at,
        refunded_cents=given_back,
        hammer_cents=hammer,
    )
    deltas: dict[str, float] = {
        "refunds": 1,
        "refunded_cents": given_back,
        "refunded_gmv_cents": hammer,
    }
    if order["paid_at"] is not None:  # else its fees were never counted (yet)
        deltas["refunded_fees_cents"] = order["fees_cents"]
    await _bump(tx, order, refunded_at, **deltas)


HANDLERS: dict[str, Handler] = {
    AUCTION_PUBLISHED: published,
    AUCTION_EDITED: published,
    AUCTION_OPENED: opened,
    BID_PLACED: bid_placed,
    AUCTION_CLOSED: closed,
    AUCTION_CANCELLED: cancelled,
    ORDER_CREATED: order_created,
    ORDER_PAID: order_paid,
    ORDER_REFUNDED: order_refunded,
}


async def update_rollups(
    tx: Transaction, event: Envelope, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> None:
    """Apply one event to the rollups (events of other types are not the rollups' business)."""
    handler = HANDLERS.get(event.type)
    if handler is not None:
        await handler(tx, event, clock())
