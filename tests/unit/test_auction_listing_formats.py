"""What each format of sale takes when a lot is listed, edited or relisted (no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auction_platform.services.auction import domain, views
from auction_platform.services.auction.domain import Outcome, Status
from auction_platform.services.auction.listing import (
    DEFAULT_INCREMENTS,
    DEFAULT_SOFT_CLOSE,
    DUTCH_TICK_SECONDS,
    DutchClock,
    Format,
    InvalidTerms,
    Limits,
    Terms,
    check_terms,
    default_soft_close,
    revise,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
LIMITS = Limits(
    min_duration=timedelta(minutes=1),
    max_duration=timedelta(days=30),
    max_amount_cents=1_000_000_00,
    max_images=3,
)
ENGLISH = Terms(
    title="A 1960s Leica M3",
    description="",
    category="cameras",
    images=(),
    currency="EUR",
    start_cents=10_000,
    reserve_cents=None,
    buy_now_cents=None,
    increments=DEFAULT_INCREMENTS,
    starts_at=NOW + timedelta(hours=1),
    ends_at=NOW + timedelta(days=7),
)
SEALED = replace(ENGLISH, format=Format.SEALED_FIRST_PRICE, soft_close=None)
VICKREY = replace(SEALED, format=Format.SEALED_SECOND_PRICE)
CLOCK = DutchClock(floor_cents=2_000, step_cents=500, tick_seconds=60)
DUTCH = replace(SEALED, format=Format.DUTCH, dutch=CLOCK)


def refused(terms: Terms, **changes: Any) -> str:
    with pytest.raises(InvalidTerms) as refusal:
        check_terms(replace(terms, **changes), limits=LIMITS)
    return refusal.value.code


@pytest.mark.parametrize("terms", [ENGLISH, SEALED, VICKREY, DUTCH])
def test_every_format_lists_with_its_own_terms(terms: Terms) -> None:
    assert check_terms(terms, limits=LIMITS) == terms


def test_a_sealed_lot_may_have_a_reserve() -> None:
    assert check_terms(replace(VICKREY, reserve_cents=20_000), limits=LIMITS).reserve_cents == (
        20_000
    )


@pytest.mark.parametrize("terms", [SEALED, VICKREY, DUTCH])
def test_sealed_and_dutch_lots_take_no_buy_it_now_and_no_soft_close(terms: Terms) -> None:
    assert refused(terms, buy_now_cents=50_000) == "buy_now_not_offered"
    assert refused(terms, soft_close=DEFAULT_SOFT_CLOSE) == "soft_close_not_offered"


def test_a_dutch_lot_takes_no_reserve_and_needs_its_clock() -> None:
    assert refused(DUTCH, reserve_cents=10_000) == "reserve_not_offered"
    assert refused(DUTCH, dutch=None) == "dutch_clock_required"


@pytest.mark.parametrize("terms", [ENGLISH, SEALED, VICKREY])
def test_only_a_dutch_lot_has_a_clock(terms: Terms) -> None:
    assert refused(terms, dutch=CLOCK) == "dutch_clock_not_offered"


@pytest.mark.parametrize(
    ("clock", "code"),
    [
        (replace(CLOCK, floor_cents=0), "invalid_dutch_floor"),
        (replace(CLOCK, floor_cents=10_000), "invalid_dutch_floor"),  # the start price
        (replace(CLOCK, floor_cents=12_000), "invalid_dutch_floor"),
        (replace(CLOCK, step_cents=0), "invalid_dutch_step"),
        (replace(CLOCK, step_cents=LIMITS.max_amount_cents + 1), "invalid_dutch_step"),
        (replace(CLOCK, tick_seconds=DUTCH_TICK_SECONDS[0] - 1), "invalid_dutch_tick"),
        (replace(CLOCK, tick_seconds=DUTCH_TICK_SECONDS[1] + 1), "invalid_dutch_tick"),
    ],
)
def test_a_dutch_clock_is_bounded(clock: DutchClock, code: str) -> None:
    assert refused(DUTCH, dutch=clock) == code


@pytest.mark.parametrize("tick", DUTCH_TICK_SECONDS)
def test_the_shortest_and_longest_ticks_and_the_lowest_floor_pass(tick: int) -> None:
    clock = DutchClock(floor_cents=1, step_cents=1, tick_seconds=tick)
    assert check_terms(replace(DUTCH, dutch=clock), limits=LIMITS).dutch == clock


def test_only_an_english_auction_has_a_soft_close_by_default() -> None:
    assert default_soft_close(Format.ENGLISH) == DEFAULT_SOFT_CLOSE
    assert [default_soft_close(f) for f in Format if f is not Format.ENGLISH] == [None] * 3


def test_a_new_format_brings_its_soft_close_and_drops_a_clock_it_does_not_use() -> None:
    sealed = revise(ENGLISH, {"format": Format.SEALED_FIRST_PRICE}, now=NOW)
    assert (sealed.format, sealed.soft_close) == (Format.SEALED_FIRST_PRICE, None)
    english = revise(DUTCH, {"format": Format.ENGLISH}, now=NOW)
    assert (english.soft_close, english.dutch) == (DEFAULT_SOFT_CLOSE, None)
    dutch = revise(ENGLISH, {"format": Format.DUTCH, "dutch": CLOCK}, now=NOW)
    assert (dutch.soft_close, dutch.dutch) == (None, CLOCK)


def test_what_the_edit_says_wins_over_the_formats_defaults() -> None:
    soft = replace(DEFAULT_SOFT_CLOSE, window_seconds=60)
    english = revise(SEALED, {"format": Format.ENGLISH, "soft_close": soft}, now=NOW)
    assert english.soft_close == soft
    same = revise(ENGLISH, {"format": Format.ENGLISH}, now=NOW)
    assert same.soft_close == ENGLISH.soft_close
    with pytest.raises(InvalidTerms) as refusal:
        check_terms(revise(ENGLISH, {"format": Format.DUTCH}, now=NOW), limits=LIMITS)
    assert refusal.value.code == "dutch_clock_required"


def test_an_unsold_dutch_lot_is_relisted_with_its_format_and_clock() -> None:
    lot = domain.new_lot(lot_id="lot1", seller_id="sam", terms=DUTCH, limits=LIMITS, now=NOW)
    ended = replace(lot, status=Status.CLOSED, outcome=Outcome.UNSOLD)
    again = domain.relist(ended, new_id="lot2", relisting=None, changes={}, limits=LIMITS, now=NOW)
    assert (again.terms.format, again.terms.dutch, again.terms.soft_close) == (
        Format.DUTCH,
        CLOCK,
        None,
    )


def test_the_rules_the_book_runs_name_the_format_and_the_clock() -> None:
    dutch = domain.new_lot(lot_id="lot1", seller_id="sam", terms=DUTCH, limits=LIMITS, now=NOW)
    rules = views.rules(dutch)
    assert rules["format"] == "dutch"
    assert rules["dutch"] == {"floor_cents": 2_000, "step_cents": 500, "tick_seconds": 60}
    assert (rules["soft_close"], rules["buy_now_cents"], rules["reserve_cents"]) == (
        None,
        None,
        None,
    )
    english = domain.new_lot(lot_id="lot2", seller_id="sam", terms=ENGLISH, limits=LIMITS, now=NOW)
    assert (views.rules(english)["format"], views.rules(english)["dutch"]) == ("english", None)
    public = views.document(dutch)["public"]
    assert (public["format"], public["dutch"]) == ("dutch", rules["dutch"])


def test_an_open_dutch_lot_shows_the_clocks_price_at_each_answer_and_stops_at_its_end() -> None:
    listed = domain.new_lot(lot_id="lot1", seller_id="sam", terms=DUTCH, limits=LIMITS, now=NOW)
    lot = replace(listed, status=Status.OPEN)
    doc, starts = views.document(lot), lot.terms.starts_at
    start = DUTCH.start_cents

    def shown(at: datetime) -> int:
        return int(views.for_viewer(doc, None, now=at)["current_price_cents"])

    assert shown(starts + timedelta(seconds=59)) == start
    assert shown(starts + timedelta(seconds=60)) == start - 500
    assert shown(starts + timedelta(minutes=7, seconds=30)) == start - 7 * 500
    # Never below the floor, and the clock stops at the lot's end.
    assert shown(starts + timedelta(days=30)) == max(2_000, start - _minutes(lot) * 500)
    assert views.clock_price(doc["public"], starts + timedelta(minutes=3)) == start - 1_500
    # Before it opens, once it has closed, and in any other format: the stored price.
    assert views.clock_price(views.document(listed)["public"], NOW) is None
    closed = replace(lot, status=Status.CLOSED, outcome=Outcome.UNSOLD, current_price_cents=2_000)
    assert views.for_viewer(views.document(closed), None, now=NOW)["current_price_cents"] == 2_000
    english = domain.new_lot(lot_id="lot2", seller_id="sam", terms=ENGLISH, limits=LIMITS, now=NOW)
    english = replace(english, status=Status.OPEN)
    assert views.clock_price(views.document(english)["public"], NOW + timedelta(days=1)) is None


def _minutes(lot: domain.Lot) -> int:
    return int((lot.terms.ends_at - lot.terms.starts_at) // timedelta(minutes=1))


def test_a_lot_is_priced_by_its_clock_only_while_an_open_dutch_lot() -> None:
    listed = domain.new_lot(lot_id="lot1", seller_id="sam", terms=DUTCH, limits=LIMITS, now=NOW)
    lot, starts = replace(listed, status=Status.OPEN), DUTCH.starts_at
    assert views.current_price(lot, starts + timedelta(minutes=4)) == DUTCH.start_cents - 2_000
    # It agrees with the lot's answers, which price a cached document the same way.
    at = starts + timedelta(minutes=9, seconds=59)
    assert views.current_price(lot, at) == views.clock_price(views.document(lot)["public"], at)
    assert views.current_price(listed, starts + timedelta(minutes=4)) == DUTCH.start_cents
    sold = replace(lot, status=Status.CLOSED, current_price_cents=8_000)
    assert views.current_price(sold, starts + timedelta(minutes=4)) == 8_000
    english = domain.new_lot(lot_id="lot2", seller_id="sam", terms=ENGLISH, limits=LIMITS, now=NOW)
    english = replace(english, status=Status.OPEN, current_price_cents=12_000)
    assert views.current_price(english, starts + timedelta(days=1)) == 12_000
