"""How orders and offers leave the service: event payloads and API documents."""

from __future__ import annotations

from typing import Any

from auction_platform.contracts.payments import (
    OrderData,
    PaymentReminderData,
    SecondChanceOfferData,
)
from auction_platform.services.payment.domain import Offer, Order


def order_data(order: Order) -> OrderData:
    """The order as other services know it (the ``data`` of the order events)."""
    return {
        "order_id": order.id,
        "auction_id": order.auction_id,
        "title": order.title,
        "buyer_id": order.buyer_id,
        "seller_id": order.seller_id,
        "currency": order.currency,
        "hammer_cents": order.hammer_cents,
        "buyers_premium_cents": order.buyers_premium_cents,
        "seller_fee_cents": order.seller_fee_cents,
        "total_cents": order.total_cents,
        "due_at": order.due_at.isoformat(),
        "second_chance": order.second_chance,
    }


def reminder_data(order: Order, hours_after: int) -> PaymentReminderData:
    """A payment reminder ``hours_after`` hours after the order."""
    return {**order_data(order), "hours_after": hours_after}


def offer_data(offer: Offer) -> SecondChanceOfferData:
    """A second-chance offer (the ``data`` of ``SecondChanceOffered``)."""
    return {
        "offer_id": offer.id,
        "auction_id": offer.auction_id,
        "title": offer.title,
        "user_id": offer.user_id,
        "seller_id": offer.seller_id,
        "price_cents": offer.price_cents,
        "currency": offer.currency,
        "due_at": offer.due_at.isoformat(),
    }


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def order_document(order: Order, *, seller_view: bool) -> dict[str, Any]:
    """An order for the API; the seller's fee and payout only for the seller (and admins)."""
    document: dict[str, Any] = {
        "id": order.id,
        "auction_id": order.auction_id,
        "title": order.title,
        "buyer_id": order.buyer_id,
        "seller_id": order.seller_id,
        "status": order.status.value,
        "currency": order.currency,
        "hammer_cents": order.hammer_cents,
        "buyers_premium_percent": str(order.buyers_premium_percent),
        "buyers_premium_cents": order.buyers_premium_cents,
        "total_cents": order.total_cents,
        "second_chance": order.second_chance,
        "due_at": order.due_at.isoformat(),
        "created_at": order.created_at.isoformat(),
        "paid_at": _time(order.paid_at),
        "expired_at": _time(order.expired_at),
        "refunded_at": _time(order.refunded_at),
        "refunded_cents": order.refunded_cents,
        "payment_attempts": order.attempts,
        "last_payment_failure": order.last_failure,
        "refund_due": order.refund_due,
    }
    if seller_view:
        document["seller_fee_percent"] = str(order.seller_fee_percent)
        document["seller_fee_cents"] = order.seller_fee_cents
        document["payout_cents"] = order.payout_cents
    return document


def offer_document(offer: Offer) -> dict[str, Any]:
    """A second-chance offer for the API."""
    return {
        "id": offer.id,
        "auction_id": offer.auction_id,
        "title": offer.title,
        "user_id": offer.user_id,
        "seller_id": offer.seller_id,
        "price_cents": offer.price_cents,
        "currency": offer.currency,
        "status": offer.status.value,
        "due_at": offer.due_at.isoformat(),
        "order_id": offer.order_id,
        "created_at": offer.created_at.isoformat(),
    }
