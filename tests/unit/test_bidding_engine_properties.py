"""Properties of the bidding rules that hold for any sequence of bids."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from auction_platform.services.bidding.engine import (
    Bid,
    Book,
    Outcome,
    Rules,
    SoftClose,
    place_bid,
    place_bids,
    replay,
)

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LENGTH = 3_600  # seconds: short, so soft closes and late bids happen often
SELLER = "sam"
BIDDERS = ("ann", "bob", "cat", "dan", SELLER)
# Each attempt's max moves from the one before: mostly up, sometimes down (refused, or a
# lower challenger), sometimes by nothing (a tie, or a leader not raising).
MOVES = st.just(0) | st.integers(-1_000, 4_000)
# Half the attempts crowd the end, so soft closes extend, hit their cap, and bids come late.
OFFSETS = st.one_of(st.integers(-300, LENGTH), st.integers(LENGTH - 600, LENGTH + 1_200))

Step = tuple[Book, Book, Outcome]


@st.composite
def auctions(draw: st.DrawFn) -> tuple[Rules, list[Bid]]:
    """Rules and a time-ordered list of attempted bids, some early, some late, some refused."""
    # Flat integer draws keep 1,000 examples within the time budget; a reserve or window at
    # or below zero stands for "none".
    start, reserve, window, extend_by, cap = draw(
        st.tuples(
            st.integers(1, 2_000),
            st.integers(-10_000, 30_000),
            st.integers(-300, 900),
            st.integers(1, 900),
            st.integers(0, 4),
        )
    )
    soft_close = None
    if window > 0:
        soft_close = SoftClose(timedelta(seconds=window), timedelta(seconds=extend_by), cap)
    rules = Rules(
        start_cents=start,
        reserve_cents=reserve if reserve > 0 else None,
        buy_now_cents=None,
        seller_id=SELLER,
        starts_at=START,
        ends_at=START + timedelta(seconds=LENGTH),
        soft_close=soft_close,
    )
    placed = draw(
        st.lists(st.tuples(OFFSETS, st.sampled_from(BIDDERS), MOVES), min_size=3, max_size=20)
    )
    attempts, max_cents = [], rules.start_cents
    for offset, bidder, move in sorted(placed, key=lambda attempt: attempt[0]):
        max_cents = max(1, max_cents + move)
        attempts.append(Bid(bidder, max_cents, START + timedelta(seconds=offset)))
    return rules, attempts


def walk(rules: Rules, attempts: list[Bid]) -> list[Step]:
    """Each attempt placed one call at a time: the book before, the book after, the outcome."""
    steps = []
    book = Book.open(rules)
    for bid in attempts:
        after, outcome = place_bid(book, bid.bidder_id, bid.max_cents, bid.at)
        steps.append((book, after, outcome))
        book = after
    return steps


def accepted(attempts: list[Bid], steps: list[Step]) -> list[Bid]:
    """The attempts the engine accepted, in order."""
    return [bid for bid, (_, _, outcome) in zip(attempts, steps, strict=True) if outcome.accepted]


@settings(max_examples=200, deadline=None)
@given(auctions())
def test_a_batch_equals_the_same_bids_one_by_one_and_refusals_change_nothing(
    auction: tuple[Rules, list[Bid]],
) -> None:
    rules, attempts = auction
    steps = walk(rules, attempts)
    book, outcomes = place_bids(Book.open(rules), attempts)
    assert outcomes == tuple(outcome for _, _, outcome in steps)
    assert book == (steps[-1][1] if steps else Book.open(rules))
    for before, after, outcome in steps:
        if outcome.accepted:
            assert outcome.reason is None and after.bid_count == before.bid_count + 1
        else:
            assert outcome.reason is not None and after is before
        assert (outcome.price_cents, outcome.leader_id, outcome.ends_at) == (
            after.price_cents,
            after.leader_id,
            after.ends_at,
        )


@settings(max_examples=200, deadline=None)
@given(auctions())
def test_the_price_never_exceeds_the_leaders_max_never_falls_and_meets_a_reached_reserve(
    auction: tuple[Rules, list[Bid]],
) -> None:
    rules, _ = auction
    for before, after, outcome in walk(*auction):
        if not outcome.accepted:
            continue
        assert after.leader_max_cents is not None
        assert rules.start_cents <= after.price_cents <= after.leader_max_cents
        assert after.price_cents >= before.price_cents
        if after.runner_up_max_cents is not None:
            assert after.runner_up_max_cents <= after.price_cents
        if rules.reserve_cents is not None:
            reserve_reached = after.leader_max_cents >= rules.reserve_cents
            assert (after.price_cents >= rules.reserve_cents) is reserve_reached


@settings(max_examples=200, deadline=None)
@given(auctions())
def test_the_leader_holds_the_highest_max_placed_earliest_first(
    auction: tuple[Rules, list[Bid]],
) -> None:
    rules, attempts = auction
    steps = walk(rules, attempts)
    bids = accepted(attempts, steps)
    book = steps[-1][1] if steps else Book.open(rules)
    if not bids:
        assert book.leader_id is None
        return
    top = max(bid.max_cents for bid in bids)
    first_at_top = next(bid for bid in bids if bid.max_cents == top)
    assert (book.leader_id, book.leader_max_cents) == (first_at_top.bidder_id, top)
    others = [bid.max_cents for bid in bids if bid.bidder_id != book.leader_id]
    assert book.runner_up_max_cents == (max(others) if others else None)


@settings(max_examples=200, deadline=None)
@given(auctions())
def test_replaying_the_accepted_bids_gives_the_same_book(
    auction: tuple[Rules, list[Bid]],
) -> None:
    rules, attempts = auction
    steps = walk(rules, attempts)
    book = steps[-1][1] if steps else Book.open(rules)
    assert replay(rules, accepted(attempts, steps)) == book


@settings(max_examples=200, deadline=None)
@given(auctions())
def test_the_end_never_moves_back_and_extensions_stay_within_the_cap(
    auction: tuple[Rules, list[Bid]],
) -> None:
    rules, _ = auction
    for before, after, _outcome in walk(*auction):
        assert after.ends_at >= before.ends_at
        if rules.soft_close is None:
            assert (after.ends_at, after.extensions) == (rules.ends_at, 0)
        else:
            assert after.extensions <= rules.soft_close.max_extensions
            assert after.ends_at == rules.ends_at + after.extensions * rules.soft_close.extend_by
