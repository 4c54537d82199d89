"""How a lot reaches its buyer: the rules a listing's delivery must pass."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from auction_platform.contracts.auctions import DEFAULT_DELIVERY
from auction_platform.contracts.countries import BY_NAME, COUNTRIES, country_name
from auction_platform.services.auction import delivery
from auction_platform.services.auction.delivery import (
    MAX_RATES,
    Delivery,
    InvalidDelivery,
    ShippingRate,
    check_delivery,
)
from auction_platform.services.auction.domain import edit, new_lot
from auction_platform.services.auction.listing import Limits
from support.auctions import plain_terms

MAX = 1_000_000
NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
LIMITS = Limits(
    min_duration=timedelta(minutes=1),
    max_duration=timedelta(days=30),
    max_amount_cents=MAX,
    max_images=3,
)
TERMS = plain_terms(NOW + timedelta(hours=1), NOW + timedelta(days=1))


def refusal(offer: Delivery) -> str:
    with pytest.raises(InvalidDelivery) as refused:
        check_delivery(offer, max_cents=MAX)
    return refused.value.code


def test_a_listing_that_says_nothing_lets_the_buyer_arrange() -> None:
    lot = new_lot(lot_id="l1", seller_id="s", terms=TERMS, limits=LIMITS, now=NOW)
    assert lot.terms.delivery == delivery.DEFAULT
    assert delivery.to_data(lot.terms.delivery) == DEFAULT_DELIVERY


def test_each_way_alone_is_enough() -> None:
    for offer in (
        Delivery(shipping=(ShippingRate(("DE",), 500),), buyer_arranges=False),
        Delivery(buyer_arranges=True),
        Delivery(buyer_arranges=False, pickup_town="Leipzig"),
    ):
        assert check_delivery(offer, max_cents=MAX) == offer


def test_nothing_offered_is_refused() -> None:
    assert refusal(Delivery(buyer_arranges=False)) == "no_delivery"


def test_codes_are_upper_cased_and_the_town_trimmed() -> None:
    offer = Delivery(shipping=(ShippingRate((" de", "at"), 0),), pickup_town="  Graz ")
    assert check_delivery(offer, max_cents=MAX) == Delivery(
        shipping=(ShippingRate(("DE", "AT"), 0),), pickup_town="Graz"
    )


@pytest.mark.parametrize("code", ["XX", "DEU", "", "ss\u00df", "\u00df", "E1", "uk"])
def test_a_country_must_be_iso_alpha_2(code: str) -> None:
    offer = Delivery(shipping=(ShippingRate((code,), 100),))
    assert refusal(offer) == "unknown_country"


def test_a_rate_to_nowhere_is_refused() -> None:
    assert refusal(Delivery(shipping=(ShippingRate((), 100),))) == "no_countries"


@pytest.mark.parametrize(
    "rates",
    [
        (ShippingRate(("DE", "FR"), 100), ShippingRate(("AT", "FR"), 200)),
        (ShippingRate(("DE", "de"), 100),),
    ],
)
def test_a_country_has_one_cost(rates: tuple[ShippingRate, ...]) -> None:
    assert refusal(Delivery(shipping=rates)) == "country_twice"


@pytest.mark.parametrize("cost", [-1, MAX + 1])
def test_a_shipping_cost_is_bounded(cost: int) -> None:
    assert refusal(Delivery(shipping=(ShippingRate(("DE",), cost),))) == "invalid_shipping_cost"


def test_a_shipping_cost_may_be_free_or_the_limit() -> None:
    for cost in (0, MAX):
        offer = Delivery(shipping=(ShippingRate(("DE",), cost),))
        assert check_delivery(offer, max_cents=MAX) == offer


def test_at_most_twenty_rates() -> None:
    codes = sorted(COUNTRIES)
    rates = tuple(ShippingRate((code,), 100) for code in codes[: MAX_RATES + 1])
    assert refusal(Delivery(shipping=rates)) == "too_many_rates"
    offer = Delivery(shipping=rates[:MAX_RATES])
    assert check_delivery(offer, max_cents=MAX) == offer


@pytest.mark.parametrize("town", ["", "   ", "x" * 81, "Lei\npzig", "Lei\x00pzig", "\u200b"])
def test_a_pickup_town_is_one_short_line(town: str) -> None:
    assert refusal(Delivery(pickup_town=town)) == "invalid_pickup_town"


def test_a_pickup_town_may_be_eighty_characters_of_any_script() -> None:
    for town in ("x" * 80, "Zürich", "Łódź", "東京"):
        assert check_delivery(Delivery(pickup_town=town), max_cents=MAX).pickup_town == town


def test_delivery_is_checked_with_the_listing() -> None:
    bad = replace(TERMS, delivery=Delivery(buyer_arranges=False))
    with pytest.raises(InvalidDelivery, match="offer shipping"):
        new_lot(lot_id="l1", seller_id="s", terms=bad, limits=LIMITS, now=NOW)


def test_delivery_changes_until_the_first_bid_and_not_after() -> None:
    lot = new_lot(lot_id="l1", seller_id="s", terms=TERMS, limits=LIMITS, now=NOW)
    pickup = Delivery(buyer_arranges=False, pickup_town="Leipzig")
    assert edit(lot, {"delivery": pickup}, limits=LIMITS, now=NOW).terms.delivery == pickup
    with pytest.raises(InvalidDelivery):
        edit(lot, {"delivery": Delivery(buyer_arranges=False)}, limits=LIMITS, now=NOW)
    bid_on = replace(lot, bid_count=1)
    with pytest.raises(Exception, match="has bids") as refused:
        edit(bid_on, {"delivery": pickup}, limits=LIMITS, now=NOW)
    assert getattr(refused.value, "code", None) == "has_bids"


def test_a_delivery_survives_its_json_text() -> None:
    offer = Delivery(
        shipping=(ShippingRate(("DE", "AT"), 690), ShippingRate(("FR",), 1_290)),
        buyer_arranges=False,
        pickup_town="Leipzig",
    )
    assert delivery.loads(delivery.dumps(offer)) == offer
    assert delivery.loads(delivery.DEFAULT_JSON) == delivery.DEFAULT


def test_countries_have_names_and_are_listed_by_name() -> None:
    assert len(COUNTRIES) == 249
    assert country_name("DE") == "Germany" and country_name("ZZ") == "ZZ"
    names = [name for _, name in BY_NAME]
    assert names[0] == "Afghanistan" and names.index("Åland Islands") < names.index("Albania")
