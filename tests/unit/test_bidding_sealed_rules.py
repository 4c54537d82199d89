"""The rules of sealed-bid auctions (first price and Vickrey), as scenarios without I/O."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auction_platform.services.bidding import codec
from auction_platform.services.bidding.engine import (
    Bid,
    Book,
    Format,
    Rules,
    SoftClose,
    buy_now,
    close,
    min_next_bid,
    place_bid,
    place_bids,
    replay,
    retraction_refusal,
)

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
END = START + timedelta(days=7)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
SELLER = "sam"
FIRST = Format.SEALED_FIRST_PRICE
SECOND = Format.SEALED_SECOND_PRICE


def rules(sale: Format = FIRST, **changes: Any) -> Rules:
    """A week-long sealed-bid auction starting at $1.00 with no reserve."""
    base = Rules(
        start_cents=100,
        reserve_cents=None,
        buy_now_cents=None,
        seller_id=SELLER,
        starts_at=START,
        ends_at=END,
        soft_close=None,
        format=sale,
    )
    return replace(base, **changes)


def bids(*placed: tuple[str, int]) -> list[Bid]:
    """Bids a minute apart from the start, as ``(bidder, amount_cents)`` pairs."""
    return [Bid(who, cents, START + (i + 1) * MINUTE) for i, (who, cents) in enumerate(placed)]


def book_after(*placed: tuple[str, int], sale: Format = FIRST, **changes: Any) -> Book:
    """The book after ``placed``, every one of which must be accepted."""
    book, outcomes = place_bids(Book.open(rules(sale, **changes)), bids(*placed))
    assert all(outcome.accepted for outcome in outcomes), outcomes
    return book


# -- the rules a sealed-bid auction is listed with ----------------------------------------


@pytest.mark.parametrize("sale", [FIRST, SECOND])
@pytest.mark.parametrize(
    "changes",
    [
        {"buy_now_cents": 5_000},
        {"soft_close": SoftClose(2 * MINUTE, 2 * MINUTE, 3)},
    ],
    ids=["buy_now", "soft_close"],
)
def test_a_sealed_bid_auction_has_no_buy_it_now_and_no_soft_close(
    sale: Format, changes: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="no Buy It Now and no soft close"):
        rules(sale, **changes)


# -- who may bid, and when ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("placed", "bidder", "cents", "at", "reason"),
    [
        ([], "ann", 99, START + HOUR, "below_minimum"),
        ([("ann", 500)], "ann", 500, START + HOUR, "sealed_bid_not_raised"),
        ([("ann", 500)], "ann", 400, START + HOUR, "sealed_bid_not_raised"),
        ([("ann", 500), ("bob", 900)], "ann", 500, START + HOUR, "sealed_bid_not_raised"),
        ([("ann", 500)], SELLER, 900, START + HOUR, "seller_cannot_bid"),
        ([], "ann", 900, START - MINUTE, "auction_not_open"),
        ([("ann", 500)], "bob", 900, END, "auction_ended"),
    ],
    ids=[
        "below_start",
        "repeated",
        "lowered",
        "repeated_behind",
        "seller",
        "before_start",
        "at_end",
    ],
)
def test_a_refused_sealed_bid_changes_nothing(
    placed: list[tuple[str, int]], bidder: str, cents: int, at: datetime, reason: str
) -> None:
    before = book_after(*placed)
    after, outcome = place_bid(before, bidder, cents, at)
    assert after is before
    assert (outcome.accepted, outcome.reason) == (False, reason)


def test_a_new_bidder_need_only_reach_the_start_price_whatever_others_bid() -> None:
    book = book_after(("ann", 5_000), ("bob", 100))
    assert min_next_bid(book) == 100
    assert (book.leader_id, book.runner_up_id, book.runner_up_max_cents) == ("ann", "bob", 100)


def test_a_bidder_may_raise_their_own_sealed_bid() -> None:
    book = book_after(("ann", 500), ("bob", 700), ("ann", 800))
    assert (book.leader_id, book.leader_max_cents) == ("ann", 800)
    assert (book.runner_up_id, book.runner_up_max_cents) == ("bob", 700)
    assert book.sealed == (("ann", 800), ("bob", 700))


def test_every_accepted_bid_counts_raises_included() -> None:
    assert book_after(("ann", 500), ("bob", 700), ("ann", 800)).bid_count == 3


def test_a_late_sealed_bid_never_moves_the_end() -> None:
    book, outcome = place_bid(book_after(("ann", 500)), "bob", 900, END - timedelta(seconds=1))
    assert outcome.accepted
    assert (book.ends_at, book.extensions) == (END, 0)


# -- who leads, and what they would pay ---------------------------------------------------


def test_the_highest_sealed_bid_leads_and_pays_its_own_bid_at_first_price() -> None:
    book = book_after(("ann", 500), ("bob", 900), ("cat", 700))
    assert (book.leader_id, book.price_cents) == ("bob", 900)
    assert book.sealed == (("bob", 900), ("cat", 700), ("ann", 500))


def test_a_tie_goes_to_the_earlier_sealed_bid() -> None:
    book = book_after(("ann", 700), ("bob", 700))
    assert (book.leader_id, book.runner_up_id) == ("ann", "bob")


def test_a_raise_counts_from_the_moment_it_is_made() -> None:
    # ann bid first, but bob reached 700 before ann's raise did.
    book = book_after(("ann", 500), ("bob", 700), ("ann", 700))
    assert (book.leader_id, book.runner_up_id) == ("bob", "ann")


def test_vickrey_winner_pays_the_second_highest_bid() -> None:
    book = book_after(("ann", 500), ("bob", 900), ("cat", 700), sale=SECOND)
    assert (book.leader_id, book.price_cents, book.leader_max_cents) == ("bob", 700, 900)


def test_vickrey_winner_pays_the_start_price_alone() -> None:
    book = book_after(("ann", 5_000), sale=SECOND)
    assert (book.leader_id, book.price_cents) == ("ann", 100)


def test_vickrey_winner_pays_the_reserve_when_higher() -> None:
    book = book_after(("ann", 5_000), ("bob", 1_000), sale=SECOND, reserve_cents=2_000)
    assert (book.leader_id, book.price_cents) == ("ann", 2_000)


def test_vickrey_winner_pays_the_second_bid_above_the_reserve() -> None:
    book = book_after(("ann", 5_000), ("bob", 3_000), sale=SECOND, reserve_cents=2_000)
    assert book.price_cents == 3_000


def test_vickrey_tie_pays_the_tied_amount() -> None:
    book = book_after(("ann", 700), ("bob", 700), sale=SECOND)
    assert (book.leader_id, book.price_cents) == ("ann", 700)


# -- the close ----------------------------------------------------------------------------


@pytest.mark.parametrize(("sale", "price"), [(FIRST, 900), (SECOND, 700)])
def test_the_close_sells_to_the_highest_bid_and_keeps_the_runner_up(
    sale: Format, price: int
) -> None:
    result = close(book_after(("ann", 700), ("bob", 900), sale=sale), END)
    assert (result.sold, result.winner_id, result.price_cents) == (True, "bob", price)
    assert (result.runner_up_id, result.runner_up_max_cents) == ("ann", 700)


@pytest.mark.parametrize("sale", [FIRST, SECOND])
def test_below_the_reserve_nothing_is_sold(sale: Format) -> None:
    book = book_after(("ann", 1_999), ("bob", 1_500), sale=sale, reserve_cents=2_000)
    result = close(book, END)
    assert (result.sold, result.reserve_met, result.winner_id) == (False, False, None)


@pytest.mark.parametrize("sale", [FIRST, SECOND])
def test_a_bid_at_the_reserve_sells_at_it(sale: Format) -> None:
    result = close(book_after(("ann", 2_000), sale=sale, reserve_cents=2_000), END)
    assert (result.sold, result.winner_id, result.price_cents) == (True, "ann", 2_000)


def test_no_bids_no_sale() -> None:
    result = close(Book.open(rules()), END)
    assert (result.sold, result.winner_id) == (False, None)


# -- no Buy It Now, no retraction ---------------------------------------------------------


def test_buy_it_now_is_unavailable_on_a_sealed_bid_auction() -> None:
    book = Book.open(rules())
    after, outcome = buy_now(book, "ann", START + HOUR)
    assert after is book
    assert outcome.reason == "buy_now_unavailable"


LEDGER = bids(("ann", 500), ("bob", 900))


@pytest.mark.parametrize(
    ("index", "bidder", "at", "reason"),
    [
        (0, "ann", START + HOUR, "sealed_bid_final"),
        (1, "bob", END - MINUTE, "sealed_bid_final"),
        (0, "bob", START + HOUR, "not_your_bid"),
        (0, "ann", END, "auction_ended"),
    ],
    ids=["early", "late", "another_bidders", "after_the_end"],
)
def test_a_sealed_bid_is_final(index: int, bidder: str, at: datetime, reason: str) -> None:
    assert retraction_refusal(rules(), LEDGER, index, bidder, at) == reason


# -- the ledger and storage ---------------------------------------------------------------


@pytest.mark.parametrize("sale", [FIRST, SECOND])
def test_replaying_the_ledger_gives_the_same_sealed_book(sale: Format) -> None:
    ledger = bids(("ann", 500), ("bob", 700), ("ann", 700), ("cat", 650))
    book, _ = place_bids(Book.open(rules(sale, reserve_cents=600)), ledger)
    assert replay(rules(sale, reserve_cents=600), ledger) == book


@pytest.mark.parametrize("sale", [FIRST, SECOND])
def test_a_sealed_book_and_its_rules_survive_storage(sale: Format) -> None:
    data = {
        "seller_id": SELLER,
        "start_cents": 100,
        "reserve_cents": 600,
        "buy_now_cents": None,
        "starts_at": START.isoformat(),
        "ends_at": END.isoformat(),
        "soft_close": None,
        "increments": [],
        "format": sale.value,
    }
    stored_rules = codec.rules_from(json.loads(json.dumps(data)))
    assert stored_rules == rules(sale, reserve_cents=600)
    book = book_after(("ann", 500), ("bob", 700), ("ann", 700), sale=sale, reserve_cents=600)
    state = json.loads(json.dumps(codec.dump(book)))
    assert state["sealed"] == [["bob", 700], ["ann", 700]]
    assert codec.load(state, stored_rules) == book


def test_rules_and_a_book_stored_before_there_were_formats_load_as_english() -> None:
    data = {
        "seller_id": SELLER,
        "start_cents": 100,
        "reserve_cents": None,
        "buy_now_cents": None,
        "starts_at": START.isoformat(),
        "ends_at": END.isoformat(),
        "soft_close": None,
        "increments": [],
    }
    stored_rules = codec.rules_from(data)
    assert (stored_rules.format, stored_rules.clock) == (Format.ENGLISH, None)
    state = {
        "price_cents": 150,
        "leader_id": "ann",
        "leader_max_cents": 500,
        "runner_up_id": "bob",
        "runner_up_max_cents": 125,
        "bid_count": 2,
        "extensions": 0,
        "buyer_id": None,
        "ends_at": END.isoformat(),
    }
    book = codec.load(state, stored_rules)
    assert (book.sealed, book.leader_id, book.price_cents) == ((), "ann", 150)
