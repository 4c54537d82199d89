"""The site's timed-sale form: the API's body from what a seller typed, each fault named."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from auction_platform.services.web.render import build_templates
from auction_platform.services.web.sale_form import (
    SaleFormProblem,
    blank_fields,
    cancellation_words,
    changed,
    interval_text,
    sale_body,
    sale_fields,
)

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)


def fields(**overrides: str) -> dict[str, str]:
    typed = {
        "title": "  The Hartley estate ",
        "description": "Collection from Bath.",
        "first_close_at": "2026-11-28T18:00",
        "interval": "90",
        "unit": "seconds",
        "start": "now",
        "starts_at": "",
    }
    return {**typed, **overrides}


def test_a_typed_sale_becomes_the_apis_body_in_utc() -> None:
    assert sale_body(fields()) == {
        "title": "The Hartley estate",
        "description": "Collection from Bath.",
        "first_close_at": "2026-11-28T18:00:00+00:00",
        "interval_seconds": 90,
        "starts_at": None,
    }
    at = sale_body(
        fields(start="at", starts_at="2026-11-28T09:30:15", interval="2", unit="minutes")
    )
    assert (at["starts_at"], at["interval_seconds"]) == ("2026-11-28T09:30:15+00:00", 120)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "   "}, "title"),
        ({"first_close_at": "tomorrow"}, "first_close_at"),
        ({"first_close_at": ""}, "first_close_at"),
        ({"interval": "9"}, "interval"),
        ({"interval": "61", "unit": "minutes"}, "interval"),
        ({"interval": "1.5"}, "interval"),
        ({"interval": "10", "unit": "hours"}, "interval"),
        ({"start": "at", "starts_at": ""}, "starts_at"),
    ],
)
def test_a_wrong_field_is_named_before_anything_is_sent(
    overrides: dict[str, str], field: str
) -> None:
    with pytest.raises(SaleFormProblem) as problem:
        sale_body(fields(**overrides))
    assert problem.value.field == field


def test_a_new_form_closes_its_first_lot_a_day_ahead_a_minute_apart() -> None:
    blank = blank_fields(now=NOW)
    assert (blank["first_close_at"], blank["interval"], blank["unit"]) == (
        "2026-11-28T12:00",
        "1",
        "minutes",
    )
    assert blank["start"] == "now"


def test_a_draft_sale_fills_its_form_and_only_what_changed_is_sent() -> None:
    sale: dict[str, Any] = {
        "title": "The Hartley estate",
        "description": "Collection from Bath.",
        "first_close_at": "2026-11-28T18:00:00+00:00",
        "interval_seconds": 90,
        "starts_at": None,
    }
    shown = sale_fields(sale)
    assert (shown["interval"], shown["unit"], shown["start"]) == ("90", "seconds", "now")
    assert changed(sale_body(shown), sale) == {}
    minutes = sale_fields({**sale, "interval_seconds": 120, "starts_at": "2026-11-28T09:00:05Z"})
    assert (minutes["interval"], minutes["unit"]) == ("2", "minutes")
    assert (minutes["start"], minutes["starts_at"]) == ("at", "2026-11-28T09:00:05")
    edited = sale_body(
        {**shown, "title": "Hartley, part two", "first_close_at": "2026-11-28T19:00"}
    )
    assert changed(edited, sale) == {
        "title": "Hartley, part two",
        "first_close_at": "2026-11-28T19:00:00+00:00",
    }


def test_the_interval_reads_as_words() -> None:
    assert interval_text(60) == "one a minute"
    assert interval_text(120) == "one every 2 minutes"
    assert interval_text(45) == "one every 45 seconds"


# --- what the sale's page says after a cancellation -----------------------------------------


def cancellation(
    state: str, cancelled: list[int], kept: list[tuple[int, str]], *, lots: int = 5
) -> dict[str, Any]:
    """An answer of ``POST /api/v1/sales/{id}/cancel`` (lots ``lotN``, titled ``Lot N``)."""
    return {
        "sale": {
            "title": "The Hartley estate",
            "state": state,
            "lots": [{"auction_id": f"lot{n}", "title": f"Lot {n}"} for n in range(1, lots + 1)],
        },
        "cancelled": [{"lot_number": n, "auction_id": f"lot{n}"} for n in cancelled],
        "kept": [
            {"lot_number": n, "auction_id": f"lot{n}", "code": code, "message": f"refused {code}"}
            for n, code in kept
        ],
    }


def test_a_sale_cancelled_whole_names_the_lots_withdrawn() -> None:
    assert cancellation_words(cancellation("cancelled", [1, 2, 4], [])) == (
        "“The Hartley estate” is cancelled: lots 1, 2 and 4 are withdrawn.",
        "success",
    )
    assert cancellation_words(cancellation("cancelled", [3], []))[0] == (
        "“The Hartley estate” is cancelled: lot 3 is withdrawn."
    )


def test_lots_kept_are_named_with_why_and_the_message_warns() -> None:
    words, kind = cancellation_words(cancellation("running", [1, 3], [(2, "has_bids")]))
    assert kind == "warning"
    assert words == (
        "Lots 1 and 3 are withdrawn. Lot 2 (“Lot 2”) is kept: it has bids, and only the "
        "site's staff can withdraw a lot once someone has bid; it closes as planned."
    )
    several = cancellation("running", [], [(2, "has_bids"), (5, "has_bids")])
    assert cancellation_words(several)[0].startswith(
        "Lot 2 (“Lot 2”) and lot 5 (“Lot 5”) are kept: they have bids"
    )
    many = cancellation("running", [], [(n, "has_bids") for n in (1, 2, 3, 4)])
    assert cancellation_words(many)[0].startswith("Lots 1, 2, 3 and 4 are kept: they have")


def test_a_kept_lot_of_a_code_without_words_is_told_in_the_apis() -> None:
    words, _ = cancellation_words(cancellation("running", [], [(1, "something_new")]))
    assert words == "Lot 1 (“Lot 1”) is kept: refused something_new."


def test_a_repeated_cancellation_says_nothing_was_left() -> None:
    assert cancellation_words(cancellation("cancelled", [], [])) == (
        "The sale is cancelled already: no lot of it was left to withdraw.",
        "info",
    )
    assert cancellation_words(cancellation("finished", [], []))[0] == (
        "No lot was left to withdraw: every lot of the sale has ended."
    )


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        ("open", "Dutch auction · now <strong>€85.00</strong>"),
        ("scheduled", "Dutch auction · from <strong>€100.00</strong>"),
    ],
)
def test_a_dutch_lot_of_a_sale_shows_its_clocks_price_once_open(status: str, shown: str) -> None:
    macros = build_templates().get_template("_timed_sales.html").module
    lot = {
        "format": "dutch",
        "status": status,
        "currency": "EUR",
        "start_cents": 10_000,
        "current_price_cents": 8_500,  # the sale's answer prices an open one by the clock
        "bid_count": 0,
    }
    assert str(macros.lot_price(lot)) == shown  # type: ignore[attr-defined]
