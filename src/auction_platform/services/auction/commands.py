"""What the auction use cases are asked: one frozen dataclass per command or query.

The HTTP layer (or a test, or the CLI) builds one and hands it to its handler in
``handlers``; what comes back is a lot, a page of them, or a domain error.
Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from auction_platform.services.auction.domain import Caller, Lot, Sort, Status
from auction_platform.services.auction.listing import Terms

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CreateLot:
    """List a lot as a draft, or published at once."""

    seller_id: str
    terms: Terms
    publish: bool = False


@dataclass(frozen=True, slots=True)
class EditLot:
    """Change some terms of a lot until its first bid: ``Terms`` field names to new values.

    ``starts_at`` None: start when published (a listed lot: now); ``duration``, a
    ``timedelta``, in place of ``ends_at``: the lot runs that long from its start.
    ``changes`` may be a function of the lot as it is, read under its lock (a photo
    added to the images the lot has at that moment, not those it had before).
    """

    lot_id: str
    changes: Mapping[str, Any] | Callable[[Lot], Mapping[str, Any]]
    by: Caller


@dataclass(frozen=True, slots=True)
class RelistLot:
    """List an unsold lot again: a new lot with its terms, ``changes`` as in ``EditLot``."""

    lot_id: str
    by: Caller
    changes: Mapping[str, Any]
    publish: bool = False


@dataclass(frozen=True, slots=True)
class PublishLot:
    """Put a draft on the calendar."""

    lot_id: str
    by: Caller


@dataclass(frozen=True, slots=True)
class CancelLot:
    """Withdraw a lot, with an optional reason for the bidders."""

    lot_id: str
    by: Caller
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ShowLot:
    """One lot's document, as ``viewer`` (None: not signed in) may see it."""

    lot_id: str
    viewer: Caller | None = None


@dataclass(frozen=True, slots=True)
class ShowRules:
    """The rules of a listed lot (for the bid book)."""

    lot_id: str


@dataclass(frozen=True, slots=True)
class BrowseLots:
    """A page of the public catalogue: open and scheduled lots, or one status."""

    status: Status | None = None
    category: str | None = None
    seller_id: str | None = None
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    ending_within: int | None = None  # seconds from now
    sort: Sort = "ending_soonest"
    cursor: str | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class ListMyLots:
    """A page of a seller's own lots, drafts included."""

    seller_id: str
    status: Status | None = None
    sort: Sort = "newest"
    cursor: str | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class Watch:
    """Put a listed lot on a user's watchlist."""

    lot_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class Unwatch:
    """Take a lot off a user's watchlist."""

    lot_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class ShowWatchlist:
    """A page of a user's watchlist, most recently watched first."""

    user_id: str
    cursor: str | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Some items of a list, and the cursor of the next page (None at the end)."""

    items: list[T]
    next_cursor: str | None
