"""What the auction service learns from the bid book: prices, leaders, ends and results.

Each consumer runs in the transaction that records the event in the inbox, so a
redelivered event changes nothing. Events from different queues (and replicas)
may arrive out of order, so each update is one that order cannot spoil: a bid
applies only if newer than the last one seen, ends only move later, and a
closed lot takes no more news. The lot's cached copy is written as the last
step of the transaction (the row lock orders those writes as it orders commits).

``every`` is what the service takes, declared here in one place: these, and the
stateless consumer of suspensions (``suspensions``: a suspended seller's lots are
cancelled).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from auction_platform.contracts.auctions import (
    AUCTION_CLOSED,
    AUCTION_EXTENDED,
    BID_PLACED,
    BID_RETRACTED,
)
from auction_platform.contracts.events import Envelope
from auction_platform.core.service import AnyConsumer, Consumer
from auction_platform.core.uow import Transaction
from auction_platform.services.auction import domain, store, suspensions
from auction_platform.services.auction.domain import Lot
from auction_platform.services.auction.handlers import Auctions

log = logging.getLogger("auction_platform.auction.consumers")

Change = Callable[[Lot, Envelope, datetime], Lot]


def _time(value: object) -> datetime:
    """An event's ISO timestamp as an aware UTC datetime (a bad one fails the event)."""
    moment = datetime.fromisoformat(str(value))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _bid_placed(lot: Lot, event: Envelope, now: datetime) -> Lot:
    data = event.data
    return domain.apply_bid(
        lot,
        seq=int(data["seq"]),
        price_cents=int(data["price_cents"]),
        bid_count=int(data["bid_count"]),
        leader_id=None if data["leader_id"] is None else str(data["leader_id"]),
        ends_at=_time(data["ends_at"]),
        now=now,
    )


def _extended(lot: Lot, event: Envelope, now: datetime) -> Lot:
    data = event.data
    return domain.extend(
        lot, ends_at=_time(data["ends_at"]), extensions=int(data["extensions"]), now=now
    )


def _retracted(lot: Lot, event: Envelope, now: datetime) -> Lot:
    data = event.data
    leader = data.get("leader_id")
    return domain.apply_retraction(
        lot,
        price_cents=int(data["price_cents"]),
        leader_id=str(leader) if leader is not None else None,
        bid_count=int(data["bid_count"]),
        now=now,
    )


def _closed(lot: Lot, event: Envelope, now: datetime) -> Lot:
    data = event.data
    winner = data.get("winner_id")
    try:
        return domain.record_result(
            lot,
            sold=bool(data["sold"]),
            winner_id=str(winner) if winner is not None else None,
            price_cents=int(data["price_cents"]),
            bid_count=int(data["bid_count"]),
            now=now,
            closed_at=_time(data["closed_at"]),
            by_buy_now=bool(data.get("by_buy_now")),
        )
    except domain.NotAllowed as refusal:
        # Redelivering would not change the lot's state: note it and move on.
        log.warning("AuctionClosed for %s ignored: %s", lot.id, refusal.message)
        return lot


async def _reschedule_reminders(tx: Transaction, lot: Lot) -> None:
    for minutes in await store.unsent_reminders(tx.conn, lot.id):
        await store.move_reminder(
            tx.conn, lot.id, minutes, domain.reminder_due_at(lot.ends_at, minutes)
        )


def _consumer(
    name: str, event_type: str, change: Change, ctx: Auctions, *, adds_bidder: bool = False
) -> Consumer:
    """A consumer applying ``change``; with ``adds_bidder``, the bidder joins the lot's list."""

    async def handle(tx: Transaction, event: Envelope) -> None:
        lot_id = str(event.data["auction_id"])
        now = ctx.clock()
        lot = await store.lot_by_id(tx.conn, lot_id, for_update=True)
        if lot is None:
            log.warning("%s for unknown auction %s ignored", event.type, lot_id)
            return
        if adds_bidder:
            await store.add_participant(tx.conn, lot_id, str(event.data["bidder_id"]), now=now)
        changed = change(lot, event, now)
        if changed is lot:
            return
        await store.save_lot(tx.conn, changed)
        if changed.status in domain.FINAL:
            await store.drop_unsent_reminders(tx.conn, lot_id)
        elif changed.ends_at != lot.ends_at:
            await _reschedule_reminders(tx, changed)
        await ctx.lots.put(changed)

    return Consumer(name, (f"bidding.{event_type}",), handle)


def consumers(ctx: Auctions) -> tuple[Consumer, ...]:
    """The auction service's consumers of the bid book's events."""
    return (
        _consumer("bid-placed", BID_PLACED, _bid_placed, ctx, adds_bidder=True),
        _consumer("auction-extended", AUCTION_EXTENDED, _extended, ctx),
        _consumer("bid-retracted", BID_RETRACTED, _retracted, ctx),
        _consumer("auction-closed", AUCTION_CLOSED, _closed, ctx),
    )


def every(ctx: Auctions) -> tuple[AnyConsumer, ...]:
    """Every queue of the auction service: the bid book's events, then suspensions."""
    return (*consumers(ctx), suspensions.consumer(ctx))
