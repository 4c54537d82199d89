"""How a paid lot reaches its buyer: the choice of method, its cost, shipment and receipt.

Pure: standard library only, the time is an argument. The buyer chooses one of
the ways the listing offered while the order awaits payment: ``shipping`` (to an
address, at the rate whose countries include it), ``buyer_arranges`` (a courier
of the buyer's collects; an address is optional, for the seller to see as on
eBay, where the seller always sees where the buyer is) or ``pickup`` (in the
listing's town; no address). Once paid, the seller marks the lot shipped (handed
over, for a collection) and the buyer confirms receipt, or the confirmation
period after shipment confirms it for them. A lot the buyer collects may be
confirmed without a shipment first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from auction_platform.services.payment.domain import (
    DeliveryMethod,
    DeliveryTerms,
    Fulfilment,
    NotAllowed,
    Order,
    Status,
    check_can_pay,
)

# A delivery address as the buyer gives it (the fields of an identity address).
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")
REQUIRED_ADDRESS_FIELDS = ("name", "line1", "city", "country")
# Ways the buyer (or their courier) takes the lot from the seller: no address needed.
COLLECTED = frozenset({DeliveryMethod.BUYER_ARRANGES, DeliveryMethod.PICKUP})


def offered_methods(terms: DeliveryTerms) -> list[DeliveryMethod]:
    """The ways a listing's terms offer, in the order a page lists them."""
    offered = [DeliveryMethod.SHIPPING] if terms.shipping else []
    if terms.buyer_arranges:
        offered.append(DeliveryMethod.BUYER_ARRANGES)
    if terms.pickup_town:
        offered.append(DeliveryMethod.PICKUP)
    return offered


def needs_address(method: DeliveryMethod) -> bool:
    """Only shipping needs the buyer's address."""
    return method is DeliveryMethod.SHIPPING


def default_method(terms: DeliveryTerms) -> DeliveryMethod | None:
    """The method a payment without a choice takes: the only one offered needing no address."""
    without_address = [m for m in offered_methods(terms) if not needs_address(m)]
    return without_address[0] if len(without_address) == 1 else None


def shipping_cost(terms: DeliveryTerms, country: str) -> int:
    """The cost of shipping to ``country``: the cheapest rate whose countries include it."""
    costs = [rate.cost_cents for rate in terms.shipping if country.upper() in rate.countries]
    if not costs:
        raise NotAllowed("no_shipping_to_country", f"the seller does not ship to {country}")
    return min(costs)


def clean_address(address: Mapping[str, str | None]) -> dict[str, str]:
    """Every field of an address, trimmed (absent ones empty), the country in upper case."""
    cleaned = {name: " ".join(str(address.get(name) or "").split()) for name in ADDRESS_FIELDS}
    cleaned["country"] = cleaned["country"].upper()
    missing = [name for name in REQUIRED_ADDRESS_FIELDS if not cleaned[name]]
    if missing:
        raise NotAllowed("address_incomplete", "the address needs " + ", ".join(missing))
    return cleaned


def choose(
    order: Order,
    terms: DeliveryTerms,
    method: DeliveryMethod,
    address: Mapping[str, str | None] | None,
    *,
    now: datetime,
) -> Order:
    """The order with the buyer's way of delivery, its address and its shipping cost."""
    check_can_pay(order, now=now)
    if method not in offered_methods(terms):
        raise NotAllowed("method_not_offered", f"the listing does not offer {method.value}")
    kept = clean_address(address) if address and method is not DeliveryMethod.PICKUP else None
    cost = 0
    if needs_address(method):
        if kept is None:
            raise NotAllowed("address_required", "shipping needs an address")
        cost = shipping_cost(terms, kept["country"])
    return replace(
        order,
        delivery_terms=terms,
        delivery_method=method,
        delivery_address=kept,
        shipping_cents=cost,
        updated_at=now,
    )


def ready_to_pay(order: Order, terms: DeliveryTerms, *, now: datetime) -> Order:
    """The order with its way of delivery settled, taking the only one needing no address."""
    if order.delivery_method is not None:
        return order
    method = default_method(terms)
    if method is None:
        raise NotAllowed("delivery_required", "choose how the lot reaches you before paying")
    return choose(order, terms, method, None, now=now)


def _check_paid(order: Order) -> None:
    if order.status is Status.REFUNDED:
        raise NotAllowed("order_refunded", "the order was refunded")
    if order.status is not Status.PAID:
        raise NotAllowed("order_not_paid", "the order is not paid")


def ship(order: Order, *, tracking_number: str | None, carrier: str | None, now: datetime) -> Order:
    """The seller sent (or handed over) the lot of a paid order, once."""
    _check_paid(order)
    if order.fulfilment is not Fulfilment.PENDING:
        raise NotAllowed("already_shipped", "the order is marked shipped already")
    return replace(
        order,
        fulfilment=Fulfilment.SHIPPED,
        shipped_at=now,
        tracking_number=_text(tracking_number),
        carrier=_text(carrier),
        updated_at=now,
    )


def receive(order: Order, *, now: datetime, automatically: bool = False) -> Order:
    """The buyer has the lot: shipped, or collected by them (confirmed by the buyer only)."""
    _check_paid(order)
    if order.fulfilment is Fulfilment.RECEIVED:
        raise NotAllowed("already_received", "the receipt is confirmed already")
    collected = order.delivery_method in COLLECTED and not automatically
    if order.fulfilment is not Fulfilment.SHIPPED and not collected:
        raise NotAllowed("not_shipped", "the order is not shipped yet")
    return replace(order, fulfilment=Fulfilment.RECEIVED, received_at=now, updated_at=now)


def receipt_due(order: Order, *, after: timedelta, now: datetime) -> bool:
    """Whether a shipped order's confirmation period has run out."""
    shipped = order.status is Status.PAID and order.fulfilment is Fulfilment.SHIPPED
    return shipped and order.shipped_at is not None and order.shipped_at + after <= now


def address_visible(order: Order, *, to_seller: bool) -> bool:
    """The buyer (and admins) always see the address; the seller once the order is paid."""
    return not to_seller or order.status is Status.PAID


def _text(value: str | None) -> str | None:
    cleaned = " ".join((value or "").split())
    return cleaned or None
