"""The lifecycle of a lot: draft -> scheduled -> open -> closed (sold/unsold), or cancelled.

Pure: standard library only (and the platform's domain errors, themselves standard
library only). Every transition takes the lot and the time and returns the new lot,
or raises ``NotAllowed`` with a code. What may be listed lives in ``listing``; this
module decides what may happen to a listing, when, and by whom.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from auction_platform.core.failures import Conflict
from auction_platform.services.auction.listing import (
    InvalidTerms,
    Limits,
    Terms,
    check_terms,
)

# Publishing may lag the seller's chosen start by this much (a slow form, a slow clock).
PUBLISH_GRACE = timedelta(seconds=5)

# The orders of the catalogue (a cursor names the one it was made for).
Sort = Literal["ending_soonest", "newest", "price_low", "price_high"]


class Actor(StrEnum):
    """Who withdraws a lot: its seller, or an admin."""

    SELLER = "seller"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: a user (or service) id, and whether they act as an admin."""

    user_id: str
    admin: bool = False

    @property
    def actor(self) -> Actor:
        """What this caller cancels as."""
        return Actor.ADMIN if self.admin else Actor.SELLER


class Status(StrEnum):
    """Where a lot is in its life."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    """How a closed lot ended."""

    SOLD = "sold"
    UNSOLD = "unsold"


FINAL = frozenset({Status.CLOSED, Status.CANCELLED})
LISTED = frozenset({Status.SCHEDULED, Status.OPEN, Status.CLOSED, Status.CANCELLED})


class NotAllowed(Conflict):
    """The lot is not in a state that allows this; ``code`` says why."""


@dataclass(frozen=True, slots=True)
class Lot:
    """A lot: the seller's terms and what has happened to it so far."""

    id: str
    seller_id: str
    terms: Terms
    status: Status
    current_price_cents: int
    ends_at: datetime  # the effective end, after soft-close extensions
    created_at: datetime
    updated_at: datetime
    bid_count: int = 0
    leader_id: str | None = None
    last_bid_seq: int = 0
    extensions: int = 0
    outcome: Outcome | None = None
    winner_id: str | None = None
    final_price_cents: int | None = None
    cancelled_by: Actor | None = None
    published_at: datetime | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None


def new_lot(*, lot_id: str, seller_id: str, terms: Terms, limits: Limits, now: datetime) -> Lot:
    """A draft with checked terms."""
    terms = check_terms(terms, limits=limits)
    return Lot(
        id=lot_id,
        seller_id=seller_id,
        terms=terms,
        status=Status.DRAFT,
        current_price_cents=terms.start_cents,
        ends_at=terms.ends_at,
        created_at=now,
        updated_at=now,
    )


def check_start(terms: Terms, *, now: datetime) -> None:
    """A lot going on the calendar may not start in the past (beyond a small grace)."""
    if terms.starts_at < now - PUBLISH_GRACE:
        raise InvalidTerms("start_in_past", "the start time has passed; choose a later one")


def publish(lot: Lot, *, limits: Limits, now: datetime) -> Lot:
    """Draft -> scheduled: the lot is listed and opens at its start time."""
    if lot.status is not Status.DRAFT:
        raise NotAllowed("not_draft", f"only a draft can be published; this lot is {lot.status}")
    terms = check_terms(lot.terms, limits=limits)
    check_start(terms, now=now)
    return replace(lot, terms=terms, status=Status.SCHEDULED, published_at=now, updated_at=now)


def open_lot(lot: Lot, *, now: datetime) -> Lot:
    """Scheduled -> open, at or after the start time."""
    if lot.status is not Status.SCHEDULED:
        raise NotAllowed("not_scheduled", f"only a scheduled lot opens; this lot is {lot.status}")
    if now < lot.terms.starts_at:
        raise NotAllowed("not_due", "the lot's start time has not come")
    return replace(lot, status=Status.OPEN, opened_at=now, updated_at=now)


def edit(lot: Lot, terms: Terms, *, limits: Limits, now: datetime) -> Lot:
    """New terms, only before the lot opens (a draft, or scheduled and not yet due)."""
    editable = lot.status is Status.DRAFT or (
        lot.status is Status.SCHEDULED and now < lot.terms.starts_at
    )
    if not editable:
        raise NotAllowed("not_editable", "a lot can only be changed before it opens")
    terms = check_terms(terms, limits=limits)
    if lot.status is Status.SCHEDULED:
        check_start(terms, now=now)
    return replace(
        lot,
        terms=terms,
        current_price_cents=terms.start_cents,
        ends_at=terms.ends_at,
        updated_at=now,
    )


def cancel_needs_book(lot: Lot, *, by: Actor, now: datetime) -> bool:
    """Whether the bid book must agree first; refuses what may never be cancelled.

    From its start time on, a lot takes bids (the book may open it before this
    service's scheduler has), so from then on only the book can say whether there
    are bids. A seller may cancel only before the first one; ``bid_count`` here
    can only lag behind the book, so a count above zero already settles that.
    """
    if lot.status in FINAL:
        raise NotAllowed("not_cancellable", f"a {lot.status} lot cannot be cancelled")
    taking_bids = lot.status is Status.OPEN or (
        lot.status is Status.SCHEDULED and now >= lot.terms.starts_at
    )
    if taking_bids and by == Actor.SELLER and lot.bid_count > 0:
        raise NotAllowed("has_bids", "the lot has bids; only an admin can cancel it now")
    return taking_bids


def cancel(lot: Lot, *, by: Actor, now: datetime) -> Lot:
    """Any state but closed or cancelled -> cancelled (the book has agreed if it was open)."""
    if lot.status in FINAL:
        raise NotAllowed("not_cancellable", f"a {lot.status} lot cannot be cancelled")
    return replace(
        lot, status=Status.CANCELLED, cancelled_by=Actor(by), closed_at=now, updated_at=now
    )


def record_result(
    lot: Lot,
    *,
    sold: bool,
    winner_id: str | None,
    price_cents: int,
    bid_count: int,
    now: datetime,
) -> Lot:
    """Open -> closed: sold to ``winner_id`` at ``price_cents``, or unsold.

    A scheduled lot is accepted too: the book may open and close an auction (Buy It
    Now at the first second) before this service's scheduler has opened it.
    """
    if lot.status not in (Status.OPEN, Status.SCHEDULED):
        raise NotAllowed("not_open", f"only an open lot can close; this lot is {lot.status}")
    if sold and winner_id is None:
        raise NotAllowed("invalid_result", "a sold lot needs a winner")
    return replace(
        lot,
        status=Status.CLOSED,
        outcome=Outcome.SOLD if sold else Outcome.UNSOLD,
        winner_id=winner_id if sold else None,
        final_price_cents=price_cents if sold else None,
        current_price_cents=price_cents if sold or bid_count > 0 else lot.current_price_cents,
        bid_count=bid_count,  # the book is the authority at the close
        closed_at=now,
        updated_at=now,
    )


def apply_bid(
    lot: Lot,
    *,
    seq: int,
    price_cents: int,
    bid_count: int,
    leader_id: str,
    ends_at: datetime,
    now: datetime,
) -> Lot:
    """The book accepted a bid: the new price, leader and end (older news is ignored)."""
    if lot.status in FINAL or seq <= lot.last_bid_seq:
        return lot
    return replace(
        lot,
        current_price_cents=price_cents,
        bid_count=bid_count,
        leader_id=leader_id,
        last_bid_seq=seq,
        ends_at=max(lot.ends_at, ends_at),
        updated_at=now,
    )


def extend(lot: Lot, *, ends_at: datetime, extensions: int, now: datetime) -> Lot:
    """A soft-close extension moved the end; ends only ever move later."""
    if lot.status in FINAL:
        return lot
    return replace(
        lot,
        ends_at=max(lot.ends_at, ends_at),
        extensions=max(lot.extensions, extensions),
        updated_at=now,
    )


def apply_retraction(
    lot: Lot, *, price_cents: int, leader_id: str | None, bid_count: int, now: datetime
) -> Lot:
    """The book recomputed the price and leader after a retraction."""
    if lot.status in FINAL:
        return lot
    return replace(
        lot,
        current_price_cents=price_cents,
        leader_id=leader_id,
        bid_count=bid_count,
        updated_at=now,
    )


def reserve_met(lot: Lot) -> bool | None:
    """None without a reserve; otherwise whether a bid has reached it."""
    reserve = lot.terms.reserve_cents
    if reserve is None:
        return None
    return lot.bid_count > 0 and lot.current_price_cents >= reserve


def buy_now_available(lot: Lot) -> bool:
    """Buy It Now is offered until the first accepted bid (the bidding engine's rule)."""
    if lot.terms.buy_now_cents is None or lot.status not in (Status.SCHEDULED, Status.OPEN):
        return False
    return lot.bid_count == 0


def reminder_due_at(ends_at: datetime, minutes_left: int) -> datetime:
    """When the "ends in ``minutes_left`` minutes" notice is due."""
    return ends_at - timedelta(minutes=minutes_left)


def reminders(lot: Lot, minutes: Iterable[int]) -> list[tuple[int, datetime]]:
    """The ending-soon notices of a lot: ``(minutes_left, due_at)`` after its start only.

    A lot shorter than a reminder's lead time gets no such reminder: "one hour
    left" is wrong when it opened with forty minutes.
    """
    due = [(m, reminder_due_at(lot.ends_at, m)) for m in sorted(set(minutes)) if m > 0]
    return [(m, at) for m, at in due if at > lot.terms.starts_at]


def reminder_is_stale(ends_at: datetime, *, now: datetime) -> bool:
    """A reminder claimed at or after the end says nothing true any more."""
    return now >= ends_at


def visible_to(status: Status, *, seller_id: str, viewer_id: str | None, admin: bool) -> bool:
    """Drafts are seen only by their seller and admins; listed lots by anyone."""
    return status in LISTED or admin or (viewer_id is not None and viewer_id == seller_id)
