"""Timed sales: a seller's lots closing one after another, as estate and charity auctions run.

A sale groups a seller's draft lots in order (lot 1, 2, ... up to ``MAX_LOTS``).
Publishing it publishes every lot at once: all start at the sale's start (now, or
the time it names) and lot ``n`` ends at ``first_close_at + (n - 1) * interval``.
From then on each lot is an auction like any other, with its own format and its own
soft close: a late bid that extends lot 3 moves lot 3's end only, never lot 4's.

Cancelling a published sale withdraws every lot still to close, each as cancelling
it alone would (``to_withdraw``); a lot its caller may not cancel (a seller's lot with
bids) is kept and runs on. **Decision:** the sale is marked cancelled (``cancelled_at``,
state ``cancelled``) by a cancellation that leaves none of its lots to close while at
least one of them was withdrawn (``cancelled``). So a sale with a lot kept stays
running (and finishes as any sale) until a later cancellation, an admin's, withdraws
the rest; a sale whose lots all ended by themselves is finished, never cancelled after
the fact; and a cancellation repeated, or one that failed half-way and is asked again,
reaches the same mark. A draft is not cancelled: nobody else has seen it, so it is
deleted (``sale_draft``).

Pure: standard library only (and the platform's domain errors and the listing rules,
themselves pure). Every function takes the sale and the time and returns the new
sale, or raises a domain error with a code: bad input ``Invalid`` (422), the wrong
moment ``Conflict`` (409).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from auction_platform.core.failures import Conflict, Invalid, NotFound
from auction_platform.services.auction.domain import PUBLISH_GRACE, Lot, Status
from auction_platform.services.auction.listing import (
    Limits,
    Terms,
    check_description,
    check_title,
)

# How far apart the lots' ends are: ten seconds (a quick charity sale) to an hour.
INTERVAL_SECONDS = (10, 3_600)
MAX_LOTS = 500
# The lots of a sale still to close: those that have not ended (nor been withdrawn).
RUNNING = frozenset({Status.SCHEDULED, Status.OPEN})


class SaleStatus(StrEnum):
    """A sale is a draft until its seller publishes it, and its lots with it."""

    DRAFT = "draft"
    PUBLISHED = "published"


class SaleState(StrEnum):
    """Where a sale is, as a reader sees it: its status and its lots' progress."""

    DRAFT = "draft"
    UPCOMING = "upcoming"  # published, its lots not open yet
    RUNNING = "running"  # some lot still to close
    FINISHED = "finished"  # every lot closed (or withdrawn)
    CANCELLED = "cancelled"  # cancelled as a whole: no lot left to close, some withdrawn


class InvalidSale(Invalid):
    """A term of the sale is not acceptable; ``code`` says which (422)."""


class SaleRefused(Conflict):
    """The sale or the lot is not in a state that allows this; ``code`` says why (409)."""


@dataclass(frozen=True, slots=True)
class Sale:
    """A seller's sale: its words, its timing and its lots in order. Times in UTC."""

    id: str
    seller_id: str
    title: str
    description: str
    first_close_at: datetime
    interval_seconds: int
    # None: the sale (a draft) starts when it is published. Fixed by publication.
    starts_at: datetime | None
    status: SaleStatus
    created_at: datetime
    updated_at: datetime
    lot_ids: tuple[str, ...] = ()  # lot 1 first
    published_at: datetime | None = None
    cancelled_at: datetime | None = None  # see ``cancelled``

    @property
    def interval(self) -> timedelta:
        """The time between one lot's planned end and the next's."""
        return timedelta(seconds=self.interval_seconds)

    def close_of(self, number: int) -> datetime:
        """When lot ``number`` (from 1) is planned to end."""
        return self.first_close_at + (number - 1) * self.interval

    @property
    def last_close_at(self) -> datetime | None:
        """When its last lot is planned to end; None while it has no lot."""
        return self.close_of(len(self.lot_ids)) if self.lot_ids else None

    def number_of(self, lot_id: str) -> int | None:
        """The lot's number in the sale (from 1), or None when it is not in it."""
        try:
            return self.lot_ids.index(lot_id) + 1
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class LotProgress:
    """Where one lot of a sale stands: what ``next_closing`` and ``state_of`` read."""

    number: int
    lot_id: str
    status: Status
    ends_at: datetime


def new_sale(
    *,
    sale_id: str,
    seller_id: str,
    title: str,
    description: str,
    first_close_at: datetime,
    interval_seconds: int,
    starts_at: datetime | None,
    limits: Limits,
    now: datetime,
) -> Sale:
    """A draft sale without lots, its words and times checked."""
    sale = Sale(
        id=sale_id,
        seller_id=seller_id,
        title=check_title(title),
        description=check_description(description),
        first_close_at=_utc(first_close_at, "first_close_at"),
        interval_seconds=check_interval(interval_seconds),
        starts_at=_utc(starts_at, "starts_at") if starts_at is not None else None,
        status=SaleStatus.DRAFT,
        created_at=now,
        updated_at=now,
    )
    check_times(sale, limits=limits, now=now)
    return sale


# What ``edit`` changes: ``Sale`` field names.
EDITABLE = frozenset({"title", "description", "first_close_at", "interval_seconds", "starts_at"})


def edit(sale: Sale, changes: Mapping[str, Any], *, limits: Limits, now: datetime) -> Sale:
    """A draft's new words or times (``starts_at`` None: when published)."""
    check_draft(sale)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidSale("validation_error", f"a sale has no {sorted(unknown)[0]} to change")
    edited = sale
    if "title" in changes:
        edited = replace(edited, title=check_title(changes["title"]))
    if "description" in changes:
        edited = replace(edited, description=check_description(changes["description"]))
    if "first_close_at" in changes:
        edited = replace(edited, first_close_at=_utc(changes["first_close_at"], "first_close_at"))
    if "interval_seconds" in changes:
        edited = replace(edited, interval_seconds=check_interval(changes["interval_seconds"]))
    if "starts_at" in changes:
        start = changes["starts_at"]
        edited = replace(edited, starts_at=_utc(start, "starts_at") if start is not None else None)
    edited = replace(edited, updated_at=now)
    check_times(edited, limits=limits, now=now)
    return edited


def check_interval(seconds: int) -> int:
    """Ten seconds to an hour between two lots' ends."""
    low, high = INTERVAL_SECONDS
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not low <= seconds <= high:
        raise InvalidSale("invalid_interval", f"the lots' ends are {low} to {high} seconds apart")
    return seconds


def start_of(sale: Sale, *, now: datetime) -> datetime:
    """When the sale's lots start: its start time, or ``now`` when it starts when published."""
    return sale.starts_at if sale.starts_at is not None else now


def check_times(sale: Sale, *, limits: Limits, now: datetime) -> None:
    """Its start not past; every lot running at least the shortest time a lot may run
    (the first closes soonest) and at most the longest (the last closes latest)."""
    start = start_of(sale, now=now)
    if sale.starts_at is not None and start < now - PUBLISH_GRACE:
        raise InvalidSale("start_in_past", "the sale's start has passed; choose a later one")
    shortest = int(limits.min_duration.total_seconds())
    if sale.first_close_at - start < limits.min_duration or sale.first_close_at <= start:
        raise InvalidSale(
            "first_close_too_soon",
            f"the first lot must close at least {shortest} seconds after the sale starts",
        )
    too_long = InvalidSale(
        "sale_too_long",
        f"the last lot would close after {limits.max_duration.days} days, the longest "
        "a lot may run: close the first one sooner, shorten the interval or take lots out",
    )
    if sale.first_close_at - start > limits.max_duration:
        raise too_long
    try:
        last = sale.last_close_at
    except OverflowError:  # past the calendar's end: far too long in any case
        raise too_long from None
    if last is not None and last - start > limits.max_duration:
        raise too_long


def check_draft(sale: Sale) -> None:
    """Only a draft sale changes: a published one runs as announced."""
    if sale.status is not SaleStatus.DRAFT:
        raise SaleRefused("sale_published", "the sale is published; it can no longer change")


def check_lot_may_join(sale: Sale, lot: Lot | None) -> Lot:
    """The lot, if it may join this sale: the seller's own draft, in no sale yet."""
    if lot is None or lot.seller_id != sale.seller_id:
        raise InvalidSale("not_your_lot", "you have no lot with this id to put in the sale")
    if lot.sale_id == sale.id:
        raise SaleRefused("lot_in_sale", "the lot is in this sale already")
    if lot.sale_id is not None:
        raise SaleRefused(
            "lot_in_another_sale",
            "the lot is in another of your sales; take it out of that one first",
            details={"sale_id": lot.sale_id},
        )
    if lot.status is not Status.DRAFT:
        raise SaleRefused(
            "lot_not_draft",
            f"only a draft lot joins a sale (its times are the sale's); this lot is {lot.status}",
        )
    return lot


def add_lot(sale: Sale, lot: Lot | None, *, limits: Limits, now: datetime) -> Sale:
    """The sale with ``lot`` as its last lot."""
    check_draft(sale)
    lot = check_lot_may_join(sale, lot)
    if len(sale.lot_ids) >= MAX_LOTS:
        raise SaleRefused("sale_full", f"a sale holds at most {MAX_LOTS} lots")
    grown = replace(sale, lot_ids=(*sale.lot_ids, lot.id), updated_at=now)
    check_times(grown, limits=limits, now=now)
    return grown


def remove_lot(sale: Sale, lot_id: str, *, now: datetime) -> Sale:
    """The sale without the lot; the lots after it move up a number."""
    check_draft(sale)
    if lot_id not in sale.lot_ids:
        raise NotFound("lot_not_in_sale", "the lot is not in this sale")
    return replace(sale, lot_ids=tuple(i for i in sale.lot_ids if i != lot_id), updated_at=now)


def move_lot(sale: Sale, lot_id: str, number: int, *, now: datetime) -> Sale:
    """The sale with the lot moved to ``number`` (from 1), the others keeping their order."""
    check_draft(sale)
    if lot_id not in sale.lot_ids:
        raise NotFound("lot_not_in_sale", "the lot is not in this sale")
    if not 1 <= number <= len(sale.lot_ids):
        raise InvalidSale(
            "invalid_lot_number", f"the sale's lots are numbered 1 to {len(sale.lot_ids)}"
        )
    others = [i for i in sale.lot_ids if i != lot_id]
    others.insert(number - 1, lot_id)
    return replace(sale, lot_ids=tuple(others), updated_at=now)


def publish(sale: Sale, *, limits: Limits, now: datetime) -> Sale:
    """Draft -> published: its start fixed (now, when it said none), its lots' ends with it."""
    check_draft(sale)
    if not sale.lot_ids:
        raise SaleRefused("sale_empty", "a sale needs at least one lot to be published")
    check_times(sale, limits=limits, now=now)
    return replace(
        sale,
        status=SaleStatus.PUBLISHED,
        starts_at=start_of(sale, now=now),
        published_at=now,
        updated_at=now,
    )


def lot_in_sale(lot: Lot, sale: Sale) -> Lot:
    """The lot with the times its sale gives it: the sale's start, and its place's end.

    ``sale`` is published (its start fixed); the lot must still be a draft of it.
    """
    number = sale.number_of(lot.id)
    if number is None or sale.starts_at is None:
        raise SaleRefused("lot_not_in_sale", "the lot is not in this sale")
    if lot.status is not Status.DRAFT:
        raise SaleRefused(
            "lot_not_draft",
            f"lot {number} is {lot.status}, not a draft any more: take it out of the sale",
            details={"auction_id": lot.id, "lot_number": number},
        )
    return replace(lot, terms=timed_terms(lot.terms, sale.starts_at, sale.close_of(number)))


def timed_terms(terms: Terms, starts_at: datetime, ends_at: datetime) -> Terms:
    """The lot's terms with fixed times: a sale says when its lots run."""
    return replace(
        terms, starts_at=starts_at, ends_at=ends_at, starts_when_published=False, duration=None
    )


def next_closing(lots: Iterable[LotProgress]) -> LotProgress | None:
    """The lot still to close that ends soonest (the lower number on a tie), or None.

    Ends are the lots' own: a lot extended by late bids may end after the next one.
    """
    running = [lot for lot in lots if lot.status in RUNNING]
    return min(running, key=lambda lot: (lot.ends_at, lot.number), default=None)


def state_of(sale: Sale, lots: Iterable[LotProgress], *, now: datetime) -> SaleState:
    """Draft, upcoming (its lots not open yet), running, finished (none still to close),
    or cancelled."""
    return state_when(sale, running=any(lot.status in RUNNING for lot in lots), now=now)


def state_when(sale: Sale, *, running: bool, now: datetime) -> SaleState:
    """The sale's state, ``running`` saying whether some lot of it is still to close."""
    if sale.status is SaleStatus.DRAFT:
        return SaleState.DRAFT
    if sale.cancelled_at is not None:
        return SaleState.CANCELLED
    if not running:
        return SaleState.FINISHED
    if sale.starts_at is not None and now < sale.starts_at:
        return SaleState.UPCOMING
    return SaleState.RUNNING


def check_cancellable(sale: Sale) -> None:
    """Only a published sale is cancelled: a draft was never announced, so it is deleted."""
    if sale.status is SaleStatus.DRAFT:
        raise SaleRefused(
            "sale_draft",
            "the sale is a draft that nobody else has seen: delete it instead",
        )


def to_withdraw(sale: Sale, lots: Iterable[LotProgress]) -> list[LotProgress]:
    """The lots a cancellation of the sale withdraws, lot 1 first: those still to close."""
    check_cancellable(sale)
    return sorted((lot for lot in lots if lot.status in RUNNING), key=lambda lot: lot.number)


def cancelled(sale: Sale, lots: Iterable[LotProgress], *, now: datetime) -> Sale:
    """The sale once a cancellation has withdrawn what it could (``lots`` as they stand).

    Marked cancelled when none of its lots is left to close and one at least was
    withdrawn; otherwise as it was (a lot kept runs on; a sale whose lots all ended
    by themselves finished). Marked once: a repeated cancellation keeps the first time.
    """
    check_cancellable(sale)
    if sale.cancelled_at is not None:
        return sale
    statuses = [lot.status for lot in lots]
    if any(status in RUNNING for status in statuses) or Status.CANCELLED not in statuses:
        return sale
    return replace(sale, cancelled_at=now, updated_at=now)


def visible_to(sale: Sale, *, viewer_id: str | None, admin: bool) -> bool:
    """A draft only to its seller and admins; a published sale to anyone."""
    return sale.status is SaleStatus.PUBLISHED or admin or viewer_id == sale.seller_id


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidSale("invalid_time", f"{name} needs a time zone (e.g. 'Z')")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidSale("invalid_time", f"{name} is past the end of the calendar") from None
