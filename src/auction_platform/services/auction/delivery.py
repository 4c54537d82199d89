"""How a lot reaches its buyer: flat shipping rates, the buyer's own courier, pickup.

Pure: standard library only (and the platform's contracts and domain errors). A
listing's delivery is part of its terms (``listing.Terms``), so it changes when they
may (until the first bid) and is checked with them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from auction_platform.contracts.auctions import DEFAULT_DELIVERY, DeliveryData, ShippingRateData
from auction_platform.contracts.countries import COUNTRIES
from auction_platform.core.failures import Invalid

MAX_RATES = 20
PICKUP_TOWN_LENGTH = (1, 80)


class InvalidDelivery(Invalid):
    """The delivery a listing offers is not acceptable; ``code`` says why."""


@dataclass(frozen=True, slots=True)
class ShippingRate:
    """A flat cost (minor units of the lot's currency) to each of these countries."""

    countries: tuple[str, ...]
    cost_cents: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """The ways a lot may reach its buyer; at least one is offered."""

    shipping: tuple[ShippingRate, ...] = ()
    buyer_arranges: bool = True
    pickup_town: str | None = None


def from_data(data: DeliveryData) -> Delivery:
    """A delivery from its contract shape (an event, a request, a stored row)."""
    return Delivery(
        shipping=tuple(
            ShippingRate(tuple(rate["countries"]), rate["cost_cents"]) for rate in data["shipping"]
        ),
        buyer_arranges=data["buyer_arranges"],
        pickup_town=data["pickup_town"],
    )


def to_data(delivery: Delivery) -> DeliveryData:
    """A delivery in its contract shape (``DeliveryData``)."""
    shipping: list[ShippingRateData] = [
        {"countries": list(rate.countries), "cost_cents": rate.cost_cents}
        for rate in delivery.shipping
    ]
    return {
        "shipping": shipping,
        "buyer_arranges": delivery.buyer_arranges,
        "pickup_town": delivery.pickup_town,
    }


DEFAULT = from_data(DEFAULT_DELIVERY)
# How a row that says nothing stores its delivery (the migration's default).
DEFAULT_JSON = json.dumps(DEFAULT_DELIVERY, separators=(",", ":"))


def dumps(delivery: Delivery) -> str:
    """A delivery as the JSON text a row keeps."""
    return json.dumps(to_data(delivery), separators=(",", ":"))


def loads(text: str) -> Delivery:
    """A delivery from the JSON text of its row."""
    data: DeliveryData = json.loads(text)
    return from_data(data)


def check_delivery(delivery: Delivery, *, max_cents: int) -> Delivery:
    """The delivery, normalised (codes upper case, town trimmed), or why it is refused.

    Codes: ``no_delivery`` (nothing offered), ``too_many_rates``, ``no_countries``
    (a rate to nowhere), ``unknown_country`` (not ISO 3166-1 alpha-2),
    ``country_twice`` (a country in two rates, or twice in one: which cost?),
    ``invalid_shipping_cost`` (below 0 or above the platform's limit),
    ``invalid_pickup_town``.
    """
    if len(delivery.shipping) > MAX_RATES:
        raise InvalidDelivery("too_many_rates", f"a lot offers at most {MAX_RATES} shipping rates")
    seen: set[str] = set()
    rates = tuple(_check_rate(rate, seen, max_cents=max_cents) for rate in delivery.shipping)
    town = _check_town(delivery.pickup_town)
    if not rates and not delivery.buyer_arranges and town is None:
        raise InvalidDelivery(
            "no_delivery", "offer shipping, a courier the buyer arranges, or pickup"
        )
    return Delivery(shipping=rates, buyer_arranges=delivery.buyer_arranges, pickup_town=town)


def _check_rate(rate: ShippingRate, seen: set[str], *, max_cents: int) -> ShippingRate:
    if not rate.countries:
        raise InvalidDelivery("no_countries", "a shipping rate names at least one country")
    # Lower case is forgiven; only ASCII is upper-cased ("ß".upper() is South Sudan's SS).
    countries = tuple(c.strip().upper() if c.isascii() else c for c in rate.countries)
    for code in countries:
        if code not in COUNTRIES:
            raise InvalidDelivery(
                "unknown_country", f"{code!r} is not an ISO 3166-1 alpha-2 country code"
            )
        if code in seen:
            raise InvalidDelivery(
                "country_twice", f"{code} is in two shipping rates; each country has one cost"
            )
        seen.add(code)
    if not 0 <= rate.cost_cents <= max_cents:
        raise InvalidDelivery(
            "invalid_shipping_cost", f"a shipping cost is between 0 and {max_cents}"
        )
    return ShippingRate(countries, rate.cost_cents)


def _check_town(town: str | None) -> str | None:
    if town is None:
        return None
    town = town.strip()
    low, high = PICKUP_TOWN_LENGTH
    if not low <= len(town) <= high or not town.isprintable():
        raise InvalidDelivery(
            "invalid_pickup_town", f"the pickup town is one line of {low} to {high} characters"
        )
    return town
