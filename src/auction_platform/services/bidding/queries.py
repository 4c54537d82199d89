"""What the bidding service answers about books: a book, its public history, a bidder's lots.

Reads only: the cached copy of a book when there is one and it is not older than one
already shown (Redis is a copy, ``copies.py``), the database otherwise. Nothing here
ever shows a maximum but the caller's own, nor a bidder's identity (bidders appear
under a pseudonym per auction).
"""

from __future__ import annotations

from typing import Any

from auction_platform.core.failures import NotFound
from auction_platform.core.sql import utc
from auction_platform.services.bidding import domain, store
from auction_platform.services.bidding.domain import BookStatus, BookView
from auction_platform.services.bidding.engine import Format
from auction_platform.services.bidding.handlers import Bidding
from auction_platform.services.bidding.state import BookState, repriced


def _no_book() -> NotFound:
    return NotFound("auction_not_found", "there is no book for this auction")


async def book(ctx: Bidding, auction_id: str, *, viewer_id: str | None) -> BookView:
    """Price, leader (pseudonymous), bid count and end; the viewer's standing when a bidder."""
    public = repriced(await _public_book(ctx, auction_id), ctx.clock())
    if viewer_id is not None:
        async with ctx.uow.db.read() as conn:
            mine = [
                r
                for r in await store.ledger(conn, auction_id)
                if r.bidder_id == viewer_id and r.retracted_at is None
            ]
        # Nobody learns where a sealed bid stands before the close, its bidder included.
        sealed_open = _sealed(public) and public["status"] == BookStatus.OPEN
        public["you"] = {
            "leading": None
            if sealed_open
            else public["leader"] == ctx.pseudonyms.of(auction_id, viewer_id),
            "max_cents": max((r.max_cents for r in mine), default=None),
            "bids": [r.seq for r in mine],
        }
    public["server_time"] = ctx.clock().isoformat()
    return public


async def _public_book(ctx: Bidding, auction_id: str) -> BookView:
    cached = await ctx.copies.read(auction_id)
    if cached is not None:
        return cached
    async with ctx.uow.db.read() as conn:
        row = await store.book_row(conn, auction_id, lock=False)
    if row is None:
        raise _no_book()
    public = BookState.load(row, pseudonyms=ctx.pseudonyms).public(ctx.clock())
    ctx.copies.shown(public)
    return public


async def current_books(ctx: Bidding, auction_ids: list[str]) -> list[BookView]:
    """The public books of these auctions as the database has them (to repair their copies)."""
    async with ctx.uow.db.read() as conn:
        rows = await store.book_rows(conn, auction_ids)
    now = ctx.clock()
    return [BookState.load(row, pseudonyms=ctx.pseudonyms).public(now) for row in rows]


async def history(ctx: Bidding, auction_id: str) -> dict[str, Any]:
    """The public bid history: price steps and pseudonymous bidders, never maximums.

    A sealed-bid auction's history is empty until the close; then every bid is shown
    with its amount (a sealed bid is what its bidder offered, not a proxy's ceiling).
    """
    async with ctx.uow.db.read() as conn:
        row = await store.book_row(conn, auction_id, lock=False)
        if row is None:
            raise _no_book()
        rows = await store.ledger(conn, auction_id)
    sealed = _sealed(row.rules)
    if sealed and row.status == BookStatus.OPEN:
        rows = []
    return {
        "auction_id": auction_id,
        "bids": [
            {
                "seq": r.seq,
                "bidder": ctx.pseudonyms.of(auction_id, r.bidder_id),
                "price_cents": r.price_cents,
                "leader": ctx.pseudonyms.of(auction_id, r.leader_id),
                "amount_cents": r.max_cents if sealed else None,
                "placed_at": utc(r.placed_at).isoformat(),
                "retracted": r.retracted_at is not None,
            }
            for r in rows
        ],
        "server_time": ctx.clock().isoformat(),
    }


def _sealed(rules_or_book: dict[str, Any] | None) -> bool:
    """Whether an auction's rules (or its public book) name a sealed-bid format."""
    fmt = (rules_or_book or {}).get("format") or Format.ENGLISH
    return Format(fmt).is_sealed


async def bids_of(ctx: Bidding, user_id: str, *, limit: int) -> dict[str, Any]:
    """The lots a bidder bid on, latest first, with their standing: leading, outbid, won or lost."""
    async with ctx.uow.db.read() as conn:
        rows = await store.bids_of(conn, user_id, limit=limit)
    return {
        "items": [_standing(row, user_id) for row in rows],
        "server_time": ctx.clock().isoformat(),
    }


def _standing(row: Any, user_id: str) -> dict[str, Any]:
    """One of a bidder's lots as they see it: never another bidder's maximum."""
    rules = row.rules or {}
    hidden = _sealed(rules) and row.status == BookStatus.OPEN
    standing = domain.standing(
        row.status,
        leading=row.leader_id == user_id,
        price_cents=row.price_cents,
        reserve_cents=rules.get("reserve_cents"),
        sealed=hidden,
    )
    return {
        "auction_id": row.auction_id,
        "title": row.title,
        "currency": row.currency,
        "status": row.status,
        "standing": standing.value,
        "price_cents": int(rules["start_cents"]) if hidden else int(row.price_cents),
        "your_max_cents": int(row.max_cents),
        "your_bids": int(row.bids),
        "bid_count": int(row.bid_count),
        "ends_at": utc(row.ends_at).isoformat(),
        "last_bid_at": utc(row.last_bid_at).isoformat(),
    }
