"""The site's formats: the listing form's format and Dutch clock, the clock's price, the words."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jinja2 import Environment

from auction_platform.contracts.auctions import AuctionFormat
from auction_platform.contracts.books import PublicBook
from auction_platform.services.web import formats
from auction_platform.services.web.listing_form import (
    FormProblem,
    blank_fields,
    changed_terms,
    listing_terms,
    lot_fields,
)
from auction_platform.services.web.render import build_templates

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
FIELDS = {
    "title": "Brass ship's clock",
    "category": "clocks",
    "currency": "EUR",
    "start_price": "100",
    "start": "now",
    "tz_offset": "0",
    "duration": "3600",
    "soft_close": "on",
}
DUTCH = {
    **FIELDS,
    "format": "dutch",
    "dutch_floor": "40",
    "dutch_step": "5",
    "dutch_tick": "30",
    "dutch_tick_unit": "seconds",
}
CLOCK = {
    "start_cents": 10_000,
    "floor_cents": 4_000,
    "step_cents": 500,
    "tick_seconds": 30.0,
    "starts_at": NOW.isoformat(),
    "next_drop_at": None,
}


def test_the_site_offers_every_format_the_platform_runs() -> None:
    assert typing.get_args(AuctionFormat) == formats.FORMATS
    assert typing.get_args(PublicBook.model_fields["format"].annotation) == formats.FORMATS
    assert [value for value, _, _ in formats.CHOICES] == list(formats.FORMATS)
    assert set(formats.LABELS) == set(formats.FORMATS)


def test_a_new_form_is_an_english_auction_and_sends_its_format() -> None:
    fields = blank_fields()
    assert fields["format"] == "english"
    terms = listing_terms({**FIELDS, "format": fields["format"]}, now=NOW)
    assert terms["format"] == "english"
    assert "dutch" not in terms
    assert terms["soft_close"] is not None


def test_a_form_without_a_format_is_english() -> None:
    assert listing_terms(FIELDS, now=NOW)["format"] == "english"


@pytest.mark.parametrize("fmt", ["sealed_first_price", "sealed_second_price"])
def test_a_sealed_lot_keeps_its_reserve_and_drops_the_soft_close(fmt: str) -> None:
    terms = listing_terms({**FIELDS, "format": fmt, "reserve_price": "150"}, now=NOW)
    assert terms["format"] == fmt
    assert terms["reserve_cents"] == 15_000
    # The box is ticked by default; only rising bids have a soft close.
    assert terms["soft_close"] is None
    assert "dutch" not in terms


def test_a_dutch_lot_sends_its_clock_in_cents_and_whole_seconds() -> None:
    terms = listing_terms(DUTCH, now=NOW)
    assert terms["format"] == "dutch"
    assert terms["dutch"] == {"floor_cents": 4_000, "step_cents": 500, "tick_seconds": 30}
    assert terms["soft_close"] is None
    minutes = listing_terms({**DUTCH, "dutch_tick": "1.5", "dutch_tick_unit": "minutes"}, now=NOW)
    assert minutes["dutch"]["tick_seconds"] == 90


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"format": "auction"}, "format", "Format: choose"),
        ({"format": "DUTCH"}, "format", "Format: choose"),
        ({"dutch_floor": ""}, "dutch_floor", "Lowest price: a Dutch auction needs it."),
        ({"dutch_floor": "100"}, "dutch_floor", "below the start price"),
        ({"dutch_floor": "120"}, "dutch_floor", "below the start price"),
        ({"dutch_floor": "0"}, "dutch_floor", "more than zero"),
        ({"dutch_step": "five"}, "dutch_step", "Price drop: enter an amount as digits"),
        ({"dutch_step": "0"}, "dutch_step", "more than zero"),
        ({"dutch_tick": ""}, "dutch_tick", "Price drops every"),
        ({"dutch_tick": "ten"}, "dutch_tick", "Price drops every"),
        ({"dutch_tick": "-30"}, "dutch_tick", "Price drops every"),
        ({"dutch_tick": "2.5", "dutch_tick_unit": "seconds"}, "dutch_tick", "Price drops"),
        ({"dutch_tick": "nan"}, "dutch_tick", "Price drops every"),
        ({"dutch_tick_unit": "fortnights"}, "dutch_tick", "seconds or minutes"),
        ({"reserve_price": "60"}, "reserve_price", "a Dutch auction has none"),
        ({"buy_now_price": "200"}, "buy_now_price", "only rising bids offer one"),
    ],
)
def test_a_dutch_form_that_is_not_right_names_its_field(
    changes: dict[str, str], field: str, words: str
) -> None:
    with pytest.raises(FormProblem) as refused:
        listing_terms({**DUTCH, **changes}, now=NOW)
    assert refused.value.field == field
    assert words in refused.value.message


def test_a_sealed_lot_with_a_buy_it_now_price_is_refused_on_that_field() -> None:
    with pytest.raises(FormProblem) as refused:
        listing_terms({**FIELDS, "format": "sealed_first_price", "buy_now_price": "300"}, now=NOW)
    assert refused.value.field == "buy_now_price"


def test_the_clock_fields_of_another_format_are_ignored() -> None:
    # Without the page's script every field is sent: a Dutch clock typed in, then
    # another format chosen, sends no clock.
    terms = listing_terms({**DUTCH, "format": "sealed_second_price"}, now=NOW)
    assert "dutch" not in terms


def dutch_lot(**values: Any) -> dict[str, Any]:
    start = NOW + timedelta(days=1)
    shown = {
        "status": "scheduled",
        "title": "Brass ship's clock",
        "description": "",
        "category": "clocks",
        "images": [],
        "currency": "EUR",
        "start_cents": 10_000,
        "reserve_cents": None,
        "buy_now_cents": None,
        "starts_at": start.isoformat(),
        "scheduled_ends_at": (start + timedelta(hours=1)).isoformat(),
        "duration_seconds": 3_600,
        "soft_close": None,
        "format": "dutch",
        "dutch": {"floor_cents": 4_000, "step_cents": 500, "tick_seconds": 120},
    }
    return {**shown, **values}


def test_a_dutch_lots_form_shows_its_clock_and_sends_nothing_unchanged() -> None:
    lot = dutch_lot()
    fields = lot_fields(lot, now=NOW)
    assert fields["format"] == "dutch"
    assert (fields["dutch_floor"], fields["dutch_step"]) == ("40.00", "5.00")
    assert (fields["dutch_tick"], fields["dutch_tick_unit"]) == ("2", "minutes")
    assert changed_terms(listing_terms(fields, now=NOW, current=lot), lot) == {}
    odd = lot_fields(dutch_lot(dutch={**lot["dutch"], "tick_seconds": 45}), now=NOW)
    assert (odd["dutch_tick"], odd["dutch_tick_unit"]) == ("45", "seconds")


def test_an_edit_sends_a_new_format_or_clock_only() -> None:
    lot = dutch_lot()
    fields = lot_fields(lot, now=NOW)
    slower = listing_terms({**fields, "dutch_tick": "5"}, now=NOW, current=lot)
    assert changed_terms(slower, lot) == {
        "dutch": {"floor_cents": 4_000, "step_cents": 500, "tick_seconds": 300}
    }
    sealed = listing_terms({**fields, "format": "sealed_first_price"}, now=NOW, current=lot)
    assert changed_terms(sealed, lot) == {"format": "sealed_first_price"}


def test_a_lot_from_before_formats_is_english_and_its_edit_sends_no_format() -> None:
    lot = dutch_lot(format=None, dutch=None, soft_close=None)
    fields = lot_fields(lot, now=NOW)
    assert fields["format"] == "english"
    assert "format" not in changed_terms(listing_terms(fields, now=NOW, current=lot), lot)


def test_the_clock_falls_a_step_a_tick_down_to_its_floor() -> None:
    assert formats.price_at(CLOCK, NOW - timedelta(minutes=5)) == 10_000
    assert formats.price_at(CLOCK, NOW) == 10_000
    assert formats.price_at(CLOCK, NOW + timedelta(seconds=29.9)) == 10_000
    assert formats.price_at(CLOCK, NOW + timedelta(seconds=30)) == 9_500
    assert formats.price_at(CLOCK, NOW + timedelta(seconds=95)) == 8_500
    assert formats.price_at(CLOCK, NOW + timedelta(days=1)) == 4_000
    assert formats.next_drop_at(CLOCK, NOW + timedelta(seconds=95)) == NOW + timedelta(minutes=2)
    assert formats.next_drop_at(CLOCK, NOW + timedelta(days=1)) is None


def test_the_sites_clock_is_the_bidding_services() -> None:
    from auction_platform.services.bidding import dutch

    tick = timedelta(seconds=CLOCK["tick_seconds"])
    for seconds in (0, 1, 29, 30, 31, 59, 60, 299, 300, 359, 360, 10_000):
        at = NOW + timedelta(seconds=seconds)
        assert formats.price_at(CLOCK, at) == dutch.price_at(10_000, 4_000, 500, tick, NOW, at), (
            seconds
        )
        assert formats.next_drop_at(CLOCK, at) == dutch.next_drop_at(
            10_000, 4_000, 500, tick, NOW, at
        ), seconds


def test_a_lot_without_a_book_yet_has_its_clock_from_the_listing() -> None:
    lot = dutch_lot(status="open", starts_at=NOW.isoformat())
    clock = formats.clock_of(lot, None)
    assert clock is not None
    assert formats.price_at(clock, NOW + timedelta(minutes=4)) == 9_000
    # The book's clock, when there is one, is the one shown.
    assert formats.clock_of(lot, {"dutch": CLOCK}) == CLOCK
    assert formats.clock_of(dutch_lot(format="english", dutch=None), None) is None


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "every second"),
        (10, "every 10 seconds"),
        (60, "every minute"),
        (90, "every 1 min 30 s"),
        (300, "every 5 minutes"),
        (3_600, "every hour"),
        (7_200, "every 2 hours"),
        (5_400, "every 1 h 30 min"),
    ],
)
def test_the_interval_in_words(seconds: int, words: str) -> None:
    assert formats.every_text(seconds) == words


def test_the_clock_in_words() -> None:
    assert formats.clock_text(CLOCK, "EUR") == "falls by €5.00 every 30 seconds until €40.00"


def test_refusals_of_the_new_formats_in_words() -> None:
    raised = formats.refusal_words("sealed_bid_not_raised", currency="EUR", own_cents=12_000)
    assert raised == "A sealed bid can only be raised: bid more than your bid of €120.00."
    assert formats.refusal_words("sealed_bid_final", currency="EUR") == (
        "A sealed bid is final: it cannot be withdrawn or lowered."
    )
    assert "Dutch auction: it takes no bids" in str(
        formats.refusal_words("dutch_accept_only", currency="EUR")
    )
    assert formats.refusal_words("below_minimum", currency="EUR") is None


def test_format_of_reads_a_lot_or_a_book() -> None:
    assert formats.format_of(None) == "english"
    assert formats.format_of({}) == "english"
    assert formats.format_of({"format": "dutch"}) == "dutch"
    assert formats.format_of({"format": "something new"}) == "english"
    assert formats.is_sealed("sealed_second_price") and not formats.is_sealed("dutch")


@pytest.fixture(scope="module")
def templates() -> Environment:
    return build_templates()


def card(templates: Environment, lot: dict[str, Any]) -> str:
    macro = templates.get_template("_macros.html").module.card  # type: ignore[attr-defined]
    return str(macro(lot))


def test_a_sealed_card_shows_its_bid_count_never_a_price(templates: Environment) -> None:
    lot = {
        "id": "a1",
        "title": "Oak desk",
        "status": "open",
        "format": "sealed_first_price",
        "currency": "EUR",
        "current_price_cents": 10_000,
        "bid_count": 3,
        "ends_at": NOW.isoformat(),
    }
    shown = card(templates, lot)
    assert "Bids hidden · 3 bids" in shown
    assert "€" not in shown
    assert "Bids hidden · 1 bid<" in card(templates, {**lot, "bid_count": 1})
    # After the close it shows what it sold for, as any lot does.
    assert "€100.00" in card(templates, {**lot, "status": "closed"})


def test_a_dutch_card_shows_the_clocks_price_when_drawn_and_a_later_one_its_start() -> None:
    # A search hit keeps the start price; the card works the clock out at the page's time.
    templates = build_templates(lambda: NOW + timedelta(minutes=3, seconds=5))
    lot = {
        "id": "a2",
        "title": "Copper kettle",
        "status": "open",
        "format": "dutch",
        "currency": "EUR",
        "start_cents": 8_000,
        "current_price_cents": 8_000,
        "bid_count": 0,
        "starts_at": NOW.isoformat(),
        "ends_at": (NOW + timedelta(hours=1)).isoformat(),
        "dutch": {"floor_cents": 6_000, "step_cents": 500, "tick_seconds": 60},
    }
    shown = card(templates, lot)
    assert "Now €65.00" in shown  # three drops of €5
    assert "0 bids" not in shown  # a Dutch lot takes no bids
    # The clock stops at the floor and at the lot's end.
    assert "Now €60.00" in card(build_templates(lambda: NOW + timedelta(days=2)), lot)
    ended_early = {**lot, "ends_at": (NOW + timedelta(minutes=1, seconds=30)).isoformat()}
    assert "Now €75.00" in card(templates, ended_early)
    assert "From €80.00" in card(templates, {**lot, "status": "scheduled"})
    # A search hit names no start price: search has priced it by the clock already.
    hit = {k: v for k, v in lot.items() if k != "start_cents"} | {"current_price_cents": 7_000}
    assert "Now €70.00" in card(templates, hit)
    assert "Dutch" not in card(templates, {**lot, "format": "english"})


@pytest.mark.parametrize(
    ("fmt", "words"),
    [
        ("sealed_first_price", "Sealed bids"),
        ("sealed_second_price", "Sealed bids, second price"),
        ("dutch", "Dutch auction"),
    ],
)
def test_a_card_names_a_format_other_than_rising_bids(
    templates: Environment, fmt: str, words: str
) -> None:
    lot = {
        "id": "a3",
        "title": "Brass bell",
        "status": "closed",
        "format": fmt,
        "currency": "EUR",
        "current_price_cents": 4_000,
        "bid_count": 2,
    }
    assert f'data-testid="card-format-name">{words}</span>' in card(templates, lot)
    for english in ({**lot, "format": "english"}, {k: v for k, v in lot.items() if k != "format"}):
        assert "card-format-name" not in card(templates, english)


def test_the_catalogue_offers_every_format_with_the_hits_search_counted() -> None:
    facets = [{"value": "dutch", "count": 2}, {"value": "english", "count": 5}]
    assert formats.filter_choices(facets) == [
        ("english", "Rising bids (5)"),
        ("sealed_first_price", "Sealed bids, first price"),
        ("sealed_second_price", "Sealed bids, second price"),
        ("dutch", "Dutch auction (2)"),
    ]
    assert [value for value, _ in formats.filter_choices([])] == list(formats.FORMATS)
