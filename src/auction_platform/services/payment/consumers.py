"""What the payment service learns from the bid book: an auction sold, so its winner owes payment.

The service keys on ``bidding.AuctionClosed`` alone. Buy It Now is no exception:
the bid book emits ``BuyNowUsed`` and then, in the same transaction,
``AuctionClosed`` with ``by_buy_now: true``, so consuming both would only add a
second path to the same order.

An order copies its lot's delivery terms, which the service keeps from
``auction.AuctionPublished`` and ``auction.AuctionEdited`` (one queue for both: an
edit is the same news as the listing). A lot heard of only later (or never) gets
its terms read at checkout, else ``DEFAULT_DELIVERY``.

The consumer runs in the transaction that records the event in the inbox, and
the order's insert is ``ON CONFLICT DO NOTHING`` against the unique
``(auction_id, second_chance)``: a redelivered event, a second copy of the event
with another id, or two deliveries racing on two replicas all end with exactly
one order (and one ``OrderCreated``).

From identity it takes ``UserErased`` (``user-erased``): a closed account's delivery
addresses are erased from its orders (``privacy.user_erased``).
"""

from __future__ import annotations

import logging
import uuid

from auction_platform.contracts.auctions import AUCTION_CLOSED, AUCTION_EDITED, AUCTION_PUBLISHED
from auction_platform.contracts.events import Envelope
from auction_platform.contracts.identity import USER_ERASED
from auction_platform.core.service import Consumer
from auction_platform.core.uow import Transaction
from auction_platform.services.payment import domain, privacy, store, views
from auction_platform.services.payment.handlers import Payments, open_order

log = logging.getLogger("auction_platform.payment.consumers")


def _optional_text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _optional_int(value: object) -> int | None:
    return int(str(value)) if value is not None else None


def _format(value: object) -> domain.SaleFormat:
    # Events from before there were formats say nothing: an English auction.
    try:
        return domain.SaleFormat(str(value or domain.SaleFormat.ENGLISH))
    except ValueError:
        log.error("unknown sale format %r: settled as an English auction", value)
        return domain.SaleFormat.ENGLISH


def order_for_result(
    event: Envelope, ctx: Payments, terms: domain.DeliveryTerms | None = None
) -> domain.Order | None:
    """The winner's order for a sold auction (None when nothing was sold)."""
    data = event.data
    winner = _optional_text(data.get("winner_id"))
    if not data.get("sold") or winner is None:
        return None
    try:
        return domain.new_order(
            order_id=uuid.uuid4().hex,
            auction_id=str(data["auction_id"]),
            title=str(data.get("title") or ""),
            buyer_id=winner,
            seller_id=str(data["seller_id"]),
            currency=str(data["currency"]),
            hammer_cents=int(data["price_cents"]),
            terms=ctx.terms,
            now=ctx.clock(),
            runner_up_id=_optional_text(data.get("runner_up_id")),
            runner_up_max_cents=_optional_int(data.get("runner_up_max_cents")),
            delivery_terms=terms,
            sale_format=_format(data.get("format")),
        )
    except domain.NotAllowed as refusal:
        # Redelivering would not make the price valid: note it and move on.
        log.error("AuctionClosed for %s makes no order: %s", data["auction_id"], refusal.message)
        return None


def consumers(ctx: Payments) -> tuple[Consumer, ...]:
    """The payment service's consumers."""

    async def auction_closed(tx: Transaction, event: Envelope) -> None:
        terms = await store.lot_delivery_terms(tx.conn, str(event.data.get("auction_id")))
        order = order_for_result(event, ctx, terms)
        if order is not None and not await open_order(tx, order, ctx):
            log.info("auction %s has its order already", order.auction_id)

    async def lot_listed(tx: Transaction, event: Envelope) -> None:
        auction_id, given = str(event.data["auction_id"]), event.data.get("delivery")
        try:
            terms = views.delivery_terms(given) if isinstance(given, dict) else views.DEFAULT_TERMS
        except ValueError as error:
            # Redelivering would not mend it: the lot's orders fall back on the default.
            log.error("delivery terms of %s are malformed: %s", auction_id, error)
            return
        await store.record_lot_delivery(tx.conn, auction_id, terms, occurred_at=event.occurred_at)

    listed = (f"auction.{AUCTION_PUBLISHED}", f"auction.{AUCTION_EDITED}")
    return (
        Consumer("auction-closed", (f"bidding.{AUCTION_CLOSED}",), auction_closed),
        Consumer("lot-delivery", listed, lot_listed),
        Consumer("user-erased", (f"identity.{USER_ERASED}",), privacy.user_erased),
    )
