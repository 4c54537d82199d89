"""The rules of bidding, as a table of scenarios, without I/O."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auction_platform.services.bidding.engine import (
    EBAY_INCREMENTS,
    Bid,
    Book,
    IncrementTable,
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
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
SELLER = "sam"
SOFT = SoftClose(window=2 * MINUTE, extend_by=2 * MINUTE, max_extensions=3)


def rules(**changes: Any) -> Rules:
    """A week-long auction starting at $1.00 with no reserve, Buy It Now or soft close."""
    base = Rules(
        start_cents=100,
        reserve_cents=None,
        buy_now_cents=None,
        seller_id=SELLER,
        starts_at=START,
        ends_at=END,
        soft_close=None,
    )
    return replace(base, **changes)


def bids(*placed: tuple[str, int]) -> list[Bid]:
    """Bids a minute apart from the start, as ``(bidder, max_cents)`` pairs."""
    return [Bid(who, cents, START + (i + 1) * MINUTE) for i, (who, cents) in enumerate(placed)]


def book_after(*placed: tuple[str, int], **changes: Any) -> Book:
    """The book after ``placed``, every one of which must be accepted."""
    book, outcomes = place_bids(Book.open(rules(**changes)), bids(*placed))
    assert all(outcome.accepted for outcome in outcomes), outcomes
    return book


# -- increments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "step"),
    [
        (0, 5),
        (99, 5),
        (100, 25),
        (499, 25),
        (500, 50),
        (2_499, 50),
        (2_500, 100),
        (9_999, 100),
        (10_000, 250),
        (24_999, 250),
        (25_000, 500),
        (49_999, 500),
        (50_000, 1_000),
        (99_999, 1_000),
        (100_000, 2_500),
        (249_999, 2_500),
        (250_000, 5_000),
        (499_999, 5_000),
        (500_000, 10_000),
        (100_000_000, 10_000),
    ],
)
def test_increment_at_every_band_boundary(price: int, step: int) -> None:
    assert EBAY_INCREMENTS.increment(price) == step


@pytest.mark.parametrize(
    "bands",
    [(), ((1, 5),), ((0, 5), (100, 25), (100, 50)), ((0, 5), (500, 50), (100, 25)), ((0, 0),)],
    ids=["empty", "not_from_zero", "repeated_start", "not_rising", "zero_step"],
)
def test_an_increment_table_starts_at_zero_rises_and_steps_up(
    bands: tuple[tuple[int, int], ...],
) -> None:
    with pytest.raises(ValueError, match="increment"):
        IncrementTable(bands)


def test_an_auction_may_use_its_own_increment_table() -> None:
    tens = IncrementTable(((0, 10),))
    book = book_after(("ann", 500), ("bob", 200), increments=tens)
    assert (book.price_cents, min_next_bid(book)) == (210, 220)


# -- the rules an auction is listed with --------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"start_cents": 0},
        {"reserve_cents": 0},
        {"ends_at": START},
        {"starts_at": START.replace(tzinfo=None)},
        {"buy_now_cents": 99},
        {"reserve_cents": 5_000, "buy_now_cents": 4_999},
    ],
    ids=[
        "free_start",
        "zero_reserve",
        "ends_at_start",
        "naive_time",
        "buy_now_below_start",
        "buy_now_below_reserve",
    ],
)
def test_impossible_rules_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        rules(**changes)


@pytest.mark.parametrize(
    ("window", "extend_by", "max_extensions"),
    [(timedelta(0), MINUTE, 1), (MINUTE, timedelta(0), 1), (MINUTE, MINUTE, -1)],
)
def test_a_soft_close_needs_a_window_an_extension_and_a_non_negative_cap(
    window: timedelta, extend_by: timedelta, max_extensions: int
) -> None:
    with pytest.raises(ValueError, match=r"soft-close|max_extensions"):
        SoftClose(window, extend_by, max_extensions)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        place_bid(Book.open(rules()), "ann", 100, START.replace(tzinfo=None) + HOUR)


# -- the open window and who may bid ------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        (START - SECOND, "auction_not_open"),
        (START, None),
        (END - timedelta(microseconds=1), None),
        (END, "auction_ended"),
        (END + HOUR, "auction_ended"),
    ],
    ids=["before_start", "at_start", "just_before_end", "at_end", "after_end"],
)
def test_bids_count_from_the_start_up_to_but_not_at_the_end(
    at: datetime, reason: str | None
) -> None:
    _, outcome = place_bid(Book.open(rules()), "ann", 100, at)
    assert (outcome.accepted, outcome.reason) == (reason is None, reason)


def test_seller_cannot_bid() -> None:
    _, outcome = place_bid(Book.open(rules()), SELLER, 10_000, START + HOUR)
    assert outcome.reason == "seller_cannot_bid"


def test_seller_cannot_buy_it_now() -> None:
    _, outcome = buy_now(Book.open(rules(buy_now_cents=5_000)), SELLER, START + HOUR)
    assert outcome.reason == "seller_cannot_bid"


@pytest.mark.parametrize(
    ("placed", "bidder", "max_cents", "at", "reason"),
    [
        ([], "ann", 99, START + HOUR, "below_minimum"),
        ([("ann", 500)], "bob", 124, START + HOUR, "below_minimum"),
        ([("ann", 500)], "ann", 500, START + HOUR, "not_above_own_max"),
        ([("ann", 500)], SELLER, 900, START + HOUR, "seller_cannot_bid"),
        ([("ann", 500)], "bob", 900, START - HOUR, "auction_not_open"),
        ([("ann", 500)], "bob", 900, END, "auction_ended"),
    ],
)
def test_a_refused_bid_changes_nothing(
    placed: list[tuple[str, int]], bidder: str, max_cents: int, at: datetime, reason: str
) -> None:
    before = book_after(*placed, soft_close=SOFT)
    after, outcome = place_bid(before, bidder, max_cents, at)
    assert after is before
    assert outcome.reason == reason and not outcome.accepted
    assert (outcome.price_cents, outcome.leader_id, outcome.ends_at) == (
        before.price_cents,
        before.leader_id,
        before.ends_at,
    )


# -- proxy bidding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("placed", "price", "leader", "changes"),
    [
        ([], 100, None, {}),
        ([("ann", 100)], 100, "ann", {}),
        ([("ann", 5_000)], 100, "ann", {}),
        ([("ann", 5_000), ("bob", 2_000)], 2_050, "ann", {}),
        ([("ann", 5_000), ("bob", 4_990)], 5_000, "ann", {}),
        ([("ann", 5_000), ("bob", 5_000)], 5_000, "ann", {}),
        ([("ann", 5_000), ("bob", 6_000)], 5_100, "bob", {}),
        ([("ann", 5_000), ("bob", 5_010)], 5_010, "bob", {}),
        ([("ann", 15_000), ("bob", 12_500)], 12_750, "ann", {}),
        ([("ann", 15_000), ("bob", 12_500), ("cat", 13_000)], 13_250, "ann", {}),
        ([("ann", 15_000), ("bob", 12_500), ("cat", 20_000)], 15_250, "cat", {}),
        ([("ann", 150), ("bob", 15_000)], 10_000, "bob", {"reserve_cents": 10_000}),
        ([("ann", 150), ("bob", 9_999)], 175, "bob", {"reserve_cents": 10_000}),
        ([("ann", 20_000)], 10_000, "ann", {"reserve_cents": 10_000}),
        ([("ann", 5_000), ("bob", 2_000), ("ann", 9_000)], 2_050, "ann", {}),
        ([("ann", 5_000), ("bob", 2_000), ("bob", 3_000)], 3_100, "ann", {}),
    ],
    ids=[
        "no_bids_show_the_start_price",
        "a_first_bid_at_the_start_price_is_enough",
        "one_bidder_pays_the_start_price",
        "second_max_plus_one_increment",
        "capped_at_the_leader_max",
        "a_tie_keeps_the_earlier_bidder_at_the_tied_amount",
        "a_higher_max_takes_the_lead_one_increment_above_the_old_max",
        "a_new_leader_pays_no_more_than_their_own_max",
        "worked_example_before_the_challenge",
        "worked_example_130_raises_the_price_and_the_leader_stays",
        "worked_example_200_takes_the_lead",
        "worked_example_reserve_jumps_to_100",
        "below_the_reserve_the_price_ignores_it",
        "a_single_bid_over_the_reserve_opens_at_the_reserve",
        "raising_your_own_max_leaves_the_price",
        "a_non_leader_bidding_again_raises_their_max",
    ],
)
def test_the_price_is_the_second_max_plus_one_increment_capped_at_the_leader_max(
    placed: list[tuple[str, int]], price: int, leader: str | None, changes: dict[str, Any]
) -> None:
    book = book_after(*placed, **changes)
    assert (book.price_cents, book.leader_id) == (price, leader)
    assert book.bid_count == len(placed)


def test_worked_example_a_lower_challenger_raises_the_price_and_the_leader_stays() -> None:
    book = book_after(("ann", 15_000), ("bob", 12_500))
    assert (book.price_cents, min_next_bid(book)) == (12_750, 13_000)
    after, outcome = place_bid(book, "cat", 13_000, START + HOUR)
    assert outcome.accepted and (outcome.price_cents, outcome.leader_id) == (13_250, "ann")
    assert (after.runner_up_id, after.runner_up_max_cents) == ("cat", 13_000)


def test_worked_example_a_higher_challenger_takes_the_lead_above_the_old_max() -> None:
    book = book_after(("ann", 15_000), ("bob", 12_500))
    after, outcome = place_bid(book, "cat", 20_000, START + HOUR)
    assert outcome.accepted and (outcome.price_cents, outcome.leader_id) == (15_250, "cat")
    assert (after.leader_max_cents, after.runner_up_id, after.runner_up_max_cents) == (
        20_000,
        "ann",
        15_000,
    )


def test_worked_example_meeting_the_reserve_lifts_the_price_to_the_reserve() -> None:
    book = book_after(("ann", 150), reserve_cents=10_000)
    assert (book.price_cents, book.leader_id) == (100, "ann")
    after, outcome = place_bid(book, "bob", 15_000, START + HOUR)
    assert (outcome.price_cents, outcome.leader_id) == (10_000, "bob")
    assert close(after, END).sold


def test_tie_goes_to_the_earlier_bid() -> None:
    book = book_after(("ann", 5_000), ("bob", 5_000))
    assert (book.leader_id, book.price_cents) == ("ann", 5_000)
    assert (book.runner_up_id, book.runner_up_max_cents) == ("bob", 5_000)


@pytest.mark.parametrize(("max_cents", "accepted"), [(124, False), (125, True)])
def test_a_new_bidder_must_bid_the_price_plus_one_increment(max_cents: int, accepted: bool) -> None:
    book = book_after(("ann", 5_000))
    assert min_next_bid(book) == 125
    _, outcome = place_bid(book, "bob", max_cents, START + HOUR)
    assert outcome.accepted is accepted


@pytest.mark.parametrize("max_cents", [4_000, 5_000])
def test_a_leader_raising_must_exceed_their_own_max(max_cents: int) -> None:
    _, outcome = place_bid(book_after(("ann", 5_000)), "ann", max_cents, START + HOUR)
    assert outcome.reason == "not_above_own_max"


def test_a_leader_raising_does_not_raise_the_price() -> None:
    book = book_after(("ann", 5_000), ("bob", 5_000))
    after, outcome = place_bid(book, "ann", 9_000, START + HOUR)
    assert outcome.accepted and after.price_cents == 5_000 and after.leader_max_cents == 9_000
    assert after.bid_count == 3


def test_a_leader_raising_past_the_reserve_lifts_the_price_to_the_reserve() -> None:
    book = book_after(("ann", 5_000), ("bob", 2_000), reserve_cents=8_000)
    assert book.price_cents == 2_050
    after, _ = place_bid(book, "ann", 8_000, START + HOUR)
    assert after.price_cents == 8_000


# -- reserve and closing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("placed", "reserve", "winner", "reserve_met", "price"),
    [
        ([], None, None, True, 100),
        ([], 5_000, None, False, 100),
        ([("ann", 300)], None, "ann", True, 100),
        ([("ann", 4_999), ("bob", 4_000)], 5_000, None, False, 4_100),
        ([("ann", 5_000)], 5_000, "ann", True, 5_000),
        ([("ann", 3_000), ("bob", 6_000)], 5_000, "bob", True, 5_000),
        ([("ann", 3_000), ("bob", 2_000)], 1_000, "ann", True, 2_050),
    ],
    ids=[
        "no_bids_no_reserve",
        "no_bids_with_reserve",
        "a_leader_without_reserve_buys",
        "one_cent_short_of_the_reserve",
        "a_max_exactly_at_the_reserve",
        "a_challenger_over_the_reserve",
        "a_proxy_price_above_the_reserve",
    ],
)
def test_sold_if_and_only_if_the_final_price_reaches_the_reserve(
    placed: list[tuple[str, int]],
    reserve: int | None,
    winner: str | None,
    reserve_met: bool,
    price: int,
) -> None:
    result = close(book_after(*placed, reserve_cents=reserve), END)
    assert (result.winner_id, result.sold) == (winner, winner is not None)
    assert (result.reserve_met, result.price_cents) == (reserve_met, price)


def test_close_names_the_winner_and_the_runner_up_for_a_second_chance_offer() -> None:
    result = close(book_after(("ann", 3_000), ("bob", 5_000), ("cat", 4_000)), END)
    assert (result.winner_id, result.price_cents) == ("bob", 4_100)
    assert (result.runner_up_id, result.runner_up_max_cents) == ("cat", 4_000)


def test_an_unsold_auction_has_no_winner_but_keeps_its_second_place() -> None:
    result = close(book_after(("ann", 3_000), ("bob", 2_000), reserve_cents=5_000), END)
    assert (result.winner_id, result.runner_up_id, result.runner_up_max_cents) == (
        None,
        "bob",
        2_000,
    )


def test_closing_before_the_effective_end_is_an_error() -> None:
    book = book_after(("ann", 300))
    with pytest.raises(ValueError, match="still open"):
        close(book, END - SECOND)


# -- Buy It Now ---------------------------------------------------------------------------


def test_buy_now_closes_the_auction_at_the_buy_now_price() -> None:
    at = START + HOUR
    book, outcome = buy_now(Book.open(rules(buy_now_cents=5_000)), "ann", at)
    assert outcome.accepted and outcome.reason is None
    assert (outcome.price_cents, outcome.leader_id, outcome.ends_at) == (5_000, "ann", at)
    assert book.closed_by_buy_now and book.buyer_id == "ann"
    result = close(book, at)
    assert (result.winner_id, result.price_cents, result.sold) == ("ann", 5_000, True)
    assert result.runner_up_id is None


def test_buy_now_disappears_after_first_bid() -> None:
    book = book_after(("ann", 100), buy_now_cents=5_000)
    after, outcome = buy_now(book, "bob", START + HOUR)
    assert after is book and outcome.reason == "buy_now_unavailable"


def test_buy_now_is_unavailable_without_a_buy_now_price() -> None:
    _, outcome = buy_now(Book.open(rules()), "ann", START + HOUR)
    assert outcome.reason == "buy_now_unavailable"


@pytest.mark.parametrize(
    ("at", "reason"), [(START - SECOND, "auction_not_open"), (END, "auction_ended")]
)
def test_buy_now_only_while_the_auction_is_open(at: datetime, reason: str) -> None:
    _, outcome = buy_now(Book.open(rules(buy_now_cents=5_000)), "ann", at)
    assert outcome.reason == reason


@pytest.mark.parametrize("action", ["bid", "buy"])
def test_nothing_is_accepted_after_buy_now(action: str) -> None:
    book, _ = buy_now(Book.open(rules(buy_now_cents=5_000)), "ann", START + HOUR)
    later = START + 2 * HOUR
    after, outcome = (
        place_bid(book, "bob", 9_000, later) if action == "bid" else buy_now(book, "bob", later)
    )
    assert after is book and outcome.reason == "auction_ended"


# -- soft close ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before_end", "extended"),
    [(2 * MINUTE + SECOND, False), (2 * MINUTE, True), (SECOND, True)],
    ids=["just_outside_the_window", "at_the_window_edge", "in_the_last_second"],
)
def test_a_bid_within_the_window_extends_the_end(before_end: timedelta, extended: bool) -> None:
    book, outcome = place_bid(Book.open(rules(soft_close=SOFT)), "ann", 100, END - before_end)
    assert outcome.ends_at == book.ends_at == (END + 2 * MINUTE if extended else END)
    assert book.extensions == int(extended)


def test_an_extension_moves_the_current_end_not_the_bid_time() -> None:
    book, _ = place_bid(Book.open(rules(soft_close=SOFT)), "ann", 100, END - 90 * SECOND)
    book, _ = place_bid(book, "bob", 200, END + 10 * SECOND)
    assert (book.ends_at, book.extensions) == (END + 4 * MINUTE, 2)


def test_a_leader_raising_in_the_window_also_extends() -> None:
    book = book_after(("ann", 500), soft_close=SOFT)
    after, _ = place_bid(book, "ann", 900, END - MINUTE)
    assert after.ends_at == END + 2 * MINUTE


def test_extensions_stop_at_the_maximum() -> None:
    book = Book.open(rules(soft_close=SOFT))
    for i, bidder in enumerate(["ann", "bob", "ann", "bob", "ann"]):
        book, outcome = place_bid(book, bidder, 1_000 * (i + 1), book.ends_at - SECOND)
        assert outcome.accepted
    assert (book.extensions, book.ends_at) == (3, END + 6 * MINUTE)


def test_refused_bid_never_extends() -> None:
    book = book_after(("ann", 500), soft_close=SOFT)
    after, outcome = place_bid(book, "bob", 124, END - MINUTE)
    assert outcome.reason == "below_minimum"
    assert after is book and after.ends_at == END and after.extensions == 0


def test_without_soft_close_the_end_never_moves() -> None:
    book, _ = place_bid(Book.open(rules()), "ann", 100, END - SECOND)
    assert (book.ends_at, book.extensions) == (END, 0)


# -- retraction ---------------------------------------------------------------------------

LEDGER = [
    Bid("ann", 1_000, START + HOUR),
    Bid("bob", 2_000, END - 3 * HOUR),
    Bid("ann", 3_000, END - 2 * HOUR),
    Bid("bob", 4_000, END - 90 * MINUTE),
]


@pytest.mark.parametrize(
    ("index", "bidder", "at", "reason"),
    [
        (0, "ann", END - 13 * HOUR, None),
        (0, "bob", END - 13 * HOUR, "not_your_bid"),
        (0, "ann", END - 12 * HOUR - SECOND, None),
        (0, "ann", END - 12 * HOUR, "retraction_window_closed"),
        (2, "ann", END - 2 * HOUR + 30 * MINUTE, None),
        (2, "ann", END - HOUR, None),
        (2, "ann", END - HOUR + SECOND, "retraction_window_closed"),
        (1, "bob", END - 2 * HOUR - 30 * MINUTE, "retraction_window_closed"),
        (3, "bob", END - MINUTE, "retraction_window_closed"),
        (3, "bob", END - 80 * MINUTE, None),
        (3, "bob", END, "auction_ended"),
        (3, "ann", END, "auction_ended"),
    ],
    ids=[
        "any_own_bid_more_than_12h_before_the_end",
        "not_your_bid",
        "one_second_before_the_12h_mark",
        "at_12h_before_the_end_an_older_bid_is_locked",
        "your_latest_bid_within_the_hour",
        "your_latest_bid_exactly_one_hour_later",
        "your_latest_bid_after_the_hour",
        "an_earlier_bid_within_12h",
        "latest_but_placed_too_long_ago",
        "latest_and_fresh",
        "after_the_end",
        "after_the_end_before_ownership",
    ],
)
def test_retraction_follows_ebays_window(
    index: int, bidder: str, at: datetime, reason: str | None
) -> None:
    assert retraction_refusal(rules(), LEDGER, index, bidder, at) == reason


def test_the_retraction_window_counts_from_the_extended_end() -> None:
    ledger = [Bid("ann", 1_000, END - MINUTE)]
    # 30 s past the scheduled end, but the bid pushed the end two minutes back.
    assert retraction_refusal(rules(soft_close=SOFT), ledger, 0, "ann", END + 30 * SECOND) is None
    assert retraction_refusal(rules(), ledger, 0, "ann", END + 30 * SECOND) == "auction_ended"


@pytest.mark.parametrize("index", [-1, 4])
def test_retracting_a_bid_that_is_not_there_is_an_error(index: int) -> None:
    with pytest.raises(IndexError):
        retraction_refusal(rules(), LEDGER, index, "ann", START + HOUR)


def test_after_a_retraction_the_book_is_the_replay_of_the_remaining_bids() -> None:
    assert replay(rules(), LEDGER).price_cents == 3_100
    remaining = LEDGER[:3]
    book = replay(rules(), remaining)
    assert (book.leader_id, book.price_cents, book.bid_count) == ("ann", 2_050, 3)


def test_replay_leaves_out_bids_the_rules_now_refuse() -> None:
    ledger = [Bid("ann", 500, END - MINUTE), Bid("bob", 900, END + MINUTE)]
    # Without ann's bid there is no extension, so bob's bid came after the end.
    book, outcomes = place_bids(Book.open(rules(soft_close=SOFT)), ledger[1:])
    assert outcomes[0].reason == "auction_ended"
    assert book == replay(rules(soft_close=SOFT), ledger[1:]) == Book.open(rules(soft_close=SOFT))


def test_a_retraction_keeps_bids_placed_in_the_extension_it_caused() -> None:
    from auction_platform.services.bidding.codec import replay_keeping_end

    start = datetime(2026, 1, 1, tzinfo=UTC)
    rules = Rules(
        start_cents=100,
        reserve_cents=None,
        buy_now_cents=None,
        seller_id="seller",
        starts_at=start,
        ends_at=start + timedelta(days=2),
        soft_close=SoftClose(timedelta(minutes=2), timedelta(minutes=2), 10),
    )
    book = Book.open(rules)
    first_at = rules.ends_at - timedelta(minutes=1)  # extends the end by two minutes
    book, _ = place_bid(book, "ann", 500, first_at)
    late_at = rules.ends_at + timedelta(seconds=30)  # only possible thanks to the extension
    book, outcome = place_bid(book, "bob", 1000, late_at)
    assert outcome.accepted
    after = replay_keeping_end([Bid("bob", 1000, late_at)], book)
    assert after.leader_id == "bob"
    assert after.bid_count == 1
    assert after.ends_at == book.ends_at
    assert after.rules == rules
