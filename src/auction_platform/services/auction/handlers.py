"""Use cases of the auction service: one transaction each, the cache written after commit.

Each takes its command (``commands``) and the context, and returns a lot or a page, or
raises a domain error (``core.failures``): bad terms are ``Invalid``, the wrong moment
``Conflict``, someone else's lot ``Forbidden``, a lot nobody may see ``NotFound``.
``api`` maps them to HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auction_platform.contracts import audit
from auction_platform.contracts.auctions import (
    AUCTION_CANCELLED,
    AUCTION_EDITED,
    AUCTION_OPENED,
    AUCTION_PUBLISHED,
)
from auction_platform.contracts.categories import subtree
from auction_platform.core.failures import Forbidden, Invalid, NotFound
from auction_platform.core.objects import ObjectStore, build_object_store
from auction_platform.core.uow import Transaction, UnitOfWork
from auction_platform.services.auction import (
    browse,
    categories,
    category_store,
    domain,
    store,
    views,
)
from auction_platform.services.auction.category_handlers import CategoryTree
from auction_platform.services.auction.commands import (
    BrowseLots,
    CancelLot,
    CreateLot,
    EditLot,
    ListMyLots,
    Page,
    PublishLot,
    RelistLot,
    ShowLot,
    ShowRules,
    ShowWatchlist,
    Unwatch,
    Watch,
)
from auction_platform.services.auction.domain import Caller, Lot, NotAllowed, Sort, Status
from auction_platform.services.auction.listing import Limits
from auction_platform.services.auction.lot_cache import LotCache
from auction_platform.services.auction.ports import (
    BookCancelled,
    BookControl,
    BookRefusal,
    BookRefused,
)
from auction_platform.settings import Settings

PUBLIC_STATUSES = (Status.OPEN, Status.SCHEDULED)
# What the lot's seller is told when the book refuses to be cancelled.
_BOOK_REFUSALS = {
    BookRefusal.HAS_BIDS: "the lot has bids; only an admin can cancel it now",
    BookRefusal.NOT_CANCELLABLE: "the bid book can no longer be cancelled",
}
# ... or to take the lot's new terms.
_EDIT_REFUSALS = {
    BookRefusal.HAS_BIDS: "the lot has bids; its terms can no longer change",
    BookRefusal.NOT_EDITABLE: "the lot has ended; its terms can no longer change",
}


@dataclass
class Auctions:
    """What the auction use cases need, built once by the service definition."""

    uow: UnitOfWork
    lots: LotCache
    settings: Settings
    clock: Callable[[], datetime]
    book: BookControl
    photo_store: ObjectStore | None = None  # None: the settings' (``build_object_store``)
    categories: CategoryTree = field(init=False)
    photos: ObjectStore = field(init=False)

    def __post_init__(self) -> None:
        self.categories = CategoryTree(self.uow, self.clock)
        self.photos = self.photo_store or build_object_store(self.settings)

    @property
    def limits(self) -> Limits:
        """What a listing may be, from the settings."""
        s = self.settings
        return Limits(
            min_duration=timedelta(seconds=s.auction_min_duration_seconds),
            max_duration=timedelta(days=s.auction_max_duration_days),
            max_amount_cents=s.auction_max_amount_cents,
            max_images=s.auction_max_images,
        )


def not_found() -> NotFound:
    """The one refusal for lots that do not exist and drafts that are not yours."""
    return NotFound("auction_not_found", "there is no such auction")


def _own(lot: Lot | None, caller: Caller, *, admin_too: bool = False) -> Lot:
    """The lot, if ``caller`` is its seller (or, with ``admin_too``, an admin)."""
    if lot is None or not domain.visible_to(
        lot.status, seller_id=lot.seller_id, viewer_id=caller.user_id, admin=caller.admin
    ):
        raise not_found()
    if lot.seller_id != caller.user_id and not (admin_too and caller.admin):
        raise Forbidden("forbidden", "only the seller can do this to the lot")
    return lot


async def editable_by(lot_id: str, by: Caller, *, ctx: Auctions) -> Lot:
    """The lot, if ``by`` may change its terms now (else why not), without locking it.

    A cheap early refusal for work done before the edit itself (a photo to process);
    the edit checks again under the lot's lock.
    """
    async with ctx.uow.db.read() as conn:
        lot = _own(await store.lot_by_id(conn, lot_id), by)
    domain.check_editable(lot, now=ctx.clock())
    return lot


async def _check_category(tx: Transaction, lot: Lot, *, was: Lot | None = None) -> None:
    """A lot's category must exist and take lots (unchanged on an edit: kept as it is)."""
    if was is not None and was.terms.category == lot.terms.category:
        return
    categories.listable(await category_store.all_categories(tx.conn), lot.terms.category)


async def announce_opened(tx: Transaction, lots: Sequence[Lot], *, ctx: Auctions) -> None:
    """Lots just opened: plan their ending-soon notices and emit ``AuctionOpened``."""
    minutes = ctx.settings.ending_soon_minutes
    planned = [(lot.id, m, at) for lot in lots for m, at in domain.reminders(lot, minutes)]
    await store.add_reminders(tx.conn, planned)
    for lot in lots:
        tx.emit(AUCTION_OPENED, dict(views.rules(lot)))


async def _list(tx: Transaction, lot: Lot, *, ctx: Auctions, now: datetime) -> Lot:
    """Announce a lot just published; one whose start has come ("start now") opens at once."""
    tx.emit(AUCTION_PUBLISHED, views.published(lot))
    if now < lot.terms.starts_at:
        return lot
    opened = domain.open_lot(lot, now=now)
    await store.save_lot(tx.conn, opened)
    await announce_opened(tx, [opened], ctx=ctx)
    return opened


async def create_lot(command: CreateLot, *, ctx: Auctions) -> Lot:
    """A new draft; published at once when asked (and open at once when it starts now)."""
    now = ctx.clock()
    lot = domain.new_lot(
        lot_id=uuid.uuid4().hex,
        seller_id=command.seller_id,
        terms=command.terms,
        limits=ctx.limits,
        now=now,
    )
    if command.publish:
        lot = domain.publish(lot, limits=ctx.limits, now=now)
    async with ctx.uow() as tx:
        await _check_category(tx, lot)
        await store.add_lot(tx.conn, lot)
        if command.publish:
            lot = await _list(tx, lot, ctx=ctx, now=now)
    await ctx.lots.put(lot)
    return lot


async def edit_lot(command: EditLot, *, ctx: Auctions) -> Lot:
    """Change some terms of a lot until its first bid; the bid book follows.

    Once the lot takes bids the book is asked while the lot's row is locked: the
    book settles the race with a first bid (it refuses the edit once one came),
    and news of bids placed under the new terms applies after this edit, not
    under it. A listed lot's new terms are announced (``AuctionEdited``).
    """
    now = ctx.clock()
    async with ctx.uow() as tx:
        lot = _own(await store.lot_by_id(tx.conn, command.lot_id, for_update=True), command.by)
        changes = command.changes(lot) if callable(command.changes) else command.changes
        edited = domain.edit(lot, changes, limits=ctx.limits, now=now)
        await _check_category(tx, edited, was=lot)
        if domain.taking_bids(lot, now=now):
            answer = await ctx.book.edit(lot.id, views.rules(edited))
            if isinstance(answer, BookRefused):
                raise NotAllowed(answer.reason.value, _EDIT_REFUSALS[answer.reason])
        await store.save_lot(tx.conn, edited)
        if edited.status is Status.OPEN and edited.ends_at != lot.ends_at:
            await _replan_reminders(tx, edited, ctx=ctx, now=now)
        if edited.status is not Status.DRAFT:
            # Drafts are private; a listed lot's new terms reach the catalogue's readers.
            tx.emit(AUCTION_EDITED, views.published(edited))
    await ctx.lots.put(edited)
    return edited


async def _replan_reminders(tx: Transaction, lot: Lot, *, ctx: Auctions, now: datetime) -> None:
    """The end of an open lot moved: its notices not sent yet are planned again.

    A notice that would already be due is dropped rather than sent late ("5 minutes
    left" with 3 left), and one already sent is not sent twice.
    """
    sent = await store.sent_reminders(tx.conn, lot.id)
    await store.drop_unsent_reminders(tx.conn, lot.id)
    due = domain.reminders(lot, ctx.settings.ending_soon_minutes)
    await store.add_reminders(
        tx.conn, [(lot.id, m, at) for m, at in due if m not in sent and at > now]
    )


async def publish_lot(command: PublishLot, *, ctx: Auctions) -> Lot:
    """Put a draft on the calendar: it opens at its start time (at once if that is now)."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        lot = _own(await store.lot_by_id(tx.conn, command.lot_id, for_update=True), command.by)
        if lot.sale_id is not None and lot.status is Status.DRAFT:
            raise NotAllowed("in_sale", "the lot is in a timed sale: it is published with the sale")
        lot = domain.publish(lot, limits=ctx.limits, now=now)
        await store.save_lot(tx.conn, lot)
        lot = await _list(tx, lot, ctx=ctx, now=now)
    await ctx.lots.put(lot)
    return lot


async def relist_lot(command: RelistLot, *, ctx: Auctions) -> Lot:
    """List an unsold lot again: a new lot with its terms; the old one stays closed."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        old = await store.lot_by_id(tx.conn, command.lot_id, for_update=True)
        old = _own(old, command.by)
        earlier = await store.lot_by_id(tx.conn, old.relisted_as) if old.relisted_as else None
        lot = domain.relist(
            old,
            new_id=uuid.uuid4().hex,
            relisting=earlier.status if earlier else None,
            changes=command.changes,
            limits=ctx.limits,
            now=now,
        )
        if command.publish:
            lot = domain.publish(lot, limits=ctx.limits, now=now)
        await _check_category(tx, lot)
        await store.add_lot(tx.conn, lot)
        if command.publish:
            lot = await _list(tx, lot, ctx=ctx, now=now)
        old = domain.mark_relisted(old, as_id=lot.id, now=now)
        await store.save_lot(tx.conn, old)
    await ctx.lots.put(old)
    await ctx.lots.put(lot)
    return lot


async def cancel_lot(command: CancelLot, *, ctx: Auctions) -> Lot:
    """Withdraw a lot: its seller before the first bid, an admin until it closes.

    Once a lot takes bids the bid book is the one place that orders bids and the
    cancellation, so it is asked first (outside this service's transaction), and
    the lot is marked cancelled only when the book has agreed.
    """
    lot_id, caller, by = command.lot_id, command.by, command.by.actor
    async with ctx.uow.db.read() as conn:
        lot = _own(await store.lot_by_id(conn, lot_id), caller, admin_too=True)
    ask_book = domain.cancel_needs_book(lot, by=by, now=ctx.clock())
    book = BookCancelled(bidder_ids=(), bids_voided=False)
    if ask_book:
        answer = await ctx.book.cancel(lot_id, by=by)
        if not isinstance(answer, BookCancelled):
            raise NotAllowed(answer.reason.value, _BOOK_REFUSALS[answer.reason])
        book = answer
    async with ctx.uow() as tx:
        lot = _own(await store.lot_by_id(tx.conn, lot_id, for_update=True), caller, admin_too=True)
        now = ctx.clock()
        # The lot may have reached its start meanwhile: then the book decides.
        if not ask_book and domain.cancel_needs_book(lot, by=by, now=now):
            raise NotAllowed("conflict", "the lot has just opened; try again")
        was = lot.status
        lot = domain.cancel(lot, by=by, now=now)
        await store.save_lot(tx.conn, lot)
        await store.drop_unsent_reminders(tx.conn, lot_id)
        was_draft = was is Status.DRAFT
        if caller.admin:
            audit.record(
                tx,
                actor_id=caller.user_id,
                action="auction.cancelled",
                target=f"auction:{lot_id}",
                at=now.isoformat(),
                reason=command.reason,
                details={
                    "seller_id": lot.seller_id,
                    "status_before": was.value,
                    "bids_voided": book.bids_voided,
                    "bidders": len(book.bidder_ids),
                },
            )
        if not was_draft:  # nobody but the seller ever knew of a draft
            data = views.cancelled(
                lot,
                by=by,
                bids_voided=book.bids_voided,
                bidder_ids=list(book.bidder_ids),
                reason=command.reason,
            )
            tx.emit(AUCTION_CANCELLED, dict(data))
    await ctx.lots.put(lot)
    return lot


async def show_lot(query: ShowLot, *, ctx: Auctions) -> dict[str, Any]:
    """A lot's document (from the cache when it has one), if the viewer may see it."""

    async def load() -> Lot | None:
        async with ctx.uow.db.read() as conn:
            return await store.lot_by_id(conn, query.lot_id)

    document = await ctx.lots.read_through(query.lot_id, load)
    if document is None or not views.visible(document, query.viewer):
        raise not_found()
    return document


async def show_rules(query: ShowRules, *, ctx: Auctions) -> Lot:
    """A listed lot, for its rules and status (the bid book asks)."""
    async with ctx.uow.db.read() as conn:
        lot = await store.lot_by_id(conn, query.lot_id)
    if lot is None or lot.status is Status.DRAFT:
        raise not_found()
    return lot


def _cursor_key(cursor: str | None, kind: browse.CursorKind) -> list[Any] | None:
    if not cursor:
        return None
    try:
        return browse.decode_cursor(cursor, kind)
    except browse.InvalidCursor as error:
        raise Invalid("invalid_cursor", str(error)) from error


async def _page(
    where: browse.LotFilter, *, sort: Sort, cursor: str | None, limit: int, ctx: Auctions
) -> Page[Lot]:
    after = _cursor_key(cursor, sort)
    async with ctx.uow.db.read() as conn:
        found = await browse.lots_page(conn, where, sort=sort, after=after, limit=limit + 1)
    if len(found) <= limit:
        return Page(found, None)
    return Page(found[:limit], browse.encode_cursor(sort, browse.sort_key(found[limit - 1], sort)))


async def browse_lots(query: BrowseLots, *, ctx: Auctions) -> Page[Lot]:
    """The public catalogue: open and scheduled lots unless a status is asked; never drafts."""
    if query.status is Status.DRAFT:
        raise Invalid("validation_error", "drafts are not listed; see /api/v1/auctions/mine")
    now = ctx.clock()
    within = query.ending_within
    category = query.category
    where = browse.LotFilter(
        statuses=(query.status,) if query.status else PUBLIC_STATUSES,
        categories=(
            frozenset(subtree(await ctx.categories.current(), category))
            if category is not None
            else None
        ),
        seller_id=query.seller_id,
        min_price_cents=query.min_price_cents,
        max_price_cents=query.max_price_cents,
        ends_after=now if within is not None else None,
        ends_before=now + timedelta(seconds=within) if within is not None else None,
    )
    return await _page(where, sort=query.sort, cursor=query.cursor, limit=query.limit, ctx=ctx)


async def my_lots(query: ListMyLots, *, ctx: Auctions) -> Page[Lot]:
    """A seller's own lots in every state, drafts included."""
    where = browse.LotFilter(
        statuses=(query.status,) if query.status else tuple(Status), seller_id=query.seller_id
    )
    return await _page(where, sort=query.sort, cursor=query.cursor, limit=query.limit, ctx=ctx)


async def watch(command: Watch, *, ctx: Auctions) -> bool:
    """Put a listed lot on your watchlist; True when it was not there before."""
    async with ctx.uow() as tx:
        lot = await store.lot_by_id(tx.conn, command.lot_id)
        if lot is None or lot.status is Status.DRAFT:
            raise not_found()
        return await store.watch(tx.conn, command.user_id, command.lot_id, now=ctx.clock())


async def unwatch(command: Unwatch, *, ctx: Auctions) -> None:
    """Take a lot off your watchlist (nothing happens when it was not on it)."""
    async with ctx.uow() as tx:
        await store.unwatch(tx.conn, command.user_id, command.lot_id)


async def watchlist(query: ShowWatchlist, *, ctx: Auctions) -> Page[browse.Watched]:
    """Your watchlist, most recently watched first."""
    after = _cursor_key(query.cursor, "watchlist")
    async with ctx.uow.db.read() as conn:
        found = await browse.watched_page(conn, query.user_id, after=after, limit=query.limit + 1)
    if len(found) <= query.limit:
        return Page(found, None)
    last = found[query.limit - 1]
    return Page(found[: query.limit], browse.encode_cursor("watchlist", [last.since, last.lot.id]))
