"""What the bidding use cases speak: a book's status, the commands on a book, their results.

Pure: standard library, the domain errors and the service's own ``engine`` only. The
rules of bidding themselves (proxy bids, increments, reserve, soft close, retraction)
are ``engine``'s; this module names what the handlers take, give and refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auction_platform.core.failures import Conflict, DomainError, Forbidden, Unavailable
from auction_platform.services.bidding.engine import Refusal

# What anyone may see of a book (``BookState.public``): never a maximum, never an identity.
BookView = dict[str, Any]


class BookStatus(StrEnum):
    """Where a book is: taking bids, or done with them."""

    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class CancelledBy(StrEnum):
    """Who cancels a lot: its seller (only before the first bid) or an admin (at any time)."""

    SELLER = "seller"
    ADMIN = "admin"


class Standing(StrEnum):
    """A bidder's standing on a lot they bid on."""

    LEADING = "leading"
    OUTBID = "outbid"
    WON = "won"
    LOST = "lost"
    SEALED = "sealed"  # a sealed bid stands, where it ranks is secret until the close


# --- commands ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Idempotency:
    """The client's Idempotency-Key and a fingerprint of the request that came with it."""

    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class PlaceBid:
    """Bid up to a secret maximum."""

    user_id: str
    max_cents: int
    idempotency: Idempotency | None = None


@dataclass(frozen=True, slots=True)
class BuyNow:
    """Buy at the Buy It Now price, closing the auction."""

    user_id: str
    idempotency: Idempotency | None = None


@dataclass(frozen=True, slots=True)
class Retract:
    """Retract one of your own bids, by its sequence number."""

    user_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class CancelBook:
    """Close the book to bids because the lot was cancelled."""

    by: CancelledBy


@dataclass(frozen=True, slots=True)
class EditRules:
    """Run the book under the lot's new terms (``AuctionRulesData``), until its first bid."""

    rules: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WithdrawBids:
    """Retract every bid of a suspended account on this book, if it leads (no policy applies)."""

    user_id: str


BookCommand = PlaceBid | BuyNow | Retract | CancelBook | EditRules | WithdrawBids


# --- results -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BidAccepted:
    """The bid stands: the book after it, its ledger number and the bidder's standing."""

    book: BookView
    seq: int
    leading: bool | None  # None for a sealed bid: where it ranks is secret until the close
    your_max_cents: int


@dataclass(frozen=True, slots=True)
class BoughtNow:
    """The buyer won at the Buy It Now price; the book is closed."""

    book: BookView


@dataclass(frozen=True, slots=True)
class BidRetracted:
    """The bid is out of the ledger; the book replayed without it."""

    book: BookView


@dataclass(frozen=True, slots=True)
class BookCancelled:
    """The book takes no more bids; who had bid, and whether their bids were voided."""

    bidder_ids: tuple[str, ...]
    bids_voided: bool


@dataclass(frozen=True, slots=True)
class RulesEdited:
    """The book runs under the new rules: as it now stands."""

    book: BookView


BookResult = BidAccepted | BoughtNow | BidRetracted | BookCancelled | RulesEdited


# --- refusals ------------------------------------------------------------------------

_BID_REFUSALS = {
    Refusal.BELOW_MINIMUM: "the bid is below the minimum",
    Refusal.SELLER_CANNOT_BID: "sellers cannot bid on their own lots",
    Refusal.AUCTION_ENDED: "the auction has ended",
    Refusal.AUCTION_NOT_OPEN: "the auction has not started",
    Refusal.NOT_ABOVE_OWN_MAX: "you lead already; a new maximum must exceed your current one",
    Refusal.BUY_NOW_UNAVAILABLE: "Buy It Now is no longer available",
    Refusal.SEALED_BID_NOT_RAISED: "a sealed bid may only be raised: offer more than your bid",
    Refusal.DUTCH_ACCEPT_ONLY: "a Dutch auction takes no bids: accept the current price",
}


def bid_refused(reason: Refusal, book: BookView) -> DomainError:
    """Why the engine refused a bid or a purchase, with the book as it stands."""
    kind = Forbidden if reason is Refusal.SELLER_CANNOT_BID else Conflict
    return kind(reason.value, _BID_REFUSALS.get(reason, reason.value), details=book)


def retraction_refused(reason: Refusal) -> DomainError:
    """Why a retraction was refused (eBay's policy, a final sealed bid, or not the caller's)."""
    kind = Forbidden if reason is Refusal.NOT_YOUR_BID else Conflict
    message = (
        "a sealed bid is final: it may be raised, not withdrawn"
        if reason is Refusal.SEALED_BID_FINAL
        else reason.value.replace("_", " ")
    )
    return kind(reason.value, message)


def book_not_open(status: BookStatus, book: BookView) -> Conflict:
    """A command on a closed or cancelled book."""
    code = "auction_cancelled" if status is BookStatus.CANCELLED else "auction_ended"
    return Conflict(code, f"the auction is {status.value}", details=book)


# When a shed request may come back: a queue drains in well under a second.
OVERLOADED_RETRY_AFTER = 1.0


def overloaded(reason: str) -> Unavailable:
    """A command shed before it was applied (its queue was full, or its wait too long)."""
    return Unavailable(
        "overloaded",
        "the bidding service is too busy to take this now; nothing was recorded, try again",
        details={"reason": reason},
        retry_after=OVERLOADED_RETRY_AFTER,
    )


def standing(
    status: str,
    *,
    leading: bool,
    price_cents: int,
    reserve_cents: int | None,
    sealed: bool = False,
) -> Standing:
    """Where a bidder stands: while open, leading or outbid (or sealed); once over, won or lost."""
    if status == BookStatus.OPEN and sealed:
        return Standing.SEALED
    if status == BookStatus.OPEN:
        return Standing.LEADING if leading else Standing.OUTBID
    reserve_met = reserve_cents is None or price_cents >= reserve_cents
    return (
        Standing.WON if leading and status == BookStatus.CLOSED and reserve_met else Standing.LOST
    )
