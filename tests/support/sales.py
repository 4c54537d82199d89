"""A sale as the bid book announces it, and the order the payment service makes of it."""

from __future__ import annotations

import uuid

from auction_platform.composition import Platform
from auction_platform.contracts.events import Envelope
from auction_platform.services.payment import handlers, store
from auction_platform.services.payment.commands import ConfirmReceipt, MarkShipped
from auction_platform.services.payment.domain import Caller, Order
from support.waiting import eventually


def auction_closed(seller_id: str, winner_id: str, *, title: str, price_cents: int) -> Envelope:
    """``bidding.AuctionClosed`` of a lot sold to ``winner_id`` (in EUR, one bid)."""
    data = {
        "auction_id": uuid.uuid4().hex,
        "seller_id": seller_id,
        "title": title,
        "winner_id": winner_id,
        "price_cents": price_cents,
        "currency": "EUR",
        "sold": True,
        "reserve_met": True,
        "runner_up_id": None,
        "runner_up_max_cents": None,
        "bid_count": 1,
        "by_buy_now": False,
        "closed_at": "2026-03-01T12:00:00+00:00",
    }
    return Envelope(type="AuctionClosed", producer="bidding", data=data)


async def order_of(platform: Platform, closed: Envelope) -> Order:
    """Publish a sale; its order once the payment service has made it."""
    assert platform.broker is not None
    await platform.broker.publish([closed])
    db = platform.runtimes["payment"].db
    assert db is not None

    async def made() -> list[Order]:
        async with db.read() as conn:
            return await store.orders_of_auction(conn, closed.data["auction_id"])

    return (await eventually(made))[0]


async def shipped_and_received(platform: Platform, order: Order) -> None:
    """The seller ships the lot and the buyer confirms receipt (the payment use cases)."""
    ctx = platform.runtimes["payment"].context
    await handlers.mark_shipped(MarkShipped(order.id, Caller(order.seller_id)), ctx=ctx)
    await handlers.confirm_receipt(ConfirmReceipt(order.id, Caller(order.buyer_id)), ctx=ctx)
