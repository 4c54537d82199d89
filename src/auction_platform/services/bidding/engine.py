"""The rules of bidding: proxy bids, increments, reserve, Buy It Now, soft close, retraction.

One book serves every format, chosen by ``Rules.format``: the English proxy auction here,
the sealed-bid formats' standing bids in ``sealed`` and the Dutch clock in ``dutch``.
Pure: standard library only, no clock, no I/O. Money is integer cents and callers pass
the time in as aware UTC datetimes. A refused bid returns the very book it was given.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from auction_platform.services.bidding import sealed
from auction_platform.services.bidding.dutch import DutchClock as DutchClock

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
    SEALED_BID_NOT_RAISED = "sealed_bid_not_raised"
    SEALED_BID_FINAL = "sealed_bid_final"
    DUTCH_ACCEPT_ONLY = "dutch_accept_only"


class Format(StrEnum):
    """How the lot is sold."""

    ENGLISH = "english"
    SEALED_FIRST_PRICE = "sealed_first_price"
    SEALED_SECOND_PRICE = "sealed_second_price"
    DUTCH = "dutch"

    @property
    def is_sealed(self) -> bool:
        """True for the formats whose bids stay hidden until the close."""
        return self in (Format.SEALED_FIRST_PRICE, Format.SEALED_SECOND_PRICE)


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
    """What the seller chose when listing: the format, prices in cents, the schedule."""

    start_cents: int
    reserve_cents: int | None
    buy_now_cents: int | None
    seller_id: str
    starts_at: datetime
    ends_at: datetime
    soft_close: SoftClose | None
    increments: IncrementTable = EBAY_INCREMENTS
    format: Format = Format.ENGLISH
    clock: DutchClock | None = None

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
        if (self.format is Format.DUTCH) != (self.clock is not None):
            raise ValueError("a Dutch auction needs a clock, and only a Dutch auction has one")
        if self.format is Format.ENGLISH:
            return
        # Both would end the auction on another schedule than the one its format is about.
        if self.buy_now_cents is not None or self.soft_close is not None:
            raise ValueError(f"a {self.format} auction has no Buy It Now and no soft close")
        if self.clock is not None:
            if self.reserve_cents is not None:
                raise ValueError("a Dutch auction has no reserve: its floor is the lowest price")
            if self.clock.floor_cents >= self.start_cents:
                raise ValueError("a Dutch clock's floor must lie below the start price")


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
    # A sealed-bid auction's standing bids, best first: its leader, runner-up and price
    # (what the leader would pay now) follow from them at every step.
    sealed: tuple[tuple[str, int], ...] = ()

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
    # A sealed bid need only reach the start price (nobody sees the others); a Dutch lot
    # takes no bids, and its clock price is current_price's.
    if book.leader_id is None or book.rules.format is not Format.ENGLISH:
        return book.rules.start_cents
    return book.price_cents + book.rules.increments.increment(book.price_cents)


def current_price(book: Book, at: datetime) -> int:
    """The price at ``at``: the clock's for a Dutch lot nobody has accepted, else the book's."""
    rules, clock = book.rules, book.rules.clock
    if clock is None or book.buyer_id is not None:
        return book.price_cents
    _require_aware(at)
    # The clock stops at the end: an unsold lot's last price is the one it closed at.
    return clock.price_until(rules.start_cents, rules.starts_at, book.ends_at, at)


def next_price_drop(book: Book, at: datetime) -> datetime | None:
    """When an open Dutch lot's price next falls; None at the floor or if the end comes first."""
    rules, clock = book.rules, book.rules.clock
    if clock is None or book.buyer_id is not None:
        return None
    _require_aware(at)
    return clock.drop_before(rules.start_cents, rules.starts_at, book.ends_at, at)


def place_bid(book: Book, bidder_id: str, max_cents: int, at: datetime) -> tuple[Book, Outcome]:
    """Place a proxy bid of up to ``max_cents`` (or a sealed bid); a refusal changes nothing."""
    refusal = _bid_refusal(book, bidder_id, max_cents, at)
    if refusal is not None:
        return book, _outcome(book, refusal)
    if book.rules.format.is_sealed:
        placed = _place_sealed(book, bidder_id, max_cents)
        return placed, _outcome(placed, None)
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
    """The book after the ledger's ``bids`` in order (a Dutch lot's are its acceptances)."""
    if rules.clock is not None:
        book = Book.open(rules)
        for bid in bids:
            # The clock, not the ledger, sets the price: the same moment gives the same
            # price, so an acceptance's recorded price is what this gives again.
            book = buy_now(book, bid.bidder_id, bid.at)[0]
        return book
    # A bid the rules now refuse (its extension came from a retracted bid) counts for
    # nothing, exactly as when it is placed; place_bids reports which ones.
    return place_bids(Book.open(rules), bids)[0]


def buy_now(book: Book, buyer_id: str, at: datetime) -> tuple[Book, Outcome]:
    """Buy outright at the Buy It Now price, or at a Dutch lot's clock; closes it at ``at``."""
    refusal = _closed_refusal(book, at)
    if refusal is None and buyer_id == book.rules.seller_id:
        refusal = Refusal.SELLER_CANNOT_BID
    is_dutch = book.rules.clock is not None
    price = current_price(book, at) if is_dutch else book.rules.buy_now_cents
    # A Dutch lot's first acceptance closes it, so its bid count is 0 until then.
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
        # A Dutch acceptance is the lot's one bid; Buy It Now ends an auction without one.
        bid_count=1 if is_dutch else book.bid_count,
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
        # A Dutch lot nobody bought ends where its clock stood at the end.
        price_cents=current_price(book, at),
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
    # A sealed bid is a commitment nobody else can see or answer, so it stands; a Dutch
    # acceptance ended the auction, so it was refused above.
    if rules.format is not Format.ENGLISH:
        return Refusal.SEALED_BID_FINAL
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
    rules = book.rules
    if rules.format is Format.DUTCH:
        # The clock sets the price; the only way in is to accept it, whenever asked.
        return Refusal.DUTCH_ACCEPT_ONLY
    refusal = _closed_refusal(book, at)
    if refusal is not None:
        return refusal
    if bidder_id == rules.seller_id:
        return Refusal.SELLER_CANNOT_BID
    if rules.format.is_sealed:
        own = sealed.own_bid(book.sealed, bidder_id)
        if own is not None:
            return Refusal.SEALED_BID_NOT_RAISED if max_cents <= own else None
    elif bidder_id == book.leader_id and book.leader_max_cents is not None:
        return Refusal.NOT_ABOVE_OWN_MAX if max_cents <= book.leader_max_cents else None
    return Refusal.BELOW_MINIMUM if max_cents < min_next_bid(book) else None


def _place_sealed(book: Book, bidder_id: str, amount_cents: int) -> Book:
    rules = book.rules
    standing = sealed.with_bid(book.sealed, bidder_id, amount_cents)
    top = sealed.top(
        standing,
        second_price=rules.format is Format.SEALED_SECOND_PRICE,
        start_cents=rules.start_cents,
        reserve_cents=rules.reserve_cents,
    )
    # No soft close: the end is the one announced, whatever comes in before it.
    return replace(book, sealed=standing, bid_count=book.bid_count + 1, **top._asdict())


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
