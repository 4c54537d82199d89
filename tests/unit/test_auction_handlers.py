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

from auction_platform.contracts.auctions import AuctionRulesData
from auction_platform.contracts.events import Envelope
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
from auction_platform.services.auction import domain, handlers, scheduler, store
from auction_platform.services.auction.api import ERRORS
from auction_platform.services.auction.commands import (
    BrowseLots,
    CancelLot,
    CreateLot,
    EditLot,
    ListMyLots,
    PublishLot,
    RelistLot,
    ShowLot,
    ShowRules,
    ShowWatchlist,
    Unwatch,
    Watch,
)
from auction_platform.services.auction.consumers import consumers
from auction_platform.services.auction.domain import Actor, Caller, Lot, Status
from auction_platform.services.auction.handlers import Auctions
from auction_platform.services.auction.listing import DEFAULT_INCREMENTS, Terms
from auction_platform.services.auction.lot_cache import LotCache, key
from auction_platform.services.auction.ports import (
    BookAnswer,
    BookCancelled,
    BookEdited,
    BookRefusal,
    BookRefused,
    EditAnswer,
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
    rules: dict[str, AuctionRulesData] = field(default_factory=dict)

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

    async def edit(self, auction_id: str, rules: AuctionRulesData) -> EditAnswer:
        if self.down:
            raise Unavailable("dependency_unavailable", "the bidding service is down")
        if auction_id in self.closed:
            return BookRefused(BookRefusal.NOT_EDITABLE)
        if self.bidders.get(auction_id):
            return BookRefused(BookRefusal.HAS_BIDS)
        self.rules[auction_id] = rules
        return BookEdited()


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

    async def open(self, **terms: Any) -> Lot:
        """A lot listed (for START by default), opened by the scheduler at its start.

        The clock stays at the start.
        """
        lot = await self.lot(publish=True, **terms)
        self.clock.now = lot.terms.starts_at
        await scheduler.open_due_lots(self.ctx, now=self.clock.now)
        opened = await self.stored(lot.id)
        assert opened.status is Status.OPEN
        return opened

    async def deliver(self, event_type: str, **data: Any) -> None:
        """The bid book's event, handed to the consumer that takes it."""
        [consumer] = [c for c in consumers(self.ctx) if f"bidding.{event_type}" in c.patterns]
        async with self.ctx.uow() as tx:
            await consumer.handle(tx, Envelope(type=event_type, producer="bidding", data=data))

    async def unsold(self) -> Lot:
        """A lot that opened at START and ended at its planned end without a bid."""
        lot = await self.open()
        await self.deliver("AuctionClosed", **closed_event(lot, at=lot.ends_at))
        self.clock.now = lot.ends_at + timedelta(minutes=1)
        return await self.stored(lot.id)

    async def reminders(self, lot_id: str) -> dict[int, datetime]:
        """A lot's ending-soon notices not sent yet: minutes left to when they are due."""
        table = store.reminders
        query = select(table.c.minutes_left, table.c.due_at).where(
            table.c.auction_id == lot_id, table.c.sent_at.is_(None)
        )
        async with self.ctx.uow.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return {minutes: due.replace(tzinfo=UTC) for minutes, due in rows}


def closed_event(
    lot: Lot, *, at: datetime, sold: bool = False, buyer: str | None = None
) -> dict[str, Any]:
    """``AuctionClosed`` as the book sends it (by Buy It Now when ``buyer`` is given)."""
    return {
        "auction_id": lot.id,
        "seller_id": lot.seller_id,
        "title": lot.terms.title,
        "winner_id": buyer,
        "price_cents": lot.terms.buy_now_cents if buyer else lot.current_price_cents,
        "currency": lot.terms.currency,
        "sold": sold or buyer is not None,
        "reserve_met": buyer is not None,
        "runner_up_id": None,
        "runner_up_max_cents": None,
        "bid_count": 0,
        "by_buy_now": buyer is not None,
        "closed_at": at.isoformat(),
    }


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


async def test_changes_are_checked_and_a_listed_lot_moves_only_forward(world: World) -> None:
    lot = await world.lot(publish=True)
    with pytest.raises(Invalid) as bad:
        await handlers.edit_lot(EditLot(lot.id, {"buy_now_cents": 100}, by=SAM), ctx=world.ctx)
    assert refusal(bad) == (422, "invalid_buy_now")
    with pytest.raises(Invalid) as past:
        await handlers.edit_lot(
            EditLot(lot.id, {"starts_at": NOW - timedelta(hours=1)}, by=SAM), ctx=world.ctx
        )
    assert refusal(past) == (422, "start_in_past")
    assert world.book.rules == {}  # before its start nobody can have bid: the book is not asked


# Start now


async def test_a_lot_listed_without_a_start_opens_at_once_and_runs_its_duration(
    world: World,
) -> None:
    lot = await world.lot(publish=True, starts_when_published=True, duration=timedelta(days=3))
    assert lot.status is Status.OPEN
    assert (lot.terms.starts_at, lot.opened_at) == (NOW, NOW)
    assert lot.ends_at == lot.terms.ends_at == NOW + timedelta(days=3)
    [published] = await world.events("AuctionPublished")
    [opened] = await world.events("AuctionOpened")
    assert published["starts_at"] == opened["starts_at"] == NOW.isoformat()
    assert opened["ends_at"] == (NOW + timedelta(days=3)).isoformat()
    assert set(await world.reminders(lot.id)) == set(world.ctx.settings.ending_soon_minutes)


async def test_a_draft_without_a_start_starts_when_it_is_published(world: World) -> None:
    draft = await world.lot(starts_when_published=True, duration=timedelta(days=2))
    shown = await handlers.show_lot(ShowLot(draft.id, viewer=SAM), ctx=world.ctx)
    assert shown["public"]["starts_at"] is None
    assert shown["public"]["ends_at"] is shown["public"]["scheduled_ends_at"] is None
    assert shown["public"]["duration_seconds"] == 2 * 86_400
    assert shown["public"]["starts_when_published"] is True
    later = NOW + timedelta(days=5)  # long after it was written: its start cannot have passed
    world.clock.now = later
    published = await handlers.publish_lot(PublishLot(draft.id, by=SAM), ctx=world.ctx)
    assert published.status is Status.OPEN
    assert (published.terms.starts_at, published.ends_at) == (later, later + timedelta(days=2))
    assert published.terms.starts_when_published is False
    assert (await world.stored(draft.id)).terms.duration is None
    [opened] = await world.events("AuctionOpened")
    assert opened["starts_at"] == later.isoformat()


async def test_a_draft_without_a_start_keeps_a_fixed_end(world: World) -> None:
    end = NOW + timedelta(days=4)
    draft = await world.lot(starts_when_published=True, ends_at=end)
    shown = await handlers.show_lot(ShowLot(draft.id, viewer=SAM), ctx=world.ctx)
    assert (shown["public"]["starts_at"], shown["public"]["ends_at"]) == (None, end.isoformat())
    world.clock.now = NOW + timedelta(days=1)
    published = await handlers.publish_lot(PublishLot(draft.id, by=SAM), ctx=world.ctx)
    assert (published.terms.starts_at, published.ends_at) == (NOW + timedelta(days=1), end)
    late = await world.lot(starts_when_published=True, ends_at=end + timedelta(minutes=2))
    world.clock.now = end + timedelta(seconds=90)  # 30 s left: shorter than a lot may run
    with pytest.raises(Invalid) as short:
        await handlers.publish_lot(PublishLot(late.id, by=SAM), ctx=world.ctx)
    assert refusal(short) == (422, "invalid_duration")


async def test_a_draft_starting_in_the_past_is_refused_when_it_is_written(world: World) -> None:
    with pytest.raises(Invalid) as refused:
        await world.lot(starts_at=NOW - timedelta(minutes=1))
    assert refusal(refused) == (422, "start_in_past")
    assert (await handlers.my_lots(ListMyLots(SAM.user_id), ctx=world.ctx)).items == []
    draft = await world.lot()
    with pytest.raises(Invalid) as moved:
        await handlers.edit_lot(
            EditLot(draft.id, {"starts_at": NOW - timedelta(minutes=1)}, by=SAM), ctx=world.ctx
        )
    assert refusal(moved) == (422, "start_in_past")


async def test_a_draft_may_be_switched_to_start_when_published(world: World) -> None:
    draft = await world.lot()
    changed = await handlers.edit_lot(
        EditLot(draft.id, {"starts_at": None, "duration": timedelta(hours=5)}, by=SAM),
        ctx=world.ctx,
    )
    assert changed.terms.starts_when_published is True
    assert changed.terms.duration == timedelta(hours=5)
    back = await handlers.edit_lot(EditLot(draft.id, {"starts_at": START}, by=SAM), ctx=world.ctx)
    # Given a start again, it keeps the length it was given.
    assert (back.terms.starts_at, back.terms.ends_at) == (START, START + timedelta(hours=5))
    assert back.terms.starts_when_published is False


# Editing until the first bid


async def test_an_open_lot_without_bids_is_edited_and_the_book_follows(world: World) -> None:
    lot = await world.open()
    end = START + timedelta(hours=30)
    edited = await handlers.edit_lot(
        EditLot(lot.id, {"start_cents": 5_000, "buy_now_cents": None, "ends_at": end}, by=SAM),
        ctx=world.ctx,
    )
    assert (edited.status, edited.current_price_cents, edited.ends_at) == (
        Status.OPEN,
        5_000,
        end,
    )
    rules = world.book.rules[lot.id]
    assert (rules["start_cents"], rules["buy_now_cents"]) == (5_000, None)
    assert rules["ends_at"] == end.isoformat()
    [announced] = await world.events("AuctionEdited")
    assert {name: announced[name] for name in rules} == rules  # the catalogue learns the same
    shown = await handlers.show_lot(ShowLot(lot.id), ctx=world.ctx)
    assert shown["public"]["ends_at"] == end.isoformat()
    assert shown["public"]["buy_now_available"] is False
    # The notices follow the new end.
    minutes = world.ctx.settings.ending_soon_minutes
    assert await world.reminders(lot.id) == {m: end - timedelta(minutes=m) for m in minutes}


async def test_a_lot_due_but_not_yet_opened_is_edited_through_the_book(world: World) -> None:
    lot = await world.lot(publish=True)
    world.clock.now = START + timedelta(seconds=1)
    edited = await handlers.edit_lot(
        EditLot(lot.id, {"title": "A Leica M3"}, by=SAM), ctx=world.ctx
    )
    assert edited.status is Status.SCHEDULED
    assert world.book.rules[lot.id]["title"] == "A Leica M3"


async def test_the_book_refuses_an_edit_once_a_bid_came_first(world: World) -> None:
    lot = await world.open()
    world.book.bidders[lot.id] = ["bea"]
    with pytest.raises(Conflict) as refused:
        await handlers.edit_lot(EditLot(lot.id, {"start_cents": 1_000}, by=SAM), ctx=world.ctx)
    assert refusal(refused) == (409, "has_bids")
    assert refused.value.message == "the lot has bids; its terms can no longer change"
    assert (await world.stored(lot.id)).terms.start_cents == TERMS.start_cents
    assert await world.events("AuctionEdited") == []


async def test_a_lot_known_to_have_bids_is_not_edited_nor_the_book_asked(world: World) -> None:
    lot = await world.open()
    await world.deliver(
        "BidPlaced",
        auction_id=lot.id,
        seq=1,
        bidder_id="bea",
        leader_id="bea",
        price_cents=10_000,
        currency="EUR",
        bid_count=1,
        ends_at=lot.ends_at.isoformat(),
        placed_at=START.isoformat(),
    )
    with pytest.raises(Conflict) as refused:
        await handlers.edit_lot(EditLot(lot.id, {"title": "Mine"}, by=SAM), ctx=world.ctx)
    assert refusal(refused) == (409, "has_bids")
    assert world.book.rules == {}


async def test_an_open_lot_keeps_its_start_and_currency_and_ends_ahead(world: World) -> None:
    lot = await world.open()
    for changes, code in [
        ({"starts_at": START + timedelta(hours=1)}, (409, "start_fixed")),
        ({"starts_at": None}, (409, "start_fixed")),
        ({"currency": "USD"}, (409, "currency_fixed")),
        ({"ends_at": START - timedelta(seconds=1)}, (422, "invalid_duration")),
    ]:
        with pytest.raises(DomainError) as refused:
            await handlers.edit_lot(EditLot(lot.id, changes, by=SAM), ctx=world.ctx)
        assert refusal(refused) == code, changes
    world.clock.now = START + timedelta(hours=2)
    with pytest.raises(Invalid) as past:
        await handlers.edit_lot(
            EditLot(lot.id, {"ends_at": START + timedelta(hours=1)}, by=SAM), ctx=world.ctx
        )
    assert refusal(past) == (422, "end_in_past")
    # Its own start and currency, sent again, change nothing and pass.
    same = {"starts_at": START, "currency": "eur", "duration": timedelta(days=1)}
    edited = await handlers.edit_lot(EditLot(lot.id, same, by=SAM), ctx=world.ctx)
    assert edited.ends_at == START + timedelta(days=1)
    assert world.book.rules[lot.id]["ends_at"] == (START + timedelta(days=1)).isoformat()


async def test_without_the_book_an_open_lot_keeps_its_terms(world: World) -> None:
    lot = await world.open()
    world.book.down = True
    with pytest.raises(Unavailable) as down:
        await handlers.edit_lot(EditLot(lot.id, {"title": "A Leica"}, by=SAM), ctx=world.ctx)
    assert refusal(down)[0] == 503
    assert (await world.stored(lot.id)).terms.title == TERMS.title


async def test_an_ended_lot_is_not_edited(world: World) -> None:
    lot = await world.unsold()
    later = world.clock.now + timedelta(hours=1)
    cancelled = await world.lot(starts_at=later, ends_at=later + timedelta(days=1))
    await handlers.cancel_lot(CancelLot(cancelled.id, by=SAM), ctx=world.ctx)
    for lot_id in (lot.id, cancelled.id):
        with pytest.raises(Conflict) as refused:
            await handlers.edit_lot(EditLot(lot_id, {"title": "Late"}, by=SAM), ctx=world.ctx)
        assert refusal(refused) == (409, "not_editable")


async def test_a_book_that_closed_meanwhile_refuses_the_edit(world: World) -> None:
    lot = await world.open()
    world.book.closed.add(lot.id)
    with pytest.raises(Conflict) as refused:
        await handlers.edit_lot(EditLot(lot.id, {"title": "Late"}, by=SAM), ctx=world.ctx)
    assert refusal(refused) == (409, "not_editable")


# Buy It Now


async def test_a_lot_bought_at_once_ends_when_it_was_bought(world: World) -> None:
    lot = await world.open()
    bought_at = START + timedelta(minutes=7)
    world.clock.now = bought_at + timedelta(seconds=2)  # the news arrives a moment later
    await world.deliver("AuctionClosed", **closed_event(lot, at=bought_at, buyer="bea"))
    closed = await world.stored(lot.id)
    assert (closed.status, closed.outcome, closed.winner_id) == (
        Status.CLOSED,
        domain.Outcome.SOLD,
        "bea",
    )
    assert closed.ends_at == closed.closed_at == bought_at
    shown = await handlers.show_lot(ShowLot(lot.id), ctx=world.ctx)
    assert shown["public"]["ends_at"] == bought_at.isoformat()
    assert shown["public"]["scheduled_ends_at"] == TERMS.ends_at.isoformat()
    assert await world.reminders(lot.id) == {}


async def test_a_lot_that_ran_its_course_keeps_its_end(world: World) -> None:
    lot = await world.open()
    late = lot.ends_at + timedelta(milliseconds=300)  # the closer's pass came a little after
    await world.deliver("AuctionClosed", **closed_event(lot, at=late))
    closed = await world.stored(lot.id)
    assert (closed.ends_at, closed.closed_at) == (lot.ends_at, late)


# Relisting


async def test_an_unsold_lot_is_listed_again_as_a_new_draft(world: World) -> None:
    old = await world.unsold()
    new = await handlers.relist_lot(RelistLot(old.id, by=SAM, changes={}), ctx=world.ctx)
    assert new.id != old.id
    assert (new.status, new.relisted_from) == (Status.DRAFT, old.id)
    assert new.terms.starts_when_published is True
    assert new.terms.duration == TERMS.ends_at - TERMS.starts_at
    assert (new.terms.title, new.terms.reserve_cents) == (TERMS.title, TERMS.reserve_cents)
    again = await world.stored(old.id)
    assert (again.status, again.relisted_as) == (Status.CLOSED, new.id)
    shown = await handlers.show_lot(ShowLot(old.id, viewer=SAM), ctx=world.ctx)
    assert shown["private"]["relisted_as"] == new.id
    # A draft again: only the old lot was ever announced.
    assert [e["auction_id"] for e in await world.events("AuctionPublished")] == [old.id]


async def test_a_relisting_may_change_terms_and_be_published_at_once(world: World) -> None:
    old = await world.unsold()
    now = world.clock.now
    new = await handlers.relist_lot(
        RelistLot(old.id, by=SAM, changes={"reserve_cents": 30_000}, publish=True),
        ctx=world.ctx,
    )
    assert (new.status, new.terms.reserve_cents) == (Status.OPEN, 30_000)
    assert new.ends_at == now + (TERMS.ends_at - TERMS.starts_at)
    published = [e["auction_id"] for e in await world.events("AuctionPublished")]
    assert published[-1] == new.id


async def test_a_relisting_with_a_time_is_checked_like_a_new_lot(world: World) -> None:
    old = await world.unsold()
    with pytest.raises(Invalid) as past:
        await handlers.relist_lot(
            RelistLot(old.id, by=SAM, changes={"starts_at": START}), ctx=world.ctx
        )
    assert refusal(past) == (422, "start_in_past")
    assert (await world.stored(old.id)).relisted_as is None
    later = world.clock.now + timedelta(days=1)
    scheduled = await handlers.relist_lot(
        RelistLot(old.id, by=SAM, changes={"starts_at": later}, publish=True), ctx=world.ctx
    )
    assert scheduled.status is Status.SCHEDULED
    assert scheduled.terms.ends_at == later + (TERMS.ends_at - TERMS.starts_at)


async def test_a_lot_is_relisted_once_unless_its_relisting_was_cancelled(world: World) -> None:
    old = await world.unsold()
    first = await handlers.relist_lot(RelistLot(old.id, by=SAM, changes={}), ctx=world.ctx)
    with pytest.raises(Conflict) as twice:
        await handlers.relist_lot(RelistLot(old.id, by=SAM, changes={}), ctx=world.ctx)
    assert refusal(twice) == (409, "already_relisted")
    assert twice.value.details == {"auction_id": first.id}
    await handlers.cancel_lot(CancelLot(first.id, by=SAM), ctx=world.ctx)
    second = await handlers.relist_lot(RelistLot(old.id, by=SAM, changes={}), ctx=world.ctx)
    assert (await world.stored(old.id)).relisted_as == second.id


async def test_only_an_unsold_lot_of_ones_own_is_relisted(world: World) -> None:
    old = await world.unsold()
    with pytest.raises(Forbidden):
        await handlers.relist_lot(RelistLot(old.id, by=BEA, changes={}), ctx=world.ctx)
    with pytest.raises(Forbidden):
        await handlers.relist_lot(RelistLot(old.id, by=ROOT, changes={}), ctx=world.ctx)
    start = world.clock.now + timedelta(hours=1)
    sold = await world.open(starts_at=start, ends_at=start + timedelta(days=1))
    await world.deliver("AuctionClosed", **closed_event(sold, at=start, buyer="bea"))
    scheduled = await world.lot(
        publish=True, starts_at=start + timedelta(hours=1), ends_at=start + timedelta(days=1)
    )
    for lot in (sold, scheduled):
        with pytest.raises(Conflict) as refused:
            await handlers.relist_lot(RelistLot(lot.id, by=SAM, changes={}), ctx=world.ctx)
        assert refusal(refused) == (409, "not_relistable")
    with pytest.raises(NotFound):
        await handlers.relist_lot(RelistLot("nope", by=SAM, changes={}), ctx=world.ctx)


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
