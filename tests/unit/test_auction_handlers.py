"""The auction use cases without the platform: SQLite, the memory cache and a fake bid book.

Each test migrates a fresh SQLite file, runs the handlers as the routes would, and
reads the refusals' codes (and, through the service's error table, their statuses).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from auction_platform.core.cache.memory import MemoryCache
from auction_platform.core.db import Database
from auction_platform.core.failures import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Unavailable,
)
from auction_platform.core.migrate import migrate
from auction_platform.core.uow import UnitOfWork
from auction_platform.services.auction import domain, handlers, store
from auction_platform.services.auction.api import ERRORS
from auction_platform.services.auction.commands import (
    BrowseLots,
    CancelLot,
    CreateLot,
    EditLot,
    ListMyLots,
    PublishLot,
    ShowLot,
    ShowRules,
    ShowWatchlist,
    Unwatch,
    Watch,
)
from auction_platform.services.auction.domain import Actor, Caller, Lot, Status
from auction_platform.services.auction.handlers import Auctions
from auction_platform.services.auction.listing import DEFAULT_INCREMENTS, Terms
from auction_platform.services.auction.lot_cache import LotCache, key
from auction_platform.services.auction.ports import (
    BookAnswer,
    BookCancelled,
    BookRefusal,
    BookRefused,
)
from auction_platform.settings import Settings

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=1)
SAM, BEA = Caller("sam"), Caller("bea")
ROOT = Caller("root", admin=True)
TERMS = Terms(
    title="A 1960s Leica M3",
    description="Works; light meter included.",
    category="cameras",
    images=("https://images.example.com/leica.jpg",),
    currency="EUR",
    start_cents=10_000,
    reserve_cents=50_000,
    buy_now_cents=90_000,
    increments=DEFAULT_INCREMENTS,
    starts_at=START,
    ends_at=START + timedelta(days=2),
)


class Clock:
    """A hand-moved clock; ``then`` queues the next readings (one per call)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.queued: list[datetime] = []

    def __call__(self) -> datetime:
        return self.queued.pop(0) if self.queued else self.now

    def then(self, *readings: datetime) -> None:
        self.queued.extend(readings)


@dataclass
class FakeBook:
    """The bid book as the bidding service keeps it: bidders per auction, closed books."""

    bidders: dict[str, list[str]] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    down: bool = False
    calls: list[tuple[str, Actor]] = field(default_factory=list)

    async def cancel(self, auction_id: str, *, by: Actor) -> BookAnswer:
        self.calls.append((auction_id, by))
        if self.down:
            raise Unavailable(
                "dependency_unavailable",
                "the bidding service is unavailable; retry shortly",
                retry_after=1,
            )
        if auction_id in self.closed:
            return BookRefused(BookRefusal.NOT_CANCELLABLE)
        bidders = self.bidders.get(auction_id, [])
        if bidders and by is Actor.SELLER:
            return BookRefused(BookRefusal.HAS_BIDS)
        self.closed.add(auction_id)
        return BookCancelled(bidder_ids=tuple(bidders), bids_voided=bool(bidders))


@dataclass
class World:
    """The context the handlers run in, and the fakes behind it."""

    ctx: Auctions
    clock: Clock
    book: FakeBook
    cache: MemoryCache

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        outbox = store.TABLES.outbox
        query = select(outbox.c.payload).where(outbox.c.event_type == event_type)
        async with self.ctx.uow.db.read() as conn:
            payloads = (await conn.execute(query.order_by(outbox.c.seq))).scalars()
            return [json.loads(payload)["data"] for payload in payloads]

    async def stored(self, lot_id: str) -> Lot:
        async with self.ctx.uow.db.read() as conn:
            lot = await store.lot_by_id(conn, lot_id)
        assert lot is not None
        return lot

    async def lot(self, *, publish: bool = False, **terms: Any) -> Lot:
        command = CreateLot(seller_id=SAM.user_id, terms=replace(TERMS, **terms), publish=publish)
        return await handlers.create_lot(command, ctx=self.ctx)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/auction.sqlite3", pool_size=2)
    await migrate(db, "auction")
    clock, book, cache = Clock(NOW), FakeBook(), MemoryCache()
    ctx = Auctions(
        uow=UnitOfWork(db, outbox=store.TABLES.outbox, producer="auction"),
        lots=LotCache(cache),
        settings=Settings(_env_file=None),
        clock=clock,
        book=book,
    )
    yield World(ctx, clock, book, cache)
    await db.dispose()


def refusal(error: pytest.ExceptionInfo[DomainError]) -> tuple[int, str]:
    """The status and code a refusal leaves the service with."""
    return ERRORS.status_of(error.value), error.value.code


# Creating


async def test_a_new_lot_is_a_draft_only_its_seller_and_admins_see(world: World) -> None:
    lot = await world.lot()
    assert lot.status is Status.DRAFT
    assert await world.events("AuctionPublished") == []
    assert await world.cache.get(key(lot.id)) is not None
    for viewer in (SAM, ROOT):
        document = await handlers.show_lot(ShowLot(lot.id, viewer=viewer), ctx=world.ctx)
        assert document["public"]["status"] == "draft"
    for stranger in (BEA, None):
        with pytest.raises(NotFound) as hidden:
            await handlers.show_lot(ShowLot(lot.id, viewer=stranger), ctx=world.ctx)
        assert refusal(hidden) == (404, "auction_not_found")


async def test_a_lot_listed_with_publish_is_scheduled_and_announced(world: World) -> None:
    lot = await world.lot(publish=True)
    assert lot.status is Status.SCHEDULED
    assert lot.published_at == NOW
    [published] = await world.events("AuctionPublished")
    assert published["auction_id"] == lot.id
    assert published["category"] == "cameras"


async def test_bad_terms_are_invalid_and_store_nothing(world: World) -> None:
    with pytest.raises(Invalid) as refused:
        await world.lot(title="x")
    assert refusal(refused) == (422, "invalid_title")
    with pytest.raises(Invalid) as late:
        await world.lot(publish=True, starts_at=NOW - timedelta(minutes=1))
    assert refusal(late) == (422, "start_in_past")
    mine = await handlers.my_lots(ListMyLots(SAM.user_id), ctx=world.ctx)
    assert mine.items == []


# Editing and publishing


async def test_a_draft_changes_quietly_and_a_listed_lot_tells_the_catalogue(world: World) -> None:
    draft = await world.lot()
    changed = await handlers.edit_lot(
        EditLot(draft.id, changes={"title": "A Leica M3", "reserve_cents": None}, by=SAM),
        ctx=world.ctx,
    )
    assert (changed.terms.title, changed.terms.reserve_cents) == ("A Leica M3", None)
    assert await world.events("AuctionEdited") == []
    await handlers.publish_lot(PublishLot(draft.id, by=SAM), ctx=world.ctx)
    await handlers.edit_lot(EditLot(draft.id, {"start_cents": 12_000}, by=SAM), ctx=world.ctx)
    [edited] = await world.events("AuctionEdited")
    assert edited["start_cents"] == 12_000
    assert (await world.stored(draft.id)).current_price_cents == 12_000


async def test_only_the_seller_changes_a_lot_and_others_drafts_do_not_exist(
    world: World,
) -> None:
    draft, listed = await world.lot(), await world.lot(publish=True)
    with pytest.raises(NotFound) as hidden:
        await handlers.edit_lot(EditLot(draft.id, {"title": "Mine"}, by=BEA), ctx=world.ctx)
    assert refusal(hidden) == (404, "auction_not_found")
    for lot_id, caller in [(listed.id, BEA), (draft.id, ROOT)]:
        with pytest.raises(Forbidden) as forbidden:
            await handlers.edit_lot(EditLot(lot_id, {"title": "Mine"}, by=caller), ctx=world.ctx)
        assert refusal(forbidden) == (403, "forbidden")
    with pytest.raises(Forbidden):
        await handlers.publish_lot(PublishLot(draft.id, by=ROOT), ctx=world.ctx)
    with pytest.raises(NotFound):
        await handlers.publish_lot(PublishLot("nope", by=SAM), ctx=world.ctx)


async def test_changes_are_checked_and_stop_when_the_lot_opens(world: World) -> None:
    lot = await world.lot(publish=True)
    with pytest.raises(Invalid) as bad:
        await handlers.edit_lot(EditLot(lot.id, {"buy_now_cents": 100}, by=SAM), ctx=world.ctx)
    assert refusal(bad) == (422, "invalid_buy_now")
    world.clock.now = START
    with pytest.raises(Conflict) as late:
        await handlers.edit_lot(EditLot(lot.id, {"title": "Late"}, by=SAM), ctx=world.ctx)
    assert refusal(late) == (409, "not_editable")


async def test_a_draft_is_published_once_and_not_after_its_start(world: World) -> None:
    lot, stale = await world.lot(), await world.lot()
    await handlers.publish_lot(PublishLot(lot.id, by=SAM), ctx=world.ctx)
    with pytest.raises(Conflict) as again:
        await handlers.publish_lot(PublishLot(lot.id, by=SAM), ctx=world.ctx)
    assert refusal(again) == (409, "not_draft")
    world.clock.now = START + timedelta(minutes=1)
    with pytest.raises(Invalid) as late:
        await handlers.publish_lot(PublishLot(stale.id, by=SAM), ctx=world.ctx)
    assert refusal(late) == (422, "start_in_past")
    assert len(await world.events("AuctionPublished")) == 1


# Cancelling


async def test_a_draft_is_cancelled_without_the_book_or_an_event(world: World) -> None:
    lot = await world.lot()
    cancelled = await handlers.cancel_lot(CancelLot(lot.id, by=SAM), ctx=world.ctx)
    assert (cancelled.status, cancelled.cancelled_by) == (Status.CANCELLED, Actor.SELLER)
    assert world.book.calls == []
    assert await world.events("AuctionCancelled") == []


async def test_a_lot_before_its_start_is_cancelled_without_asking_the_book(world: World) -> None:
    lot = await world.lot(publish=True)
    await handlers.cancel_lot(CancelLot(lot.id, by=SAM, reason="sold elsewhere"), ctx=world.ctx)
    assert world.book.calls == []
    [event] = await world.events("AuctionCancelled")
    assert (event["by"], event["bids_voided"], event["bidder_ids"]) == ("seller", False, [])
    assert event["reason"] == "sold elsewhere"
    assert (await world.stored(lot.id)).status is Status.CANCELLED


async def test_an_open_lot_is_cancelled_once_the_book_agrees(world: World) -> None:
    lot = await world.lot(publish=True)
    world.clock.now = START
    cancelled = await handlers.cancel_lot(CancelLot(lot.id, by=SAM), ctx=world.ctx)
    assert cancelled.status is Status.CANCELLED
    assert world.book.calls == [(lot.id, Actor.SELLER)]
    [event] = await world.events("AuctionCancelled")
    assert (event["by"], event["bids_voided"]) == ("seller", False)


async def test_the_book_refuses_a_seller_once_someone_has_bid(world: World) -> None:
    lot = await world.lot(publish=True)
    world.clock.now = START
    world.book.bidders[lot.id] = ["bea", "cy"]
    with pytest.raises(Conflict) as refused:
        await handlers.cancel_lot(CancelLot(lot.id, by=SAM), ctx=world.ctx)
    assert refusal(refused) == (409, "has_bids")
    assert refused.value.message == "the lot has bids; only an admin can cancel it now"
    assert (await world.stored(lot.id)).status is Status.SCHEDULED
    assert await world.events("AuctionCancelled") == []


async def test_an_admin_cancels_a_lot_with_bids_and_voids_them(world: World) -> None:
    lot = await world.lot(publish=True)
    world.clock.now = START
    world.book.bidders[lot.id] = ["bea", "cy"]
    cancelled = await handlers.cancel_lot(CancelLot(lot.id, by=ROOT), ctx=world.ctx)
    assert cancelled.cancelled_by is Actor.ADMIN
    assert world.book.calls == [(lot.id, Actor.ADMIN)]
    [event] = await world.events("AuctionCancelled")
    assert (event["by"], event["bids_voided"], event["bidder_ids"]) == (
        "admin",
        True,
        ["bea", "cy"],
    )


async def test_a_seller_whose_lot_shows_bids_is_refused_without_asking_the_book(
    world: World,
) -> None:
    lot = await world.lot(publish=True)
    world.clock.now = START
    bid = domain.apply_bid(
        lot, seq=1, price_cents=10_000, bid_count=1, leader_id="bea", ends_at=lot.ends_at, now=START
    )
    async with world.ctx.uow() as tx:
        await store.save_lot(tx.conn, bid)
    with pytest.raises(Conflict) as refused:
        await handlers.cancel_lot(CancelLot(lot.id, by=SAM), ctx=world.ctx)
    assert refusal(refused) == (409, "has_bids")
    assert world.book.calls == []


async def test_a_book_past_cancelling_is_not_cancellable(world: World) -> None:
    lot = await world.lot(publish=True)
    world.clock.now = START
    world.book.closed.add(lot.id)
    with pytest.raises(Conflict) as refused:
        await handlers.cancel_lot(CancelLot(lot.id, by=ROOT), ctx=world.ctx)
    assert refusal(refused) == (409, "not_cancellable")
    assert refused.value.message == "the bid book can no longer be cancelled"


async def test_without_the_book_an_open_lot_stays_open(world: World) -> None:
    lot = await world.lot(publish=True)
    world.clock.now = START
    world.book.down = True
    with pytest.raises(Unavailable) as down:
        await handlers.cancel_lot(CancelLot(lot.id, by=SAM), ctx=world.ctx)
    assert refusal(down) == (503, "dependency_unavailable")
    assert ERRORS.headers_of(down.value) == {"Retry-After": "1"}
    assert (await world.stored(lot.id)).status is Status.SCHEDULED
    assert await world.events("AuctionCancelled") == []


async def test_a_lot_that_opens_while_being_cancelled_is_tried_again(world: World) -> None:
    lot = await world.lot(publish=True)
    world.clock.then(START - timedelta(seconds=1), START)
    with pytest.raises(Conflict) as raced:
        await handlers.cancel_lot(CancelLot(lot.id, by=SAM), ctx=world.ctx)
    assert refusal(raced) == (409, "conflict")
    assert raced.value.message == "the lot has just opened; try again"
    assert world.book.calls == []
    assert (await world.stored(lot.id)).status is Status.SCHEDULED


async def test_only_its_seller_or_an_admin_cancels_and_only_once(world: World) -> None:
    lot = await world.lot(publish=True)
    with pytest.raises(Forbidden) as forbidden:
        await handlers.cancel_lot(CancelLot(lot.id, by=BEA), ctx=world.ctx)
    assert refusal(forbidden) == (403, "forbidden")
    await handlers.cancel_lot(CancelLot(lot.id, by=ROOT), ctx=world.ctx)
    with pytest.raises(Conflict) as again:
        await handlers.cancel_lot(CancelLot(lot.id, by=SAM), ctx=world.ctx)
    assert refusal(again) == (409, "not_cancellable")
    with pytest.raises(NotFound):
        await handlers.cancel_lot(CancelLot("nope", by=ROOT), ctx=world.ctx)


# Watching


async def test_a_listed_lot_is_watched_once_and_unwatched_quietly(world: World) -> None:
    lot = await world.lot(publish=True)
    assert await handlers.watch(Watch(lot.id, BEA.user_id), ctx=world.ctx) is True
    world.clock.now = NOW + timedelta(seconds=1)
    assert await handlers.watch(Watch(lot.id, BEA.user_id), ctx=world.ctx) is False
    watched = await handlers.watchlist(ShowWatchlist(BEA.user_id), ctx=world.ctx)
    assert [(item.lot.id, item.since) for item in watched.items] == [(lot.id, NOW)]
    for _ in range(2):
        await handlers.unwatch(Unwatch(lot.id, BEA.user_id), ctx=world.ctx)
    assert (await handlers.watchlist(ShowWatchlist(BEA.user_id), ctx=world.ctx)).items == []


async def test_drafts_and_missing_lots_cannot_be_watched(world: World) -> None:
    draft = await world.lot()
    for lot_id in (draft.id, "nope"):
        with pytest.raises(NotFound) as missing:
            await handlers.watch(Watch(lot_id, BEA.user_id), ctx=world.ctx)
        assert refusal(missing) == (404, "auction_not_found")


# Reading


async def test_the_catalogue_lists_listed_lots_a_page_at_a_time_and_never_drafts(
    world: World,
) -> None:
    await world.lot()
    listed = [await world.lot(publish=True) for _ in range(3)]
    first = await handlers.browse_lots(BrowseLots(limit=2), ctx=world.ctx)
    assert first.next_cursor is not None
    rest = await handlers.browse_lots(BrowseLots(cursor=first.next_cursor), ctx=world.ctx)
    assert rest.next_cursor is None
    assert {lot.id for lot in first.items + rest.items} == {lot.id for lot in listed}
    with pytest.raises(Invalid) as drafts:
        await handlers.browse_lots(BrowseLots(status=Status.DRAFT), ctx=world.ctx)
    assert refusal(drafts) == (422, "validation_error")
    with pytest.raises(Invalid) as foreign:
        await handlers.browse_lots(
            BrowseLots(sort="newest", cursor=first.next_cursor), ctx=world.ctx
        )
    assert refusal(foreign) == (400, "invalid_cursor")


async def test_a_seller_lists_their_own_lots_drafts_included(world: World) -> None:
    draft, listed = await world.lot(), await world.lot(publish=True)
    mine = await handlers.my_lots(ListMyLots(SAM.user_id), ctx=world.ctx)
    assert [lot.id for lot in mine.items] == sorted_newest([draft, listed])
    drafts = await handlers.my_lots(ListMyLots(SAM.user_id, status=Status.DRAFT), ctx=world.ctx)
    assert [lot.id for lot in drafts.items] == [draft.id]
    assert (await handlers.my_lots(ListMyLots(BEA.user_id), ctx=world.ctx)).items == []


def sorted_newest(lots: Iterable[Lot]) -> list[str]:
    return [lot.id for lot in sorted(lots, key=lambda lot: (lot.created_at, lot.id), reverse=True)]


async def test_the_book_reads_the_rules_of_listed_lots_only(world: World) -> None:
    draft, listed = await world.lot(), await world.lot(publish=True)
    assert (await handlers.show_rules(ShowRules(listed.id), ctx=world.ctx)).id == listed.id
    for lot_id in (draft.id, "nope"):
        with pytest.raises(NotFound):
            await handlers.show_rules(ShowRules(lot_id), ctx=world.ctx)
