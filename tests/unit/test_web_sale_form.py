"""The site's timed-sale form: the API's body from what a seller typed, each fault named."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from auction_platform.services.web.sale_form import (
    SaleFormProblem,
    blank_fields,
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
