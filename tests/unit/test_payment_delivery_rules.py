"""How a lot reaches its buyer: the choice, its cost, shipment and receipt (pure rules)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from auction_platform.contracts.auctions import DEFAULT_DELIVERY
from auction_platform.services.payment import delivery, views
from auction_platform.services.payment.domain import (
    DeliveryMethod,
    DeliveryTerms,
    Fulfilment,
    NotAllowed,
    Order,
    ShippingRate,
    Status,
    Terms,
    expire,
    new_order,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TERMS = Terms(Decimal("5"), Decimal("10"), timedelta(days=4))
EUROPE = ShippingRate(("DE", "AT", "FR"), 1_500)
WORLD = ShippingRate(("US", "DE"), 4_000)
SHIPS = DeliveryTerms(shipping=(EUROPE, WORLD), buyer_arranges=False, pickup_town=None)
EVERY_WAY = DeliveryTerms(shipping=(EUROPE,), buyer_arranges=True, pickup_town="Leipzig")
HOME = {"name": "Bob Buyer", "line1": " 1  Main St ", "city": "Berlin", "country": "de"}
SHIPPING, ARRANGES, PICKUP = (
    DeliveryMethod.SHIPPING,
    DeliveryMethod.BUYER_ARRANGES,
    DeliveryMethod.PICKUP,
)


def an_order(terms: DeliveryTerms | None = None) -> Order:
    return new_order(
        order_id="o1",
        auction_id="a1",
        title="A Leica M3",
        buyer_id="bob",
        seller_id="sam",
        currency="EUR",
        hammer_cents=10_000,
        terms=TERMS,
        now=NOW,
        delivery_terms=terms,
    )


def refused(code: str) -> pytest.RaisesExc[NotAllowed]:
    return pytest.raises(NotAllowed, check=lambda error: error.code == code)


def paid(order: Order) -> Order:
    return replace(order, status=Status.PAID, paid_at=NOW, paid_cents=order.total_cents)


def test_shipping_costs_the_cheapest_rate_that_reaches_the_country() -> None:
    chosen = delivery.choose(an_order(), SHIPS, SHIPPING, HOME, now=NOW)
    assert (chosen.delivery_method, chosen.shipping_cents) == (SHIPPING, 1_500)
    assert chosen.total_cents == 10_000 + 500 + 1_500
    assert chosen.delivery_terms == SHIPS
    assert chosen.delivery_address is not None
    assert chosen.delivery_address["line1"] == "1 Main St"
    assert chosen.delivery_address["country"] == "DE"
    assert chosen.delivery_address["line2"] == ""
    us = delivery.choose(an_order(), SHIPS, SHIPPING, {**HOME, "country": "US"}, now=NOW)
    assert us.shipping_cents == 4_000


def test_no_rate_for_the_country_is_refused() -> None:
    with refused("no_shipping_to_country"):
        delivery.choose(an_order(), SHIPS, SHIPPING, {**HOME, "country": "JP"}, now=NOW)


def test_shipping_needs_a_complete_address() -> None:
    with refused("address_required"):
        delivery.choose(an_order(), SHIPS, SHIPPING, None, now=NOW)
    with refused("address_incomplete"):
        delivery.choose(an_order(), SHIPS, SHIPPING, {**HOME, "city": " "}, now=NOW)


def test_only_an_offered_method_is_chosen() -> None:
    with refused("method_not_offered"):
        delivery.choose(an_order(), SHIPS, PICKUP, None, now=NOW)
    with refused("method_not_offered"):
        delivery.choose(an_order(), views.DEFAULT_TERMS, SHIPPING, HOME, now=NOW)


def test_collections_cost_nothing_and_pickup_keeps_no_address() -> None:
    shipped = delivery.choose(an_order(), EVERY_WAY, SHIPPING, HOME, now=NOW)
    pickup = delivery.choose(shipped, EVERY_WAY, PICKUP, HOME, now=NOW)
    assert (pickup.shipping_cents, pickup.delivery_address) == (0, None)
    assert pickup.total_cents == 10_500
    courier = delivery.choose(an_order(), EVERY_WAY, ARRANGES, HOME, now=NOW)
    assert courier.shipping_cents == 0 and courier.delivery_address is not None
    assert delivery.choose(an_order(), EVERY_WAY, ARRANGES, None, now=NOW).delivery_address is None


def test_the_choice_is_made_only_while_awaiting_payment() -> None:
    with refused("order_paid"):
        delivery.choose(paid(an_order()), SHIPS, SHIPPING, HOME, now=NOW)
    late = NOW + timedelta(days=5)
    with refused("order_expired"):
        delivery.choose(expire(an_order(), now=late), SHIPS, SHIPPING, HOME, now=late)


def test_paying_without_a_choice_takes_the_only_way_needing_no_address() -> None:
    default = views.delivery_terms(DEFAULT_DELIVERY)
    assert delivery.default_method(default) is ARRANGES
    ready = delivery.ready_to_pay(an_order(), default, now=NOW)
    assert (ready.delivery_method, ready.shipping_cents) == (ARRANGES, 0)
    with_shipping = replace(SHIPS, buyer_arranges=True)
    assert delivery.ready_to_pay(an_order(), with_shipping, now=NOW).delivery_method is ARRANGES
    with refused("delivery_required"):
        delivery.ready_to_pay(an_order(), SHIPS, now=NOW)
    with refused("delivery_required"):  # two ways without an address: the buyer says which
        delivery.ready_to_pay(an_order(), EVERY_WAY, now=NOW)
    chosen = delivery.choose(an_order(), SHIPS, SHIPPING, HOME, now=NOW)
    assert delivery.ready_to_pay(chosen, SHIPS, now=NOW) is chosen


def test_the_seller_ships_a_paid_order_once() -> None:
    order = delivery.choose(an_order(), SHIPS, SHIPPING, HOME, now=NOW)
    with refused("order_not_paid"):
        delivery.ship(order, tracking_number=None, carrier=None, now=NOW)
    shipped = delivery.ship(paid(order), tracking_number=" 1Z 999 ", carrier="", now=NOW)
    assert (shipped.fulfilment, shipped.shipped_at) == (Fulfilment.SHIPPED, NOW)
    assert (shipped.tracking_number, shipped.carrier) == ("1Z 999", None)
    with refused("already_shipped"):
        delivery.ship(shipped, tracking_number=None, carrier=None, now=NOW)


def test_a_refunded_order_is_neither_shipped_nor_received() -> None:
    refunded = replace(paid(an_order()), status=Status.REFUNDED)
    with refused("order_refunded"):
        delivery.ship(refunded, tracking_number=None, carrier=None, now=NOW)
    shipped = replace(refunded, fulfilment=Fulfilment.SHIPPED, shipped_at=NOW)
    with refused("order_refunded"):
        delivery.receive(shipped, now=NOW)
    assert not delivery.receipt_due(shipped, after=timedelta(days=1), now=NOW + timedelta(days=2))


def test_receipt_follows_shipment_or_a_collection() -> None:
    shipping = paid(delivery.choose(an_order(), SHIPS, SHIPPING, HOME, now=NOW))
    with refused("not_shipped"):
        delivery.receive(shipping, now=NOW)
    shipped = delivery.ship(shipping, tracking_number=None, carrier=None, now=NOW)
    received = delivery.receive(shipped, now=NOW + timedelta(days=1))
    assert (received.fulfilment, received.received_at) == (
        Fulfilment.RECEIVED,
        NOW + timedelta(days=1),
    )
    with refused("already_received"):
        delivery.receive(received, now=NOW)
    pickup = paid(delivery.choose(an_order(), EVERY_WAY, PICKUP, None, now=NOW))
    assert delivery.receive(pickup, now=NOW).fulfilment is Fulfilment.RECEIVED
    with refused("not_shipped"):  # the period runs from a shipment only
        delivery.receive(pickup, now=NOW, automatically=True)
    with refused("order_not_paid"):
        delivery.receive(an_order(), now=NOW)


def test_the_receipt_falls_due_when_the_period_after_shipment_ran_out() -> None:
    order = paid(delivery.choose(an_order(), SHIPS, SHIPPING, HOME, now=NOW))
    shipped = delivery.ship(order, tracking_number=None, carrier=None, now=NOW)
    period = timedelta(days=14)
    assert not delivery.receipt_due(order, after=period, now=NOW + period)
    assert not delivery.receipt_due(shipped, after=period, now=NOW + period - timedelta(seconds=1))
    assert delivery.receipt_due(shipped, after=period, now=NOW + period)
    received = delivery.receive(shipped, now=NOW + period, automatically=True)
    assert not delivery.receipt_due(received, after=period, now=NOW + 2 * period)


def test_the_seller_sees_the_address_once_paid() -> None:
    order = delivery.choose(an_order(), SHIPS, SHIPPING, HOME, now=NOW)
    assert delivery.address_visible(order, to_seller=False)
    assert not delivery.address_visible(order, to_seller=True)
    assert delivery.address_visible(paid(order), to_seller=True)


def test_terms_travel_as_the_listing_contract_spells_them() -> None:
    data = views.delivery_data(EVERY_WAY)
    assert data == {
        "shipping": [{"countries": ["DE", "AT", "FR"], "cost_cents": 1_500}],
        "buyer_arranges": True,
        "pickup_town": "Leipzig",
    }
    assert views.delivery_terms(data) == EVERY_WAY
    assert DeliveryTerms() == views.DEFAULT_TERMS
    with pytest.raises(ValueError, match="malformed"):
        views.delivery_terms({"shipping": [{"countries": ["DE"]}]})
    with pytest.raises(ValueError, match="negative"):
        views.delivery_terms({"shipping": [{"countries": ["DE"], "cost_cents": -1}]})
