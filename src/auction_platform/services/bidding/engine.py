"""The rules of bidding: proxy bids, increments, reserve, Buy It Now, soft close, retraction.

Pure: standard library only, no clock, no I/O. Money is integer cents and callers pass
the time in as aware UTC datetimes. A refused bid returns the very book it was given.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

# eBay's retraction policy: free until 12 h before the end, then only a fresh latest bid.
RETRACT_FREELY_UNTIL = timedelta(hours=12)
RETRACT_LATEST_WITHIN = timedelta(hours=1)


class Refusal(StrEnum):
    """Why a bid, a purchase or a retraction was refused."""

    BELOW_MINIMUM = "below_minimum"
    SELLER_CANNOT_BID = "seller_cannot_bid"
    AUCTION_ENDED = "auction_ended"
    AUCTION_NOT_OPEN = "auction_not_open"
    NOT_ABOVE_OWN_MAX = "not_above_own_max"
    BUY_NOW_UNAVAILABLE = "buy_now_unavailable"
    NOT_YOUR_BID = "not_your_bid"
    RETRACTION_WINDOW_CLOSED = "retraction_window_closed"


@dataclass(frozen=True, slots=True)
class IncrementTable:
    """Ordered ``(from_cents, increment_cents)`` bands; the first starts at 0."""

    bands: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        starts = [start for start, _ in self.bands]
        if not starts or starts[0] != 0 or starts != sorted(set(starts)):
            raise ValueError("increment bands must start at 0 and rise strictly")
        if any(step <= 0 for _, step in self.bands):
            raise ValueError("increments must be positive")

    def increment(self, price_cents: int) -> int:
        """The step a bid must rise by above ``price_cents``."""
        if price_cents < 0:
            raise ValueError("a price cannot be negative")
        band = bisect_right(self.bands, price_cents, key=lambda band: band[0]) - 1
        return self.bands[band][1]


EBAY_INCREMENTS = IncrementTable(
    (
        (0, 5),
        (100, 25),
        (500, 50),
        (2_500, 100),
        (10_000, 250),
        (25_000, 500),
        (50_000, 1_000),
        (100_000, 2_500),
        (250_000, 5_000),
        (500_000, 10_000),
    )
)


@dataclass(frozen=True, slots=True)
class SoftClose:
    """A bid within ``window`` of the end pushes it back by ``extend_by``, a few times at most."""

    window: timedelta
    extend_by: timedelta
    max_extensions: int

    def __post_init__(self) -> None:
        if self.window <= timedelta(0) or self.extend_by <= timedelta(0):
            raise ValueError("the soft-close window and extension must be positive")
        if self.max_extensions < 0:
            raise ValueError("max_extensions cannot be negative")


@dataclass(frozen=True, slots=True)
class Rules:
    """What the seller chose when listing: prices in cents, the schedule, the soft close."""

    start_cents: int
    reserve_cents: int | None
    buy_now_cents: int | None
    seller_id: str
    starts_at: datetime
    ends_at: datetime
    soft_close: SoftClose | None
    increments: IncrementTable = EBAY_INCREMENTS

    def __post_init__(self) -> None:
        _require_aware(self.starts_at)
        _require_aware(self.ends_at)
        if self.ends_at <= self.starts_at:
            raise ValueError("an auction must end after it starts")
        if self.start_cents <= 0:
            raise ValueError("the start price must be positive")
        if self.reserve_cents is not None and self.reserve_cents <= 0:
            raise ValueError("a reserve must be positive")
        # Buying below the reserve would sell at a price the seller said they would refuse.
        floor = max(self.start_cents, self.reserve_cents or 0)
        if self.buy_now_cents is not None and self.buy_now_cents < floor:
            raise ValueError("Buy It Now must be at least the start price and the reserve")


@dataclass(frozen=True, slots=True)
class Bid:
    """One accepted bid as kept in the ledger."""

    bidder_id: str
    max_cents: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Book:
    """The state of one auction: who leads, at what price, until when."""

    rules: Rules
    price_cents: int
    ends_at: datetime
    leader_id: str | None = None
    leader_max_cents: int | None = None
    runner_up_id: str | None = None
    runner_up_max_cents: int | None = None
    bid_count: int = 0
    extensions: int = 0
    buyer_id: str | None = None

    @classmethod
    def open(cls, rules: Rules) -> Book:
        """A book with no bids: the start price and the scheduled end."""
        return cls(rules=rules, price_cents=rules.start_cents, ends_at=rules.ends_at)

    @property
    def closed_by_buy_now(self) -> bool:
        """True once someone bought the item outright."""
        return self.buyer_id is not None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to a bid or a purchase; ``reason`` is None when accepted."""

    accepted: bool
    reason: Refusal | None
    price_cents: int
    leader_id: str | None
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Result:
    """How an auction ended; the runner-up is kept for a second-chance offer."""

    winner_id: str | None
    price_cents: int
    sold: bool
    reserve_met: bool
    runner_up_id: str | None
    runner_up_max_cents: int | None


def min_next_bid(book: Book) -> int:
    """The smallest max a new bidder may place now."""
    if book.leader_id is None:
        return book.rules.start_cents
    return book.price_cents + book.rules.increments.increment(book.price_cents)


def place_bid(book: Book, bidder_id: str, max_cents: int, at: datetime) -> tuple[Book, Outcome]:
    """Place a proxy bid of up to ``max_cents``; a refused bid leaves the book untouched."""
    refusal = _bid_refusal(book, bidder_id, max_cents, at)
    if refusal is not None:
        return book, _outcome(book, refusal)
    rules = book.rules
    leader_id, leader_max = book.leader_id, book.leader_max_cents
    runner_up_id, runner_up_max = book.runner_up_id, book.runner_up_max_cents
    price = book.price_cents
    if leader_id is None or leader_max is None:
        leader_id, leader_max = bidder_id, max_cents
    elif bidder_id == leader_id:
        # Nobody bids against themselves: raising your own max leaves the price alone.
        leader_max = max_cents
    else:
        # The minimum lies above every non-leader's max, so this bid is at least second.
        if max_cents > leader_max:
            runner_up_id, runner_up_max = leader_id, leader_max
            leader_id, leader_max = bidder_id, max_cents
        else:
            # A tie goes to the earlier bid, so the leader stays.
            runner_up_id, runner_up_max = bidder_id, max_cents
        step = rules.increments.increment(runner_up_max)
        price = min(leader_max, runner_up_max + step)
    if rules.reserve_cents is not None and leader_max >= rules.reserve_cents:
        price = max(price, rules.reserve_cents)
    ends_at, extensions = _soft_closed_end(book, at)
    placed = replace(
        book,
        price_cents=price,
        leader_id=leader_id,
        leader_max_cents=leader_max,
        runner_up_id=runner_up_id,
        runner_up_max_cents=runner_up_max,
        bid_count=book.bid_count + 1,
        ends_at=ends_at,
        extensions=extensions,
    )
    return placed, _outcome(placed, None)


def place_bids(book: Book, bids: Sequence[Bid]) -> tuple[Book, tuple[Outcome, ...]]:
    """Place a batch of bids in order; the book after them and each bid's outcome."""
    outcomes = []
    for bid in bids:
        book, outcome = place_bid(book, bid.bidder_id, bid.max_cents, bid.at)
        outcomes.append(outcome)
    return book, tuple(outcomes)


def replay(rules: Rules, bids: Sequence[Bid]) -> Book:
    """The book after placing ``bids`` in order on a fresh book."""
    # A bid the rules now refuse (its extension came from a retracted bid) counts for
    # nothing, exactly as when it is placed; place_bids reports which ones.
    return place_bids(Book.open(rules), bids)[0]


def buy_now(book: Book, buyer_id: str, at: datetime) -> tuple[Book, Outcome]:
    """Buy the item outright at the Buy It Now price, closing the auction at ``at``."""
    refusal = _closed_refusal(book, at)
    if refusal is None and buyer_id == book.rules.seller_id:
        refusal = Refusal.SELLER_CANNOT_BID
    price = book.rules.buy_now_cents
    if refusal is None and (price is None or book.bid_count > 0):
        refusal = Refusal.BUY_NOW_UNAVAILABLE
    if refusal is not None or price is None:
        return book, _outcome(book, refusal)
    bought = replace(
        book,
        price_cents=price,
        leader_id=buyer_id,
        leader_max_cents=price,
        ends_at=at,
        buyer_id=buyer_id,
    )
    return bought, _outcome(bought, None)


def close(book: Book, at: datetime) -> Result:
    """How the auction ended, decided at or after its effective end."""
    _require_aware(at)
    if at < book.ends_at:
        raise ValueError("the auction is still open")
    reserve = book.rules.reserve_cents
    has_leader = book.leader_id is not None
    reserve_met = reserve is None or (has_leader and book.price_cents >= reserve)
    sold = has_leader and reserve_met
    return Result(
        winner_id=book.leader_id if sold else None,
        price_cents=book.price_cents,
        sold=sold,
        reserve_met=reserve_met,
        runner_up_id=book.runner_up_id,
        runner_up_max_cents=book.runner_up_max_cents,
    )


def retraction_refusal(
    rules: Rules, bids: Sequence[Bid], index: int, bidder_id: str, at: datetime
) -> Refusal | None:
    """None if ``bids[index]`` may be retracted by ``bidder_id`` at ``at``, else why not."""
    _require_aware(at)
    if not 0 <= index < len(bids):
        raise IndexError("no bid at that index")
    ends_at = replay(rules, bids).ends_at
    if at >= ends_at:
        return Refusal.AUCTION_ENDED
    bid = bids[index]
    if bid.bidder_id != bidder_id:
        return Refusal.NOT_YOUR_BID
    if ends_at - at > RETRACT_FREELY_UNTIL:
        return None
    latest = all(later.bidder_id != bidder_id for later in bids[index + 1 :])
    if latest and at - bid.at <= RETRACT_LATEST_WITHIN:
        return None
    return Refusal.RETRACTION_WINDOW_CLOSED


def _closed_refusal(book: Book, at: datetime) -> Refusal | None:
    _require_aware(at)
    if book.closed_by_buy_now or at >= book.ends_at:
        return Refusal.AUCTION_ENDED
    if at < book.rules.starts_at:
        return Refusal.AUCTION_NOT_OPEN
    return None


def _bid_refusal(book: Book, bidder_id: str, max_cents: int, at: datetime) -> Refusal | None:
    refusal = _closed_refusal(book, at)
    if refusal is not None:
        return refusal
    if bidder_id == book.rules.seller_id:
        return Refusal.SELLER_CANNOT_BID
    if bidder_id == book.leader_id and book.leader_max_cents is not None:
        return Refusal.NOT_ABOVE_OWN_MAX if max_cents <= book.leader_max_cents else None
    return Refusal.BELOW_MINIMUM if max_cents < min_next_bid(book) else None


def _soft_closed_end(book: Book, at: datetime) -> tuple[datetime, int]:
    soft = book.rules.soft_close
    if soft is None or book.extensions >= soft.max_extensions or book.ends_at - at > soft.window:
        return book.ends_at, book.extensions
    return book.ends_at + soft.extend_by, book.extensions + 1


def _outcome(book: Book, refusal: Refusal | None) -> Outcome:
    return Outcome(
        accepted=refusal is None,
        reason=refusal,
        price_cents=book.price_cents,
        leader_id=book.leader_id,
        ends_at=book.ends_at,
    )


def _require_aware(moment: datetime) -> None:
    # Comparing naive and aware datetimes raises deep inside; refuse naive ones up front.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware (UTC)")
