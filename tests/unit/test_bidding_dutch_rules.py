"""The rules of Dutch (descending clock) auctions, as scenarios without I/O."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auction_platform.services.bidding import codec, dutch
from auction_platform.services.bidding.engine import (
    Bid,
    Book,
    DutchClock,
    Format,
    Rules,
    SoftClose,
    buy_now,
    close,
    current_price,
    min_next_bid,
    next_price_drop,
    place_bid,
    replay,
    retraction_refusal,
)

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=4)
TICK = timedelta(minutes=10)
SECOND = timedelta(seconds=1)
SELLER = "sam"
# $100.00 falling by $5.00 every ten minutes to $20.00: the floor comes after 16 ticks.
CLOCK = DutchClock(floor_cents=2_000, step_cents=500, tick=TICK)


def rules(**changes: Any) -> Rules:
    """A four-hour Dutch auction from $100.00 down to $20.00."""
    base = Rules(
        start_cents=10_000,
        reserve_cents=None,
        buy_now_cents=None,
        seller_id=SELLER,
        starts_at=START,
        ends_at=END,
        soft_close=None,
        format=Format.DUTCH,
        clock=CLOCK,
    )
    return replace(base, **changes)


def price(at: datetime) -> int:
    """The clock's price at ``at`` under ``rules()``."""
    return dutch.price_at(10_000, 2_000, 500, TICK, START, at)


# -- the rules a Dutch auction is listed with ---------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"clock": None}, "needs a clock"),
        ({"format": Format.ENGLISH}, "only a Dutch auction has one"),
        ({"format": Format.SEALED_SECOND_PRICE}, "only a Dutch auction has one"),
        ({"reserve_cents": 5_000}, "no reserve"),
        ({"buy_now_cents": 10_000}, "no Buy It Now"),
        ({"soft_close": SoftClose(TICK, TICK, 1)}, "no soft close"),
        ({"clock": replace(CLOCK, floor_cents=10_000)}, "below the start price"),
    ],
    ids=[
        "no_clock",
        "english_with_clock",
        "sealed_with_clock",
        "reserve",
        "buy_now",
        "soft_close",
        "floor_at_start",
    ],
)
def test_impossible_dutch_rules_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules(**changes)


@pytest.mark.parametrize(
    "changes",
    [{"floor_cents": 0}, {"step_cents": 0}, {"tick": timedelta(0)}, {"tick": -TICK}],
    ids=["free_floor", "no_step", "no_tick", "negative_tick"],
)
def test_a_dutch_clock_needs_a_floor_a_step_and_a_tick(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        replace(CLOCK, **changes)


# -- the clock ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "cents"),
    [
        (START - TICK, 10_000),
        (START, 10_000),
        (START + TICK - SECOND, 10_000),
        (START + TICK, 9_500),
        (START + 2 * TICK - SECOND, 9_500),
        (START + 15 * TICK, 2_500),
        (START + 16 * TICK, 2_000),
        (START + 100 * TICK, 2_000),
    ],
    ids=[
        "before_start",
        "at_start",
        "just_before_the_first_tick",
        "at_the_first_tick",
        "between_ticks",
        "a_step_above_the_floor",
        "at_the_floor",
        "long_after",
    ],
)
def test_the_price_falls_a_step_at_each_tick_down_to_the_floor(at: datetime, cents: int) -> None:
    assert price(at) == cents


def test_a_last_step_that_would_pass_the_floor_stops_at_it() -> None:
    assert dutch.price_at(1_000, 250, 400, TICK, START, START + 2 * TICK) == 250


@pytest.mark.parametrize(
    ("at", "drop"),
    [
        (START - TICK, START + TICK),
        (START, START + TICK),
        (START + TICK, START + 2 * TICK),
        (START + 15 * TICK + SECOND, START + 16 * TICK),
        (START + 16 * TICK, None),
    ],
    ids=["before_start", "at_start", "at_a_tick", "before_the_floor", "at_the_floor"],
)
def test_the_next_drop_is_the_next_tick_until_the_floor(
    at: datetime, drop: datetime | None
) -> None:
    assert dutch.next_drop_at(10_000, 2_000, 500, TICK, START, at) == drop


def test_a_lot_shows_no_drop_after_its_end() -> None:
    book = Book.open(rules(ends_at=START + 3 * TICK))
    assert next_price_drop(book, START + TICK) == START + 2 * TICK
    assert next_price_drop(book, START + 2 * TICK) is None


def test_the_current_price_is_the_clocks_and_stops_at_the_end() -> None:
    book = Book.open(rules(ends_at=START + 3 * TICK + SECOND))
    assert current_price(book, START + TICK) == 9_500
    assert current_price(book, START + 5 * TICK) == 8_500  # the price it closed at
    assert min_next_bid(book) == 10_000


# -- accepting the price ------------------------------------------------------------------


def test_the_first_acceptance_wins_at_the_clock_price_and_closes_the_lot() -> None:
    at = START + 3 * TICK + SECOND
    book, outcome = buy_now(Book.open(rules()), "ann", at)
    assert outcome.accepted
    assert (book.buyer_id, book.leader_id, book.price_cents) == ("ann", "ann", 8_500)
    assert (book.leader_max_cents, book.bid_count, book.ends_at) == (8_500, 1, at)
    assert (current_price(book, at + TICK), next_price_drop(book, at)) == (8_500, None)
    result = close(book, at)
    assert (result.sold, result.winner_id, result.price_cents) == (True, "ann", 8_500)


def test_a_second_acceptance_is_too_late_even_at_the_same_moment() -> None:
    at = START + TICK
    first, _ = buy_now(Book.open(rules()), "ann", at)
    second, outcome = buy_now(first, "bob", at)
    assert second is first
    assert outcome.reason == "auction_ended"


@pytest.mark.parametrize(
    ("buyer", "at", "reason"),
    [
        ("ann", START - SECOND, "auction_not_open"),
        ("ann", END, "auction_ended"),
        (SELLER, START + TICK, "seller_cannot_bid"),
    ],
    ids=["before_start", "at_end", "seller"],
)
def test_a_refused_acceptance_changes_nothing(buyer: str, at: datetime, reason: str) -> None:
    book = Book.open(rules())
    after, outcome = buy_now(book, buyer, at)
    assert after is book
    assert outcome.reason == reason


@pytest.mark.parametrize("at", [START - TICK, START + TICK, END + TICK])
def test_a_dutch_lot_takes_no_bids(at: datetime) -> None:
    book = Book.open(rules())
    after, outcome = place_bid(book, "ann", 10_000, at)
    assert after is book
    assert outcome.reason == "dutch_accept_only"


def test_nobody_accepting_leaves_the_lot_unsold() -> None:
    result = close(Book.open(rules()), END)
    assert (result.sold, result.winner_id, result.reserve_met) == (False, None, True)


def test_an_unsold_lot_closes_at_the_price_its_clock_stood_at_the_end() -> None:
    # Four hours of ten-minute ticks reach the floor; a shorter lot stops above it.
    assert close(Book.open(rules()), END + timedelta(hours=1)).price_cents == 2_000
    short = rules(ends_at=START + 3 * TICK + SECOND)
    assert close(Book.open(short), START + 5 * TICK).price_cents == price(START + 3 * TICK)


def test_an_acceptance_cannot_be_retracted() -> None:
    at = START + TICK
    ledger = [Bid("ann", 9_500, at)]
    assert retraction_refusal(rules(), ledger, 0, "ann", at) == "auction_ended"


# -- the ledger and storage ---------------------------------------------------------------


def test_replaying_the_acceptance_gives_the_same_book() -> None:
    at = START + 7 * TICK
    book, _ = buy_now(Book.open(rules()), "ann", at)
    # The ledger keeps the acceptance as a bid of the price paid.
    ledger = [Bid("ann", book.price_cents, at), Bid("bob", 6_500, at)]
    assert replay(rules(), ledger) == book
    assert replay(rules(), []) == Book.open(rules())


def test_a_dutch_book_and_its_rules_survive_storage() -> None:
    data = {
        "seller_id": SELLER,
        "start_cents": 10_000,
        "reserve_cents": None,
        "buy_now_cents": None,
        "starts_at": START.isoformat(),
        "ends_at": END.isoformat(),
        "soft_close": None,
        "increments": [],
        "format": "dutch",
        "dutch": {"floor_cents": 2_000, "step_cents": 500, "tick_seconds": 600},
    }
    stored_rules = codec.rules_from(json.loads(json.dumps(data)))
    assert stored_rules == rules()
    for book in (Book.open(rules()), buy_now(Book.open(rules()), "ann", START + TICK)[0]):
        assert codec.load(json.loads(json.dumps(codec.dump(book))), stored_rules) == book
