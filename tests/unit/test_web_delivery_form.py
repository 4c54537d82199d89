"""The listing form's delivery part: rows of countries and a cost, the courier, pickup."""

from __future__ import annotations

import pytest

from auction_platform.services.web.delivery_form import (
    BLANK_ROWS,
    MAX_ROWS,
    DeliveryProblem,
    RateRow,
    delivery_fields,
    delivery_terms,
    rate_rows,
)

SENT = {"delivery_form": "1"}


def test_a_form_without_its_delivery_part_says_nothing_of_delivery() -> None:
    assert delivery_terms({"title": "A lot"}, "EUR") is None


def test_rows_become_rates_and_empty_rows_are_skipped() -> None:
    fields = {
        **SENT,
        "rate_0_countries": "DE,AT",
        "rate_0_cost": "6.90",
        "rate_1_countries": "",
        "rate_1_cost": " ",
        "rate_2_countries": "FR",
        "rate_2_cost": "0",
        "pickup_town": "  Leipzig ",
    }
    assert delivery_terms(fields, "EUR") == {
        "shipping": [
            {"countries": ["DE", "AT"], "cost_cents": 690},
            {"countries": ["FR"], "cost_cents": 0},
        ],
        "buyer_arranges": False,
        "pickup_town": "Leipzig",
    }


def test_an_unticked_courier_and_no_town_offer_nothing_but_the_rates() -> None:
    assert delivery_terms({**SENT, "buyer_arranges": "on"}, "JPY") == {
        "shipping": [],
        "buyer_arranges": True,
        "pickup_town": None,
    }


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ({"rate_0_cost": "5"}, "choose the countries"),
        ({"rate_0_countries": "DE"}, "Shipping to Germany: enter an amount"),
        ({"rate_0_countries": "DE", "rate_0_cost": "five"}, "as digits"),
        ({"rate_0_countries": "JP", "rate_0_cost": "1.5"}, "JPY has 0 decimal places"),
    ],
)
def test_a_half_filled_row_is_named(row: dict[str, str], says: str) -> None:
    currency = "JPY" if row.get("rate_0_countries") == "JP" else "EUR"
    with pytest.raises(DeliveryProblem, match=says) as problem:
        delivery_terms({**SENT, **row}, currency)
    assert problem.value.field == "delivery"


def test_a_lots_delivery_fills_the_form_and_comes_back_the_same() -> None:
    delivery = {
        "shipping": [{"countries": ["DE", "AT"], "cost_cents": 690}],
        "buyer_arranges": True,
        "pickup_town": None,
    }
    fields = delivery_fields(delivery, "EUR")
    assert fields == {
        "buyer_arranges": "on",
        "pickup_town": "",
        "rate_0_countries": "DE,AT",
        "rate_0_cost": "6.90",
    }
    assert delivery_terms({**SENT, **fields}, "EUR") == delivery
    assert delivery_fields(None, "EUR") == {"buyer_arranges": "on", "pickup_town": ""}


def test_the_form_shows_its_rows_and_one_more_within_the_limit() -> None:
    assert rate_rows({}) == [RateRow(i, (), "") for i in range(BLANK_ROWS)]
    used = {f"rate_{i}_countries": "DE" for i in range(5)}
    assert len(rate_rows(used)) == 6
    # Rows the form sent with gaps come back together, in order.
    gaps = {"rate_3_countries": "FR", "rate_3_cost": "2", "rate_0_cost": "1"}
    assert rate_rows(gaps, blank=0) == [RateRow(0, (), "1"), RateRow(1, ("FR",), "2")]
    full = {f"rate_{i}_countries": "DE" for i in range(MAX_ROWS)}
    assert len(rate_rows(full)) == MAX_ROWS
