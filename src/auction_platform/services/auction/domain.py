"""The lifecycle of a lot: draft -> scheduled -> open -> closed (sold/unsold), or cancelled.

An unsold lot may be listed again (``relist``): a new draft with its terms.

Pure: standard library only (and the platform's domain errors, themselves standard
library only). Every transition takes the lot and the time and returns the new lot,
or raises ``NotAllowed`` with a code. What may be listed lives in ``listing``; this
module decides what may happen to a listing, when, and by whom.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from auction_platform.core.failures import Conflict
from auction_platform.services.auction.listing import (
    InvalidTerms,
    Limits,
    Terms,
    check_terms,
    fixed,
    revise,
    timed,
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
    relisted_from: str | None = None  # the unsold lot this one lists again
    relisted_as: str | None = None  # the lot that lists this unsold one again
    sale_id: str | None = None  # the timed sale the lot is sold in (``sales``)


def new_lot(
    *,
    lot_id: str,
    seller_id: str,
    terms: Terms,
    limits: Limits,
    now: datetime,
    relisted_from: str | None = None,
) -> Lot:
    """A draft with checked terms; a start already past is refused at once."""
    terms = check_terms(timed(terms, now=now), limits=limits)
    check_start(terms, now=now)
    return Lot(
        id=lot_id,
        seller_id=seller_id,
        terms=terms,
        status=Status.DRAFT,
        current_price_cents=terms.start_cents,
        ends_at=terms.ends_at,
        created_at=now,
        updated_at=now,
        relisted_from=relisted_from,
    )


def check_start(terms: Terms, *, now: datetime) -> None:
    """A lot may not start in the past (beyond a small grace); "when published" never is."""
    if not terms.starts_when_published and terms.starts_at < now - PUBLISH_GRACE:
        raise InvalidTerms("start_in_past", "the start time has passed; choose a later one")


def publish(lot: Lot, *, limits: Limits, now: datetime) -> Lot:
    """Draft -> scheduled: the lot is listed and opens at its start time (now, if left open)."""
    if lot.status is not Status.DRAFT:
        raise NotAllowed("not_draft", f"only a draft can be published; this lot is {lot.status}")
    terms = check_terms(fixed(lot.terms, now=now), limits=limits)
    check_start(terms, now=now)
    return replace(
        lot,
        terms=terms,
        status=Status.SCHEDULED,
        ends_at=terms.ends_at,
        published_at=now,
        updated_at=now,
    )


def open_lot(lot: Lot, *, now: datetime) -> Lot:
    """Scheduled -> open, at or after the start time."""
    if lot.status is not Status.SCHEDULED:
        raise NotAllowed("not_scheduled", f"only a scheduled lot opens; this lot is {lot.status}")
    if now < lot.terms.starts_at:
        raise NotAllowed("not_due", "the lot's start time has not come")
    return replace(lot, status=Status.OPEN, opened_at=now, updated_at=now)


def taking_bids(lot: Lot, *, now: datetime) -> bool:
    """From its start time on a lot takes bids (the book may open before the scheduler does)."""
    return lot.status is Status.OPEN or (
        lot.status is Status.SCHEDULED and now >= lot.terms.starts_at
    )


def check_editable(lot: Lot, *, now: datetime) -> None:
    """Refuse a change to a lot that has ended, or has had a bid as far as it knows."""
    if lot.status in FINAL:
        raise NotAllowed("not_editable", f"a {lot.status} lot can no longer be changed")
    if lot.bid_count > 0:
        raise NotAllowed("has_bids", "the lot has bids; its terms can no longer change")


def edit(lot: Lot, changes: Mapping[str, Any], *, limits: Limits, now: datetime) -> Lot:
    """New terms, until the lot's first bid (eBay's rule); ``changes`` as in ``revise``.

    Before a lot takes bids anything may change. From its start on, while it has no
    bid, everything but the start (it has happened) and the currency (watchers have
    seen its prices in it) may change, and the new end must be ahead; the book must
    then agree (``taking_bids``), since only it knows whether a bid came first.
    ``bid_count`` here can only lag behind the book, so a count above zero settles it.
    """
    check_editable(lot, now=now)
    live = taking_bids(lot, now=now)
    if live:
        _check_live_changes(lot, changes)
    terms = revise(lot.terms, changes, now=now)
    if lot.status is not Status.DRAFT:
        terms = fixed(terms, now=now)  # a listed lot asked to start "when published": now
    terms = check_terms(terms, limits=limits)
    if live and terms.ends_at <= now:
        raise InvalidTerms("end_in_past", "the new end has passed; choose a later one")
    if not live and (lot.status is Status.SCHEDULED or "starts_at" in changes):
        check_start(terms, now=now)  # a draft's old start is judged when it is published
    return replace(
        lot,
        terms=terms,
        current_price_cents=terms.start_cents,
        ends_at=terms.ends_at,
        updated_at=now,
    )


def _check_live_changes(lot: Lot, changes: Mapping[str, Any]) -> None:
    if "starts_at" in changes and changes["starts_at"] != lot.terms.starts_at:
        raise NotAllowed("start_fixed", "the lot has started; its start time cannot change")
    currency = changes.get("currency")
    if currency is not None and str(currency).strip().upper() != lot.terms.currency:
        raise NotAllowed("currency_fixed", "the currency cannot change once the lot has started")


def relist(
    lot: Lot,
    *,
    new_id: str,
    relisting: Status | None,
    changes: Mapping[str, Any],
    limits: Limits,
    now: datetime,
) -> Lot:
    """A new draft of an unsold lot's terms, with ``changes`` (as in ``edit``).

    Unless told otherwise it starts when published and runs as long as the old one
    was planned to. ``relisting`` is the state of the lot that already lists this one
    again, if any: a lot is relisted once, or again if that relisting was cancelled.
    """
    if lot.status is not Status.CLOSED or lot.outcome is not Outcome.UNSOLD:
        raise NotAllowed("not_relistable", "only a lot that ended unsold can be listed again")
    if lot.relisted_as is not None and relisting is not Status.CANCELLED:
        raise NotAllowed(
            "already_relisted",
            "this lot is listed again already",
            details={"auction_id": lot.relisted_as},
        )
    length = lot.terms.ends_at - lot.terms.starts_at
    again = replace(lot.terms, starts_when_published=True, duration=length)
    return new_lot(
        lot_id=new_id,
        seller_id=lot.seller_id,
        terms=revise(again, changes, now=now),
        limits=limits,
        now=now,
        relisted_from=lot.id,
    )


def mark_relisted(lot: Lot, *, as_id: str, now: datetime) -> Lot:
    """The unsold lot is listed again as ``as_id``; it stays closed."""
    return replace(lot, relisted_as=as_id, updated_at=now)


def cancel_needs_book(lot: Lot, *, by: Actor, now: datetime) -> bool:
    """Whether the bid book must agree first; refuses what may never be cancelled.

    From its start time on, a lot takes bids (the book may open it before this
    service's scheduler has), so from then on only the book can say whether there
    are bids. A seller may cancel only before the first one; ``bid_count`` here
    can only lag behind the book, so a count above zero already settles that.
    """
    if lot.status in FINAL:
        raise NotAllowed("not_cancellable", f"a {lot.status} lot cannot be cancelled")
    live = taking_bids(lot, now=now)
    if live and by == Actor.SELLER and lot.bid_count > 0:
        raise NotAllowed("has_bids", "the lot has bids; only an admin can cancel it now")
    return live


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
    closed_at: datetime | None = None,
    by_buy_now: bool = False,
) -> Lot:
    """Open -> closed: sold to ``winner_id`` at ``price_cents``, or unsold.

    ``closed_at`` is when the book closed (``now`` if not said). Bought at once, the
    lot ended then: that is its end from now on (the planned one stays in its terms).
    A scheduled lot is accepted too: the book may open and close an auction (Buy It
    Now at the first second) before this service's scheduler has opened it.
    """
    if lot.status not in (Status.OPEN, Status.SCHEDULED):
        raise NotAllowed("not_open", f"only an open lot can close; this lot is {lot.status}")
    if sold and winner_id is None:
        raise NotAllowed("invalid_result", "a sold lot needs a winner")
    closed = closed_at or now
    return replace(
        lot,
        status=Status.CLOSED,
        outcome=Outcome.SOLD if sold else Outcome.UNSOLD,
        winner_id=winner_id if sold else None,
        final_price_cents=price_cents if sold else None,
        current_price_cents=price_cents if sold or bid_count > 0 else lot.current_price_cents,
        bid_count=bid_count,  # the book is the authority at the close
        ends_at=closed if by_buy_now else lot.ends_at,
        closed_at=closed,
        updated_at=now,
    )


def apply_bid(
    lot: Lot,
    *,
    seq: int,
    price_cents: int,
    bid_count: int,
    leader_id: str | None,
    ends_at: datetime,
    now: datetime,
) -> Lot:
    """The book accepted a bid: the new price, leader and end (older news is ignored).

    A sealed bid names no leader and leaves the price at the start until the close.
    """
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
