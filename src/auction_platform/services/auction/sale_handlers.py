"""Use cases of timed sales: a seller builds a sale of their draft lots and publishes it.

Each runs in one transaction; the lots' cached copies are written after it commits.
Publishing a sale publishes each of its lots as publishing one lot does (one
``AuctionPublished`` each, naming the sale and the lot's number; ``AuctionOpened``
for those whose start has come), with the times the sale gives them. From then on
the lots are auctions like any other: the scheduler opens them, the bid book
extends and closes each on its own, and the sale reads their progress.

Cancelling a published sale (``cancel_sale``: its seller, or an admin) withdraws its
lots still to close one by one through ``handlers.cancel_lot``, so each is withdrawn
exactly as it would be alone, and then marks the sale by the rule of
``sales.cancelled``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from auction_platform.contracts.auctions import AUCTION_PUBLISHED
from auction_platform.core.failures import Conflict, DomainError, Forbidden, Invalid, NotFound
from auction_platform.core.uow import Transaction
from auction_platform.services.auction import domain, sale_store, sales, store, views
from auction_platform.services.auction.commands import CancelLot, Page
from auction_platform.services.auction.domain import Caller, Lot
from auction_platform.services.auction.handlers import Auctions, announce_opened, cancel_lot
from auction_platform.services.auction.sale_store import SaleList
from auction_platform.services.auction.sales import LotProgress, Sale, SaleState


@dataclass(frozen=True, slots=True)
class CreateSale:
    """A seller starts a sale (a draft, without lots)."""

    seller_id: str
    title: str
    description: str
    first_close_at: datetime
    interval_seconds: int
    starts_at: datetime | None = None  # None: when it is published


@dataclass(frozen=True, slots=True)
class EditSale:
    """A draft sale's new words or times: ``Sale`` field names to new values."""

    sale_id: str
    by: Caller
    changes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AddLot:
    """Put the seller's draft lot in the sale: last, or at ``lot_number``."""

    sale_id: str
    lot_id: str
    by: Caller
    lot_number: int | None = None


@dataclass(frozen=True, slots=True)
class MoveLot:
    """Give a lot of a draft sale another number; the others keep their order."""

    sale_id: str
    lot_id: str
    lot_number: int
    by: Caller


@dataclass(frozen=True, slots=True)
class RemoveLot:
    """Take a lot out of a draft sale (it stays a draft of its seller)."""

    sale_id: str
    lot_id: str
    by: Caller


@dataclass(frozen=True, slots=True)
class CancelSale:
    """Withdraw every lot of a published sale still to close, with an optional reason."""

    sale_id: str
    by: Caller
    reason: str | None = None  # for the bidders, as a lot's cancellation carries it


@dataclass(frozen=True, slots=True)
class SaleView:
    """A sale as readers see it: its lots in order, where it stands, what closes next."""

    sale: Sale
    lots: list[Lot]
    state: SaleState
    next_closing: LotProgress | None
    now: datetime

    def ends_of(self, lot: Lot) -> datetime:
        """The lot's end: as it stands once published, as the sale plans it before."""
        if self.sale.status is sales.SaleStatus.DRAFT:
            number = self.sale.number_of(lot.id)
            return self.sale.close_of(number) if number is not None else lot.ends_at
        return lot.ends_at


@dataclass(frozen=True, slots=True)
class SaleSummary:
    """A sale in a list: where it stands, and a picture of one of its lots."""

    sale: Sale
    state: SaleState
    cover_image: str | None


@dataclass(frozen=True, slots=True)
class KeptLot:
    """A lot a cancellation of its sale left running, and the refusal that kept it."""

    number: int
    lot_id: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class SaleCancellation:
    """What cancelling a sale did: the sale after it, the lots it withdrew, those it kept."""

    view: SaleView
    cancelled: list[LotProgress]
    kept: list[KeptLot]


def sale_not_found() -> NotFound:
    """The one refusal for sales that do not exist and drafts that are not yours."""
    return NotFound("sale_not_found", "there is no such sale")


def _visible(sale: Sale | None, viewer: Caller | None) -> Sale:
    if sale is None or not sales.visible_to(
        sale,
        viewer_id=viewer.user_id if viewer else None,
        admin=viewer is not None and viewer.admin,
    ):
        raise sale_not_found()
    return sale


def _own(sale: Sale | None, caller: Caller, *, admin_too: bool = False) -> Sale:
    """The sale, if ``caller`` is its seller (or, with ``admin_too``, an admin)."""
    sale = _visible(sale, caller)
    if sale.seller_id != caller.user_id and not (admin_too and caller.admin):
        raise Forbidden("forbidden", "only the sale's seller can do this")
    return sale


def progress(sale: Sale, lots: Sequence[Lot]) -> list[LotProgress]:
    """Each lot's number, status and end (a draft sale's planned end) in the sale's order."""
    draft = sale.status is sales.SaleStatus.DRAFT
    found = []
    for lot in lots:
        number = sale.number_of(lot.id)
        if number is None:
            continue
        ends_at = sale.close_of(number) if draft else lot.ends_at
        found.append(LotProgress(number, lot.id, lot.status, ends_at))
    return found


def _view(sale: Sale, lots: list[Lot], now: datetime) -> SaleView:
    steps = progress(sale, lots)
    published = sale.status is sales.SaleStatus.PUBLISHED
    return SaleView(
        sale=sale,
        lots=lots,
        state=sales.state_of(sale, steps, now=now),
        next_closing=sales.next_closing(steps) if published else None,
        now=now,
    )


async def create_sale(command: CreateSale, *, ctx: Auctions) -> SaleView:
    """A new draft sale without lots."""
    now = ctx.clock()
    sale = sales.new_sale(
        sale_id=uuid.uuid4().hex,
        seller_id=command.seller_id,
        title=command.title,
        description=command.description,
        first_close_at=command.first_close_at,
        interval_seconds=command.interval_seconds,
        starts_at=command.starts_at,
        limits=ctx.limits,
        now=now,
    )
    async with ctx.uow() as tx:
        await sale_store.add_sale(tx.conn, sale)
    return _view(sale, [], now)


async def edit_sale(command: EditSale, *, ctx: Auctions) -> SaleView:
    """A draft sale's words or times changed."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        sale = _own(
            await sale_store.sale_by_id(tx.conn, command.sale_id, for_update=True), command.by
        )
        sale = sales.edit(sale, command.changes, limits=ctx.limits, now=now)
        await sale_store.save_sale(tx.conn, sale)
        lots = await sale_store.lots_of(tx.conn, sale)
    return _view(sale, lots, now)


async def add_lot(command: AddLot, *, ctx: Auctions) -> SaleView:
    """The seller's draft lot joins the draft sale (last, or at its number)."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        sale = _own(
            await sale_store.sale_by_id(tx.conn, command.sale_id, for_update=True), command.by
        )
        lot = await store.lot_by_id(tx.conn, command.lot_id, for_update=True)
        sale = sales.add_lot(sale, lot, limits=ctx.limits, now=now)
        if command.lot_number is not None:
            sale = sales.move_lot(sale, command.lot_id, command.lot_number, now=now)
        assert lot is not None  # add_lot refused a missing one
        joined = replace(lot, sale_id=sale.id, updated_at=now)
        await store.save_lot(tx.conn, joined)
        await sale_store.save_sale(tx.conn, sale, lots_changed=True)
        lots = await sale_store.lots_of(tx.conn, sale)
    await ctx.lots.put(joined)
    return _view(sale, lots, now)


async def move_lot(command: MoveLot, *, ctx: Auctions) -> SaleView:
    """A lot of a draft sale renumbered."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        sale = _own(
            await sale_store.sale_by_id(tx.conn, command.sale_id, for_update=True), command.by
        )
        sale = sales.move_lot(sale, command.lot_id, command.lot_number, now=now)
        await sale_store.save_sale(tx.conn, sale, lots_changed=True)
        lots = await sale_store.lots_of(tx.conn, sale)
    return _view(sale, lots, now)


async def remove_lot(command: RemoveLot, *, ctx: Auctions) -> SaleView:
    """A lot out of a draft sale: it stays its seller's draft, in no sale."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        sale = _own(
            await sale_store.sale_by_id(tx.conn, command.sale_id, for_update=True), command.by
        )
        sale = sales.remove_lot(sale, command.lot_id, now=now)
        freed = await _leave_sale(tx, command.lot_id, now=now)
        await sale_store.save_sale(tx.conn, sale, lots_changed=True)
        lots = await sale_store.lots_of(tx.conn, sale)
    if freed is not None:
        await ctx.lots.put(freed)
    return _view(sale, lots, now)


async def delete_sale(sale_id: str, by: Caller, *, ctx: Auctions) -> None:
    """Throw a draft sale away; its lots stay their seller's drafts, in no sale."""
    now = ctx.clock()
    freed: list[Lot] = []
    async with ctx.uow() as tx:
        sale = _own(await sale_store.sale_by_id(tx.conn, sale_id, for_update=True), by)
        sales.check_draft(sale)
        for lot_id in sale.lot_ids:
            lot = await _leave_sale(tx, lot_id, now=now)
            if lot is not None:
                freed.append(lot)
        await sale_store.delete_sale(tx.conn, sale.id)
    for lot in freed:
        await ctx.lots.put(lot)


async def _leave_sale(tx: Transaction, lot_id: str, *, now: datetime) -> Lot | None:
    lot = await store.lot_by_id(tx.conn, lot_id, for_update=True)
    if lot is None:
        return None
    left = replace(lot, sale_id=None, updated_at=now)
    await store.save_lot(tx.conn, left)
    return left


async def publish_sale(sale_id: str, by: Caller, *, ctx: Auctions) -> SaleView:
    """Publish the sale and every lot in it, each ending in its turn.

    All or nothing: a lot that may not be published (it is not a draft any more, its
    terms no longer pass) refuses the whole sale, naming the lot (``details``).
    """
    now = ctx.clock()
    async with ctx.uow() as tx:
        sale = _own(await sale_store.sale_by_id(tx.conn, sale_id, for_update=True), by)
        sale = sales.publish(sale, limits=ctx.limits, now=now)
        listed = [
            _published(lot, sale, ctx=ctx, now=now)
            for lot in await sale_store.lots_of(tx.conn, sale, for_update=True)
        ]
        opened = [domain.open_lot(lot, now=now) for lot in listed if now >= lot.terms.starts_at]
        due = {lot.id: lot for lot in opened}
        lots = [due.get(lot.id, lot) for lot in listed]
        for lot in lots:
            await store.save_lot(tx.conn, lot)
            data = {
                **views.published(lot),
                "sale_id": sale.id,
                "lot_number": sale.number_of(lot.id),
            }
            tx.emit(AUCTION_PUBLISHED, data)
        await announce_opened(tx, opened, ctx=ctx)
        await sale_store.save_sale(tx.conn, sale)
    for lot in lots:
        await ctx.lots.put(lot)
    return _view(sale, lots, now)


def _published(lot: Lot, sale: Sale, *, ctx: Auctions, now: datetime) -> Lot:
    """The lot listed with its times in the sale, or the sale refused in the lot's name."""
    timed = sales.lot_in_sale(lot, sale)
    try:
        return domain.publish(timed, limits=ctx.limits, now=now)
    except DomainError as refusal:
        number = sale.number_of(lot.id)
        details = {"auction_id": lot.id, "lot_number": number, "code": refusal.code}
        raise type(refusal)(
            refusal.code, f"lot {number}: {refusal.message}", details=details
        ) from refusal


async def cancel_sale(command: CancelSale, *, ctx: Auctions) -> SaleCancellation:
    """Withdraw every lot of a published sale still to close, lot 1 first; mark the sale.

    Each lot is cancelled by ``handlers.cancel_lot`` in its own transaction, as if
    alone: the bid book asked from its start, ``AuctionCancelled`` (so its bidders and
    watchers are told), an admin's audit record. A lot the caller may not cancel (a
    seller's lot with bids: ``has_bids``) is kept with the refusal's code and runs on;
    the others are withdrawn all the same. An outage (the bid book away) stops the call
    with the lots before it withdrawn: asked again, it goes on from there, and with
    nothing left to withdraw it changes nothing.
    """
    async with ctx.uow.db.read() as conn:
        found = await sale_store.sale_by_id(conn, command.sale_id)
        sale = _own(found, command.by, admin_too=True)
        lots = await sale_store.lots_of(conn, sale)
    withdrawn: list[LotProgress] = []
    kept: list[KeptLot] = []
    for step in sales.to_withdraw(sale, progress(sale, lots)):
        try:
            await cancel_lot(CancelLot(step.lot_id, command.by, command.reason), ctx=ctx)
        except Conflict as refusal:
            kept.append(KeptLot(step.number, step.lot_id, refusal.code, refusal.message))
        else:
            withdrawn.append(step)
    now = ctx.clock()
    async with ctx.uow() as tx:
        found = await sale_store.sale_by_id(tx.conn, command.sale_id, for_update=True)
        sale = _own(found, command.by, admin_too=True)
        lots = await sale_store.lots_of(tx.conn, sale)
        marked = sales.cancelled(sale, progress(sale, lots), now=now)
        if marked is not sale:
            await sale_store.save_sale(tx.conn, marked)
    return SaleCancellation(_view(marked, lots, now), withdrawn, kept)


async def show_sale(sale_id: str, viewer: Caller | None, *, ctx: Auctions) -> SaleView:
    """A sale with its lots in order (a draft only to its seller and admins)."""
    async with ctx.uow.db.read() as conn:
        sale = _visible(await sale_store.sale_by_id(conn, sale_id), viewer)
        lots = await sale_store.lots_of(conn, sale)
    return _view(sale, lots, ctx.clock())


def _key(cursor: str | None, kind: SaleList) -> list[Any] | None:
    if not cursor:
        return None
    try:
        return sale_store.decode_cursor(cursor, kind)
    except sale_store.InvalidCursor as error:
        raise Invalid("invalid_cursor", str(error)) from error


async def _summaries(conn: Any, found: list[Sale], *, now: datetime) -> list[SaleSummary]:
    ids = [sale.id for sale in found]
    running = await sale_store.running_counts(conn, ids)
    covers = await sale_store.cover_images(conn, ids)
    return [
        SaleSummary(
            sale,
            sales.state_when(sale, running=bool(running.get(sale.id)), now=now),
            covers.get(sale.id),
        )
        for sale in found
    ]


async def published_sales(
    *, finished: bool, cursor: str | None, limit: int, ctx: Auctions
) -> Page[SaleSummary]:
    """Published sales with lots still to close, the first close soonest first; or the
    finished ones, the latest first."""
    kind = SaleList.FINISHED if finished else SaleList.CURRENT
    after = _key(cursor, kind)
    async with ctx.uow.db.read() as conn:
        found = await sale_store.published_page(
            conn, finished=finished, after=after, limit=limit + 1
        )
        summaries = await _summaries(conn, found[:limit], now=ctx.clock())
    more = len(found) > limit
    return Page(summaries, sale_store.encode_cursor(kind, found[limit - 1]) if more else None)


async def my_sales(
    seller_id: str, *, cursor: str | None, limit: int, ctx: Auctions
) -> Page[SaleSummary]:
    """A seller's sales in every status, the newest first."""
    after = _key(cursor, SaleList.MINE)
    async with ctx.uow.db.read() as conn:
        found = await sale_store.seller_page(conn, seller_id, after=after, limit=limit + 1)
        summaries = await _summaries(conn, found[:limit], now=ctx.clock())
    more = len(found) > limit
    return Page(
        summaries, sale_store.encode_cursor(SaleList.MINE, found[limit - 1]) if more else None
    )
