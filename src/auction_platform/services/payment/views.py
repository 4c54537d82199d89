"""How orders and offers leave the service: event payloads and API documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from auction_platform.contracts.auctions import DEFAULT_DELIVERY, DeliveryData
from auction_platform.contracts.payments import (
    DeliveryAddressData,
    OrderData,
    OrderDeliveryData,
    PaymentReminderData,
    SecondChanceOfferData,
)
from auction_platform.services.payment.domain import (
    DeliveryTerms,
    Offer,
    Order,
    ShippingRate,
)


def delivery_data(terms: DeliveryTerms) -> DeliveryData:
    """Delivery terms as the listing contract spells them."""
    return {
        "shipping": [
            {"countries": list(rate.countries), "cost_cents": rate.cost_cents}
            for rate in terms.shipping
        ],
        "buyer_arranges": terms.buyer_arranges,
        "pickup_town": terms.pickup_town,
    }


def delivery_terms(data: Mapping[str, Any]) -> DeliveryTerms:
    """Delivery terms from the listing contract's ``DeliveryData`` (ValueError if malformed)."""
    try:
        rates = tuple(
            ShippingRate(
                countries=tuple(str(country).strip().upper() for country in rate["countries"]),
                cost_cents=int(rate["cost_cents"]),
            )
            for rate in data.get("shipping") or ()
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed shipping rates: {error}") from error
    if any(rate.cost_cents < 0 for rate in rates):
        raise ValueError("a shipping cost is negative")
    town = data.get("pickup_town")
    return DeliveryTerms(
        shipping=rates,
        buyer_arranges=bool(data.get("buyer_arranges", False)),
        pickup_town=str(town).strip() or None if town else None,
    )


# What a lot offers when its listing said nothing (or was never heard of): the buyer arranges.
DEFAULT_TERMS = delivery_terms(DEFAULT_DELIVERY)


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
        "format": order.format.value,
        "shipping_cents": order.shipping_cents,
        "delivery_method": order.delivery_method.value if order.delivery_method else None,
    }


def order_delivery_data(order: Order) -> OrderDeliveryData:
    """The order and how it reaches its buyer (``OrderPaid``, ``OrderShipped``, ...)."""
    terms = order.delivery_terms
    return {
        **order_data(order),
        "delivery_address": cast(DeliveryAddressData | None, order.delivery_address),
        "pickup_town": terms.pickup_town if terms else None,
        "tracking_number": order.tracking_number,
        "carrier": order.carrier,
        "shipped_at": _time(order.shipped_at),
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


def delivery_document(order: Order, *, with_address: bool) -> dict[str, Any]:
    """How an order reaches its buyer, for the API (the address only when ``with_address``)."""
    terms = order.delivery_terms
    return {
        "method": order.delivery_method.value if order.delivery_method else None,
        "address": order.delivery_address if with_address else None,
        "terms": delivery_data(terms) if terms else None,
        "tracking_number": order.tracking_number,
        "carrier": order.carrier,
    }


def order_document(order: Order, *, seller_view: bool, with_address: bool = True) -> dict[str, Any]:
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
        "format": order.format.value,
        "due_at": order.due_at.isoformat(),
        "created_at": order.created_at.isoformat(),
        "paid_at": _time(order.paid_at),
        "expired_at": _time(order.expired_at),
        "refunded_at": _time(order.refunded_at),
        "refunded_cents": order.refunded_cents,
        "payment_attempts": order.attempts,
        "last_payment_failure": order.last_failure,
        "refund_due": order.refund_due,
        "shipping_cents": order.shipping_cents,
        "delivery": delivery_document(order, with_address=with_address),
        "fulfilment": order.fulfilment.value,
        "shipped_at": _time(order.shipped_at),
        "received_at": _time(order.received_at),
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
