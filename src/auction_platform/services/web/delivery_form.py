"""The delivery part of the listing form: shipping rates, the buyer's courier, pickup.

Pure but for reading a posted form's repeated fields. Each shipping row is a list of
countries (a multiple select: one form field per country chosen) and a cost in the
lot's currency; the form keeps a row's countries as one comma-separated field, so a
form sent back with a problem shows what was chosen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from auction_platform.contracts.auctions import DEFAULT_DELIVERY
from auction_platform.contracts.countries import country_name
from auction_platform.contracts.money import InvalidAmount, parse_amount
from auction_platform.services.web.render import amount_input

MAX_ROWS = 20  # the API's limit of rates
BLANK_ROWS = 3  # a new form's rows; an edit shows one more than it uses
_COUNTRIES_FIELD = re.compile(r"rate_(\d{1,2})_countries")
# The form field an API refusal about delivery is about.
FIELD_OF_CODE = {
    "no_delivery": "delivery",
    "too_many_rates": "delivery",
    "no_countries": "delivery",
    "unknown_country": "delivery",
    "country_twice": "delivery",
    "invalid_shipping_cost": "delivery",
    "invalid_pickup_town": "pickup_town",
}


class DeliveryProblem(ValueError):
    """A delivery field of the form that is not right: the field and the sentence."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class RateRow:
    """One row of the shipping table as the form shows it."""

    index: int
    countries: tuple[str, ...]
    cost: str


async def posted_countries(request: Request) -> dict[str, str]:
    """Each shipping row's chosen countries, comma-joined (a plain form keeps one value).

    Read after the form itself (whose CSRF token is checked): the body is cached.
    """
    chosen: dict[str, list[str]] = {}
    for name, value in parse_qsl((await request.body()).decode("utf-8", "replace")):
        if _COUNTRIES_FIELD.fullmatch(name):
            chosen.setdefault(name, []).append(value)
    return {name: ",".join(values) for name, values in chosen.items()}


def delivery_terms(fields: Mapping[str, str], currency: str) -> dict[str, Any] | None:
    """The API's ``delivery`` from the form, or ``DeliveryProblem`` for a half-filled row.

    None when the form had no delivery part (``delivery_form`` marks it, since an
    unticked box sends nothing): the lot keeps its delivery, a new one the default.
    """
    if not fields.get("delivery_form"):
        return None
    shipping: list[dict[str, Any]] = []
    for row in rate_rows(fields, blank=0):
        cost = row.cost.strip()
        if not row.countries and not cost:
            continue
        if not row.countries:
            raise DeliveryProblem("delivery", "Shipping: choose the countries of each cost.")
        try:
            cents = parse_amount(cost, currency)
        except InvalidAmount as error:
            named = ", ".join(country_name(code) for code in row.countries[:3])
            raise DeliveryProblem("delivery", f"Shipping to {named}: {error}.") from error
        shipping.append({"countries": list(row.countries), "cost_cents": cents})
    town = fields.get("pickup_town", "").strip()
    return {
        "shipping": shipping,
        "buyer_arranges": bool(fields.get("buyer_arranges")),
        "pickup_town": town or None,
    }


def delivery_fields(delivery: Mapping[str, Any] | None, currency: str) -> dict[str, str]:
    """The form's delivery fields filled in with a lot's delivery."""
    found = delivery or DEFAULT_DELIVERY
    fields = {
        "buyer_arranges": "on" if found.get("buyer_arranges") else "",
        "pickup_town": str(found.get("pickup_town") or ""),
    }
    for index, rate in enumerate(found.get("shipping") or []):
        fields[f"rate_{index}_countries"] = ",".join(rate["countries"])
        fields[f"rate_{index}_cost"] = amount_input(rate["cost_cents"], currency)
    return fields


def rate_rows(fields: Mapping[str, str], *, blank: int = 1) -> list[RateRow]:
    """The rows the form sent (or a lot has), in order, and ``blank`` empty ones after.

    A new form shows ``BLANK_ROWS``; never more than ``MAX_ROWS`` in all.
    """
    used = []
    for index in range(MAX_ROWS + 1):
        countries = tuple(
            code for code in fields.get(f"rate_{index}_countries", "").split(",") if code
        )
        cost = fields.get(f"rate_{index}_cost", "")
        if countries or cost.strip():
            used.append((countries, cost))
    count = min(max(len(used) + blank, BLANK_ROWS if blank else 0), MAX_ROWS)
    rows = used + [((), "")] * (count - len(used))
    return [RateRow(index, countries, cost) for index, (countries, cost) in enumerate(rows)]
