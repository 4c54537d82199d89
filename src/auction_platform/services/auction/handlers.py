"""Use cases of the auction service: one transaction each, the cache written after commit."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx

from auction_platform.contracts.auctions import (
    AUCTION_CANCELLED,
    AUCTION_EDITED,
    AUCTION_PUBLISHED,
)
from auction_platform.core.auth import Principal
from auction_platform.core.errors import ApiError
from auction_platform.core.uow import UnitOfWork
from auction_platform.services.auction import browse, domain, store, views
from auction_platform.services.auction.domain import Actor, Lot, Status
from auction_platform.services.auction.listing import InvalidTerms, Limits, Terms
from auction_platform.services.auction.lot_cache import LotCache
from auction_platform.settings import Settings

PUBLIC_STATUSES = (Status.OPEN, Status.SCHEDULED)


@dataclass
class Auctions:
    """What the auction use cases need, built once by the service definition."""

    uow: UnitOfWork
    lots: LotCache
    settings: Settings
    clock: Callable[[], datetime]
    # Looked up per call: in the embedded mode the client may be re-pointed after start.
    bidding: Callable[[], httpx.AsyncClient]
    auth_headers: Callable[[], Awaitable[dict[str, str]]]

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


def refused(error: InvalidTerms | domain.NotAllowed) -> ApiError:
    """A rule's refusal as an answer: bad terms are 422, the wrong moment 409."""
    status = 422 if isinstance(error, InvalidTerms) else 409
    return ApiError(status, error.code, error.message)


def not_found() -> ApiError:
    """The one answer for lots that do not exist and drafts that are not yours."""
    return ApiError(404, "auction_not_found", "there is no such auction")


def _is_admin(principal: Principal) -> bool:
    return principal.has_role("admin")


def _own(lot: Lot | None, principal: Principal, *, admin_too: bool = False) -> Lot:
    """The lot, if ``principal`` is its seller (or, with ``admin_too``, an admin)."""
    if lot is None or not domain.visible_to(
        lot.status,
        seller_id=lot.seller_id,
        viewer_id=principal.subject,
        admin=_is_admin(principal),
    ):
        raise not_found()
    if lot.seller_id != principal.subject and not (admin_too and _is_admin(principal)):
        raise ApiError(403, "forbidden", "only the seller can do this to the lot")
    return lot


async def create_lot(*, seller_id: str, terms: Terms, publish: bool, ctx: Auctions) -> Lot:
    """A new draft; published at once when asked."""
    now = ctx.clock()
    try:
        lot = domain.new_lot(
            lot_id=uuid.uuid4().hex, seller_id=seller_id, terms=terms, limits=ctx.limits, now=now
        )
        if publish:
            lot = domain.publish(lot, limits=ctx.limits, now=now)
    except (InvalidTerms, domain.NotAllowed) as error:
        raise refused(error) from error
    async with ctx.uow() as tx:
        await store.add_lot(tx.conn, lot)
        if publish:
            tx.emit(AUCTION_PUBLISHED, views.published(lot))
    await ctx.lots.put(lot)
    return lot


async def edit_lot(
    *, lot_id: str, changes: Mapping[str, Any], principal: Principal, ctx: Auctions
) -> Lot:
    """Change some terms of a lot before it opens."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        lot = _own(await store.lot_by_id(tx.conn, lot_id, for_update=True), principal)
        try:
            lot = domain.edit(lot, replace(lot.terms, **changes), limits=ctx.limits, now=now)
        except (InvalidTerms, domain.NotAllowed) as error:
            raise refused(error) from error
        await store.save_lot(tx.conn, lot)
        if lot.status != domain.Status.DRAFT:
            # Drafts are private; a listed lot's new terms reach the catalogue's readers.
            tx.emit(AUCTION_EDITED, views.published(lot))
    await ctx.lots.put(lot)
    return lot


async def publish_lot(*, lot_id: str, principal: Principal, ctx: Auctions) -> Lot:
    """Put a draft on the calendar: it opens at its start time."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        lot = _own(await store.lot_by_id(tx.conn, lot_id, for_update=True), principal)
        try:
            lot = domain.publish(lot, limits=ctx.limits, now=now)
        except (InvalidTerms, domain.NotAllowed) as error:
            raise refused(error) from error
        await store.save_lot(tx.conn, lot)
        tx.emit(AUCTION_PUBLISHED, views.published(lot))
    await ctx.lots.put(lot)
    return lot


async def cancel_lot(
    *, lot_id: str, principal: Principal, ctx: Auctions, reason: str | None = None
) -> Lot:
    """Withdraw a lot: its seller before the first bid, an admin until it closes.

    Once a lot takes bids the bid book is the one place that orders bids and the
    cancellation, so it is asked first (outside this service's transaction), and
    the lot is marked cancelled only when the book has agreed.
    """
    by: Actor = "admin" if _is_admin(principal) else "seller"
    async with ctx.uow.db.read() as conn:
        lot = _own(await store.lot_by_id(conn, lot_id), principal, admin_too=True)
    try:
        ask_book = domain.cancel_needs_book(lot, by=by, now=ctx.clock())
    except domain.NotAllowed as error:
        raise refused(error) from error
    bidder_ids: list[str] = []
    bids_voided = False
    if ask_book:
        bidder_ids, bids_voided = await _cancel_book(lot_id, by=by, ctx=ctx)
    async with ctx.uow() as tx:
        lot = _own(
            await store.lot_by_id(tx.conn, lot_id, for_update=True), principal, admin_too=True
        )
        now = ctx.clock()
        try:
            # The lot may have reached its start meanwhile: then the book decides.
            if not ask_book and domain.cancel_needs_book(lot, by=by, now=now):
                raise ApiError(409, "conflict", "the lot has just opened; try again")
            was_draft = lot.status is Status.DRAFT
            lot = domain.cancel(lot, by=by, now=now)
        except domain.NotAllowed as error:
            raise refused(error) from error
        await store.save_lot(tx.conn, lot)
        await store.drop_unsent_reminders(tx.conn, lot_id)
        if not was_draft:  # nobody but the seller ever knew of a draft
            tx.emit(
                AUCTION_CANCELLED,
                dict(
                    views.cancelled(
                        lot, by=by, bids_voided=bids_voided, bidder_ids=bidder_ids, reason=reason
                    )
                ),
            )
    await ctx.lots.put(lot)
    return lot


async def _cancel_book(lot_id: str, *, by: Actor, ctx: Auctions) -> tuple[list[str], bool]:
    """Ask the bidding service to close the book; its bidders and whether bids were voided."""
    try:
        response = await ctx.bidding().post(
            f"/api/v1/auctions/{lot_id}/book/cancel",
            json={"by": by},
            headers=await ctx.auth_headers(),
        )
    except httpx.HTTPError as error:
        raise _bidding_unavailable() from error
    if response.status_code == 409:
        code = _error_code(response)
        if code == "has_bids":
            raise ApiError(409, "has_bids", "the lot has bids; only an admin can cancel it now")
        raise ApiError(409, "not_cancellable", "the bid book can no longer be cancelled")
    if response.status_code >= 500:
        raise _bidding_unavailable()
    if response.status_code == 200:
        try:
            body = response.json()
            return [str(user) for user in body["bidder_ids"]], body["bids_voided"] is True
        except (ValueError, TypeError, KeyError):
            pass
    raise ApiError(502, "bad_gateway", f"the bidding service answered {response.status_code}")


def _bidding_unavailable() -> ApiError:
    return ApiError(
        503,
        "dependency_unavailable",
        "the bidding service is unavailable; retry shortly",
        headers={"Retry-After": "1"},
    )


def _error_code(response: httpx.Response) -> str | None:
    try:
        code = response.json()["error"]["code"]
    except (ValueError, TypeError, KeyError):
        return None
    return code if isinstance(code, str) else None


async def lot_document(*, lot_id: str, viewer: Principal | None, ctx: Auctions) -> dict[str, Any]:
    """A lot's document (from the cache when it has one), if ``viewer`` may see it."""

    async def load() -> Lot | None:
        async with ctx.uow.db.read() as conn:
            return await store.lot_by_id(conn, lot_id)

    document = await ctx.lots.read_through(lot_id, load)
    if document is None or not views.visible(document, viewer):
        raise not_found()
    return document


async def rules(*, lot_id: str, ctx: Auctions) -> dict[str, Any]:
    """The rules of an auction and its status (for the bid book)."""
    async with ctx.uow.db.read() as conn:
        lot = await store.lot_by_id(conn, lot_id)
    if lot is None or lot.status is Status.DRAFT:
        raise not_found()
    return {**views.rules(lot), "status": lot.status.value}


def _cursor_key(cursor: str | None, kind: browse.CursorKind) -> list[Any] | None:
    if not cursor:
        return None
    try:
        return browse.decode_cursor(cursor, kind)
    except browse.InvalidCursor as error:
        raise ApiError(400, "invalid_cursor", str(error)) from error


async def _page(
    where: browse.LotFilter, *, sort: browse.Sort, cursor: str | None, limit: int, ctx: Auctions
) -> tuple[list[Lot], str | None]:
    after = _cursor_key(cursor, sort)
    async with ctx.uow.db.read() as conn:
        found = await browse.lots_page(conn, where, sort=sort, after=after, limit=limit + 1)
    if len(found) <= limit:
        return found, None
    return found[:limit], browse.encode_cursor(sort, browse.sort_key(found[limit - 1], sort))


async def browse_lots(
    *,
    status: Status | None,
    category: str | None,
    seller_id: str | None,
    min_price_cents: int | None,
    max_price_cents: int | None,
    ending_within: int | None,
    sort: browse.Sort,
    cursor: str | None,
    limit: int,
    ctx: Auctions,
) -> tuple[list[Lot], str | None]:
    """The public catalogue: open and scheduled lots unless a status is asked; never drafts."""
    if status is Status.DRAFT:
        raise ApiError(422, "validation_error", "drafts are not listed; see /api/v1/auctions/mine")
    now = ctx.clock()
    where = browse.LotFilter(
        statuses=(status,) if status else PUBLIC_STATUSES,
        category=category,
        seller_id=seller_id,
        min_price_cents=min_price_cents,
        max_price_cents=max_price_cents,
        ends_after=now if ending_within is not None else None,
        ends_before=now + timedelta(seconds=ending_within) if ending_within is not None else None,
    )
    return await _page(where, sort=sort, cursor=cursor, limit=limit, ctx=ctx)


async def my_lots(
    *,
    seller_id: str,
    status: Status | None,
    sort: browse.Sort,
    cursor: str | None,
    limit: int,
    ctx: Auctions,
) -> tuple[list[Lot], str | None]:
    """A seller's own lots in every state, drafts included."""
    where = browse.LotFilter(statuses=(status,) if status else tuple(Status), seller_id=seller_id)
    return await _page(where, sort=sort, cursor=cursor, limit=limit, ctx=ctx)


async def watch(*, lot_id: str, user: Principal, ctx: Auctions) -> bool:
    """Put a listed lot on your watchlist; True when it was not there before."""
    async with ctx.uow() as tx:
        lot = await store.lot_by_id(tx.conn, lot_id)
        if lot is None or lot.status is Status.DRAFT:
            raise not_found()
        return await store.watch(tx.conn, user.subject, lot_id, now=ctx.clock())


async def unwatch(*, lot_id: str, user: Principal, ctx: Auctions) -> None:
    """Take a lot off your watchlist (nothing happens when it was not on it)."""
    async with ctx.uow() as tx:
        await store.unwatch(tx.conn, user.subject, lot_id)


async def watchlist(
    *, user: Principal, cursor: str | None, limit: int, ctx: Auctions
) -> tuple[list[browse.Watched], str | None]:
    """Your watchlist, most recently watched first."""
    after = _cursor_key(cursor, "watchlist")
    async with ctx.uow.db.read() as conn:
        found = await browse.watched_page(conn, user.subject, after=after, limit=limit + 1)
    if len(found) <= limit:
        return found, None
    last = found[limit - 1]
    return found[:limit], browse.encode_cursor("watchlist", [last.since, last.lot.id])
