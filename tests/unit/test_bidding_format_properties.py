"""Properties of the sealed-bid and Dutch formats that hold for any sequence of commands."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from auction_platform.services.bidding import codec, dutch
from auction_platform.services.bidding.engine import (
    Bid,
    Book,
    DutchClock,
    Format,
    Outcome,
    Rules,
    buy_now,
    close,
    place_bid,
    place_bids,
    replay,
)

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LENGTH = 3_600  # seconds
SELLER = "sam"
BIDDERS = ("ann", "bob", "cat", "dan", SELLER)
# Some attempts come before the start or after the end, and are refused.
OFFSETS = st.integers(-300, LENGTH + 300)
# Amounts on a coarse grid around the start price, so ties and repeats are common; a
# negative step lands below the start price.
STEPS = st.integers(-2, 25)

Step = tuple[Book, Book, Outcome]


@st.composite
def sealed_auctions(draw: st.DrawFn) -> tuple[Rules, list[Bid]]:
    """Sealed-bid rules, with or without a reserve, and a time-ordered list of attempts."""
    sale = draw(st.sampled_from((Format.SEALED_FIRST_PRICE, Format.SEALED_SECOND_PRICE)))
    start, reserve = draw(st.tuples(st.integers(1, 2_000), st.integers(-3_000, 3_000)))
    rules = Rules(
        start_cents=start,
        reserve_cents=start + reserve if reserve > 0 else None,
        buy_now_cents=None,
        seller_id=SELLER,
        starts_at=START,
        ends_at=START + timedelta(seconds=LENGTH),
        soft_close=None,
        format=sale,
    )
    placed = draw(
        st.lists(st.tuples(OFFSETS, st.sampled_from(BIDDERS), STEPS), min_size=1, max_size=20)
    )
    attempts = [
        Bid(bidder, max(1, start + 100 * step), START + timedelta(seconds=offset))
        for offset, bidder, step in sorted(placed, key=lambda attempt: attempt[0])
    ]
    return rules, attempts


@st.composite
def dutch_auctions(draw: st.DrawFn) -> tuple[Rules, list[Bid]]:
    """Dutch rules and a time-ordered list of acceptances, some at the very same moment."""
    floor, above, step, tick = draw(
        st.tuples(
            st.integers(1, 5_000),
            st.integers(1, 5_000),
            st.integers(1, 2_000),
            st.integers(1, 900),
        )
    )
    rules = Rules(
        start_cents=floor + above,
        reserve_cents=None,
        buy_now_cents=None,
        seller_id=SELLER,
        starts_at=START,
        ends_at=START + timedelta(seconds=LENGTH),
        soft_close=None,
        format=Format.DUTCH,
        clock=DutchClock(floor, step, timedelta(seconds=tick)),
    )
    # Few distinct moments, so simultaneous acceptances happen often.
    moments = st.sampled_from((-60, 0, 1, 599, 600, 1_800, LENGTH - 1, LENGTH)) | OFFSETS
    placed = draw(st.lists(st.tuples(moments, st.sampled_from(BIDDERS)), max_size=6))
    # The price each one is recorded at is what the clock says, as the ledger keeps it.
    attempts = [
        Bid(bidder, 0, START + timedelta(seconds=offset))
        for offset, bidder in sorted(placed, key=lambda attempt: attempt[0])
    ]
    return rules, attempts


def walk(rules: Rules, attempts: list[Bid]) -> list[Step]:
    """Each attempt made one call at a time (an acceptance on a Dutch lot, else a bid)."""
    steps = []
    book = Book.open(rules)
    for bid in attempts:
        if rules.format is Format.DUTCH:
            after, outcome = buy_now(book, bid.bidder_id, bid.at)
        else:
            after, outcome = place_bid(book, bid.bidder_id, bid.max_cents, bid.at)
        steps.append((book, after, outcome))
        book = after
    return steps


def final(rules: Rules, steps: list[Step]) -> Book:
    """The book after every step."""
    return steps[-1][1] if steps else Book.open(rules)


def ledger(attempts: list[Bid], steps: list[Step]) -> list[Bid]:
    """The accepted attempts as the ledger keeps them: a Dutch acceptance at its price."""
    return [
        Bid(bid.bidder_id, after.price_cents if after.rules.clock else bid.max_cents, bid.at)
        for bid, (_, after, outcome) in zip(attempts, steps, strict=True)
        if outcome.accepted
    ]


def ranked(bids: list[Bid]) -> list[tuple[str, int]]:
    """Each bidder's latest bid, highest first, equal ones in the order they were made."""
    latest = {bid.bidder_id: (bid.max_cents, order) for order, bid in enumerate(bids)}
    best_first = sorted(latest.items(), key=lambda item: (-item[1][0], item[1][1]))
    return [(bidder, cents) for bidder, (cents, _) in best_first]


# -- sealed bids --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(sealed_auctions())
def test_sealed_refusals_change_nothing_and_replaying_the_ledger_gives_the_same_book(
    auction: tuple[Rules, list[Bid]],
) -> None:
    rules, attempts = auction
    steps = walk(rules, attempts)
    book = final(rules, steps)
    assert place_bids(Book.open(rules), attempts) == (
        book,
        tuple(outcome for _, _, outcome in steps),
    )
    for before, after, outcome in steps:
        if outcome.accepted:
            assert after.bid_count == before.bid_count + 1
        else:
            assert after is before
        assert (after.ends_at, after.extensions) == (rules.ends_at, 0)
    assert replay(rules, ledger(attempts, steps)) == book


@settings(max_examples=200, deadline=None)
@given(sealed_auctions())
def test_the_sealed_leader_holds_the_highest_bid_made_earliest(
    auction: tuple[Rules, list[Bid]],
) -> None:
    rules, attempts = auction
    steps = walk(rules, attempts)
    for count in range(len(steps) + 1):
        book = final(rules, steps[:count])
        expected = ranked(ledger(attempts[:count], steps[:count]))
        assert list(book.sealed) == expected
        nobody = (None, None)
        assert (book.leader_id, book.leader_max_cents) == (expected[0] if expected else nobody)
        assert (book.runner_up_id, book.runner_up_max_cents) == (
            expected[1] if len(expected) > 1 else nobody
        )


@settings(max_examples=200, deadline=None)
@given(sealed_auctions())
def test_the_sealed_price_is_the_formats_and_the_close_follows_the_reserve(
    auction: tuple[Rules, list[Bid]],
) -> None:
    rules, attempts = auction
    reserve = rules.reserve_cents
    for _, book, _ in walk(rules, attempts):
        if book.leader_max_cents is None:
            assert book.price_cents == rules.start_cents
            continue
        top = book.leader_max_cents
        assert book.price_cents <= top
        if rules.format is Format.SEALED_FIRST_PRICE:
            assert book.price_cents == top
        else:
            met = [reserve] if reserve is not None and top >= reserve else []
            second = [book.runner_up_max_cents] if book.runner_up_max_cents else []
            assert book.price_cents == max([*second, *met, rules.start_cents])
        result = close(book, rules.ends_at)
        assert result.sold is (reserve is None or top >= reserve)
        assert result.winner_id == (book.leader_id if result.sold else None)


@settings(max_examples=200, deadline=None)
@given(sealed_auctions())
def test_a_standing_sealed_bid_never_falls_or_vanishes(
    auction: tuple[Rules, list[Bid]],
) -> None:
    for before, after, _ in walk(*auction):
        standing = dict(after.sealed)
        assert len(standing) == len(after.sealed)  # one bid per bidder
        for bidder, cents in before.sealed:
            assert standing[bidder] >= cents


# -- the Dutch clock ----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.tuples(
        st.integers(1, 5_000),
        st.integers(1, 5_000),
        st.integers(1, 2_000),
        st.integers(1, 900),
        st.integers(-1_000, 20_000),
        st.integers(0, 20_000),
    )
)
def test_the_dutch_price_holds_until_the_first_tick_then_only_falls_to_the_floor(
    clock: tuple[int, int, int, int, int, int],
) -> None:
    floor, above, step, tick_seconds, offset, later = clock
    start, tick = floor + above, timedelta(seconds=tick_seconds)
    at = START + timedelta(seconds=offset)
    price = dutch.price_at(start, floor, step, tick, START, at)
    assert floor <= price <= start
    assert dutch.price_at(start, floor, step, tick, START, at + timedelta(seconds=later)) <= price
    if at < START + tick:
        assert price == start
    drop = dutch.next_drop_at(start, floor, step, tick, START, at)
    if drop is None:
        assert price == floor
    else:
        assert drop > at
        assert dutch.price_at(start, floor, step, tick, START, drop) < price
        just_before = drop - timedelta(microseconds=1)
        assert dutch.price_at(start, floor, step, tick, START, just_before) == price


@settings(max_examples=200, deadline=None)
@given(dutch_auctions())
def test_of_many_acceptances_the_first_wins_at_the_price_of_its_moment(
    auction: tuple[Rules, list[Bid]],
) -> None:
    rules, attempts = auction
    steps = walk(rules, attempts)
    book = final(rules, steps)
    winners = [
        bid for bid, (_, _, outcome) in zip(attempts, steps, strict=True) if outcome.accepted
    ]
    eligible = [
        bid
        for bid in attempts
        if bid.bidder_id != SELLER and rules.starts_at <= bid.at < rules.ends_at
    ]
    assert winners == eligible[:1]
    if winners:
        (won,) = winners
        assert rules.clock is not None
        paid = rules.clock.price_at(rules.start_cents, rules.starts_at, won.at)
        assert (book.buyer_id, book.leader_id) == (won.bidder_id, won.bidder_id)
        assert (book.price_cents, book.leader_max_cents) == (paid, paid)
        assert (book.ends_at, book.bid_count) == (won.at, 1)
        assert close(book, book.ends_at).winner_id == won.bidder_id
    else:
        assert book == Book.open(rules)
        assert not close(book, rules.ends_at).sold
    assert replay(rules, ledger(attempts, steps)) == book


# -- storage ------------------------------------------------------------------------------


def rules_data(rules: Rules) -> dict[str, Any]:
    """The auction's rules as the auction service sends them (``AuctionRulesData``)."""
    clock = rules.clock
    return {
        "seller_id": rules.seller_id,
        "start_cents": rules.start_cents,
        "reserve_cents": rules.reserve_cents,
        "buy_now_cents": rules.buy_now_cents,
        "starts_at": rules.starts_at.isoformat(),
        "ends_at": rules.ends_at.isoformat(),
        "soft_close": None,
        "increments": [],
        "format": rules.format.value,
        "dutch": {
            "floor_cents": clock.floor_cents,
            "step_cents": clock.step_cents,
            "tick_seconds": int(clock.tick.total_seconds()),
        }
        if clock
        else None,
    }


@settings(max_examples=200, deadline=None)
@given(sealed_auctions() | dutch_auctions(), st.booleans())
def test_every_book_survives_storage_under_every_format(
    auction: tuple[Rules, list[Bid]], as_english: bool
) -> None:
    rules, attempts = auction
    if as_english and rules.clock is None:
        # The same bids as proxy bids: an English book, stored with its format named.
        rules = replace(rules, format=Format.ENGLISH)
    stored_rules = codec.rules_from(json.loads(json.dumps(rules_data(rules))))
    assert stored_rules == rules
    for _, book, _ in walk(rules, attempts):
        assert codec.load(json.loads(json.dumps(codec.dump(book))), stored_rules) == book
