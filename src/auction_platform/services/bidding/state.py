"""A book as the service handles it: the engine's state plus what the service keeps beside it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auction_platform.services.bidding import codec, engine
from auction_platform.services.bidding.domain import BookStatus, BookView


def pseudonym(auction_id: str, user_id: str | None) -> str | None:
    """A bidder's public name in one auction; unlinkable across auctions."""
    if user_id is None:
        return None
    return "bidder-" + hashlib.sha256(f"{auction_id}:{user_id}".encode()).hexdigest()[:6]


@dataclass
class BookState:
    """One auction's book during a batch: engine state, status, ledger rows to append."""

    auction_id: str
    seller_id: str
    title: str
    currency: str
    status: BookStatus
    book: engine.Book
    seq: int
    result: dict[str, Any] | None
    new_bids: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, row: Any) -> BookState:
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
        )

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
            "result": self.result,
            "updated_at": now,
        }

    def public(self, now: datetime) -> BookView:
        """What anyone may see: never a maximum, never a bidder's identity."""
        book = self.book
        rules = book.rules
        is_open = self.status is BookStatus.OPEN
        buy_now = (
            rules.buy_now_cents if is_open and book.bid_count == 0 and rules.buy_now_cents else None
        )
        return {
            "auction_id": self.auction_id,
            "status": self.status.value,
            "currency": self.currency,
            "price_cents": book.price_cents,
            "leader": pseudonym(self.auction_id, book.leader_id),
            "bid_count": book.bid_count,
            # A closed or cancelled book takes no next bid.
            "min_next_bid_cents": engine.min_next_bid(book) if is_open else None,
            "buy_now_cents": buy_now,
            "reserve_met": None
            if rules.reserve_cents is None
            else (book.leader_id is not None and book.price_cents >= rules.reserve_cents),
            "ends_at": book.ends_at.isoformat(),
            "seq": self.seq,
            "server_time": now.isoformat(),
        }
