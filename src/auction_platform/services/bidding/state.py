"""A book as the service handles it: the engine's state plus what the service keeps beside it."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auction_platform.services.bidding import codec, dutch, engine
from auction_platform.services.bidding.domain import BookStatus, BookView


@dataclass(frozen=True, slots=True)
class Pseudonyms:
    """Bidders' public names: the same in one auction, unlinkable across auctions.

    A keyed HMAC of the auction and the user (the key derived from ``SECRET_KEY``,
    ``Settings.derived_key``): without the key, knowing a user's id and an auction's
    tells nothing of which name is theirs. An unkeyed hash would: anyone could compute it.
    """

    key: bytes = field(repr=False)

    def of(self, auction_id: str, user_id: str | None) -> str | None:
        """The name ``user_id`` bids under in ``auction_id`` (None for nobody)."""
        if user_id is None:
            return None
        # NUL never occurs in an id, so no two (auction, user) pairs share a message.
        message = f"{auction_id}\0{user_id}".encode()
        return "bidder-" + hmac.digest(self.key, message, hashlib.sha256).hex()[:6]


@dataclass
class BookState:
    """One auction's book during a batch: engine state, status, ledger rows to append."""

    auction_id: str
    seller_id: str
    title: str
    currency: str
    status: BookStatus
    book: engine.Book
    seq: int  # the ledger's last sequence number: accepted bids only
    result: dict[str, Any] | None
    # One more for every committed change of the book (a bid, Buy It Now, a retraction,
    # a cancel, a close, new rules): watchers order its updates by it. ``seq`` cannot
    # do that, as a retraction or a close changes the book without a ledger row.
    version: int
    pseudonyms: Pseudonyms
    new_bids: list[dict[str, Any]] = field(default_factory=list)
    _counted: tuple[Any, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._counted = self._content()

    @classmethod
    def load(cls, row: Any, *, pseudonyms: Pseudonyms) -> BookState:
        """The state of a book row."""
        return cls(
            auction_id=row.auction_id,
            seller_id=row.seller_id,
            title=row.title,
            currency=row.currency,
            status=BookStatus(row.status),
            book=codec.load(row.state, codec.rules_from(row.rules)),
            seq=int(row.seq),
            result=row.result,
            version=int(row.version),
            pseudonyms=pseudonyms,
        )

    def _content(self) -> tuple[Any, ...]:
        """Everything about the book whose change is a new version of it."""
        return (self.book, self.status, self.result, self.title, self.currency)

    def count_changes(self) -> int:
        """The book's version: one more if it changed since the version was last taken.

        Taken by every view of the book (``public``) and by ``dump``, so whatever
        changed it, each handler's answer and the copy published after the commit
        carry a version above every earlier, different one.
        """
        content = self._content()
        if content != self._counted:
            self._counted = content
            self.version += 1
        return self.version

    def append(self, bidder_id: str, max_cents: int, at: datetime) -> int:
        """Queue an accepted bid for the ledger; its sequence number."""
        self.seq += 1
        self.new_bids.append(
            {
                "auction_id": self.auction_id,
                "seq": self.seq,
                "bidder_id": bidder_id,
                "max_cents": max_cents,
                "placed_at": at,
                "price_cents": self.book.price_cents,
                "leader_id": self.book.leader_id,
            }
        )
        return self.seq

    def dump(self, now: datetime) -> dict[str, Any]:
        """The columns to write back."""
        return {
            "state": codec.dump(self.book),
            "status": self.status.value,
            "price_cents": self.book.price_cents,
            "leader_id": self.book.leader_id,
            "bid_count": self.book.bid_count,
            "ends_at": self.book.ends_at,
            "seq": self.seq,
            "version": self.count_changes(),
            "result": self.result,
            "updated_at": now,
        }

    def public(self, now: datetime) -> BookView:
        """What anyone may see: never a maximum, never a bidder's identity.

        A sealed-bid book shows only its bid count and end until it is over: its price,
        leader and reserve stand at what they were before the first bid. A Dutch book
        shows its clock, so a reader can compute the price at any later moment; closed
        unsold, its price is the last its clock showed.
        """
        book = self.book
        rules = book.rules
        is_open = self.status is BookStatus.OPEN
        hidden = is_open and rules.format.is_sealed
        buy_now = (
            rules.buy_now_cents if is_open and book.bid_count == 0 and rules.buy_now_cents else None
        )
        if hidden:
            price, leader, reserve_met = rules.start_cents, None, None
        else:
            # A Dutch lot's price is its clock's: now while open, where the clock stopped
            # once closed (at the acceptance, or at the end when nobody accepted).
            cancelled = self.status is BookStatus.CANCELLED
            price = book.price_cents if cancelled else engine.current_price(book, now)
            leader = self.pseudonyms.of(self.auction_id, book.leader_id)
            reserve_met = (
                None
                if rules.reserve_cents is None
                else (book.leader_id is not None and book.price_cents >= rules.reserve_cents)
            )
        return {
            "auction_id": self.auction_id,
            "status": self.status.value,
            "format": rules.format.value,
            "currency": self.currency,
            "price_cents": price,
            "leader": leader,
            "bid_count": book.bid_count,
            # A closed or cancelled book takes no next bid.
            "min_next_bid_cents": engine.min_next_bid(book) if is_open else None,
            "buy_now_cents": buy_now,
            "reserve_met": reserve_met,
            "ends_at": book.ends_at.isoformat(),
            "dutch": _clock_view(book, now) if is_open else None,
            "seq": self.seq,
            "version": self.count_changes(),
            "server_time": now.isoformat(),
        }


def _clock_view(book: engine.Book, now: datetime) -> dict[str, Any] | None:
    """A Dutch book's clock as readers need it to show the falling price themselves."""
    rules, clock = book.rules, book.rules.clock
    if clock is None:
        return None
    drop = engine.next_price_drop(book, now)
    return {
        "start_cents": rules.start_cents,
        "floor_cents": clock.floor_cents,
        "step_cents": clock.step_cents,
        "tick_seconds": clock.tick.total_seconds(),
        "starts_at": rules.starts_at.isoformat(),
        "next_drop_at": drop.isoformat() if drop is not None else None,
    }


def repriced(public: BookView, now: datetime) -> BookView:
    """A stored copy of a Dutch book with its price at ``now`` (a copy is kept until it changes)."""
    clock = public.get("dutch")
    if clock is None or public["status"] != BookStatus.OPEN:
        return public
    dial = dutch.DutchClock(
        clock["floor_cents"], clock["step_cents"], timedelta(seconds=clock["tick_seconds"])
    )
    start, starts_at = clock["start_cents"], datetime.fromisoformat(clock["starts_at"])
    ends_at = datetime.fromisoformat(public["ends_at"])
    drop = dial.drop_before(start, starts_at, ends_at, now)
    return {
        **public,
        "price_cents": dial.price_until(start, starts_at, ends_at, now),
        "dutch": {**clock, "next_drop_at": drop.isoformat() if drop is not None else None},
        "server_time": now.isoformat(),
    }
