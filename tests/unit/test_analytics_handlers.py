"""The analytics use cases, without the platform: its consumers and reports on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auction_platform.contracts.categories import Category
from auction_platform.contracts.events import Envelope
from auction_platform.core.db import Database
from auction_platform.core.failures import Invalid, NotFound
from auction_platform.core.migrate import migrate
from auction_platform.core.uow import UnitOfWork
from auction_platform.services.analytics import consumers, handlers, store
from auction_platform.services.analytics.category_tree import FixedTree
from auction_platform.services.analytics.commands import (
    AuctionReport,
    BidsPerMinute,
    Daily,
    RecentEvents,
    Summary,
)
from auction_platform.services.analytics.domain import MAX_DAYS
from auction_platform.services.analytics.handlers import Analytics
from auction_platform.services.analytics.search import MAX_WINDOW, SearchQuery
from auction_platform.services.analytics.search_sql import SqlSearch

NOW = datetime(2030, 5, 1, 9, 30, 20, tzinfo=UTC)
OPENED = NOW - timedelta(minutes=30)
TODAY = NOW.date()


class Platform:
    """The analytics context, and its consumers fed as the broker would."""

    def __init__(self, db: Database) -> None:
        self.ctx = Analytics(db=db, search=SqlSearch(db), clock=lambda: NOW)
        self.uow = UnitOfWork(db, outbox=store.TABLES.outbox, producer="analytics")
        self.consumers = consumers.consumers(self.ctx.clock)

    async def send(self, producer: str, event_type: str, at: datetime, **data: Any) -> None:
        envelope = Envelope(type=event_type, producer=producer, data=data, occurred_at=at)
        for consumer in self.consumers:
            if any(p in ("#", f"*.{event_type}") for p in consumer.patterns):
                async with self.uow() as tx:
                    await consumer.handle(tx, envelope)

    async def listed(
        self, auction_id: str, title: str = "Leica M3", category: str = "cameras"
    ) -> None:
        await self.send(
            "auction",
            "AuctionPublished",
            OPENED - timedelta(days=1),
            auction_id=auction_id,
            title=title,
            description="A rangefinder from 1957.",
            seller_id="sam",
            category=category,
            currency="EUR",
            start_cents=1_000,
            starts_at=OPENED.isoformat(),
            ends_at=(NOW + timedelta(hours=1)).isoformat(),
        )
        await self.send("auction", "AuctionOpened", OPENED, auction_id=auction_id, currency="EUR")

    async def bid(self, auction_id: str, seq: int, at: datetime, price: int) -> None:
        await self.send(
            "bidding",
            "BidPlaced",
            at,
            auction_id=auction_id,
            seq=seq,
            currency="EUR",
            price_cents=price,
            bid_count=seq,
            placed_at=at.isoformat(),
            ends_at=(NOW + timedelta(hours=1)).isoformat(),
        )

    async def closed(self, auction_id: str, price: int, bids: int) -> None:
        await self.send(
            "bidding",
            "AuctionClosed",
            NOW,
            auction_id=auction_id,
            sold=True,
            price_cents=price,
            currency="EUR",
            bid_count=bids,
            closed_at=NOW.isoformat(),
        )


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/analytics.sqlite3", pool_size=2)
    await migrate(db, "analytics")
    yield Platform(db)
    await db.dispose()


def test_the_consumers_are_five_queues() -> None:
    found = {c.name: c.patterns for c in consumers.consumers(lambda: NOW)}
    assert set(found) == {"event-store", "rollups", "search", "audit", "signup-signals"}
    assert found["event-store"] == ("#",)
    assert "*.AuctionClosed" in found["rollups"]
    assert "*.BidPlaced" in found["search"]
    assert found["audit"] == ("*.AuditRecorded",)
    assert found["signup-signals"] == ("*.UserRegistered",)


async def test_a_sale_shows_in_every_report(platform: Platform) -> None:
    auction_id = uuid.uuid4().hex
    await platform.listed(auction_id)
    await platform.bid(auction_id, 1, OPENED + timedelta(seconds=30), 1_000)
    await platform.bid(auction_id, 2, NOW - timedelta(seconds=10), 2_500)
    await platform.closed(auction_id, 2_500, 2)
    ctx = platform.ctx

    summary = await handlers.summary(Summary(TODAY - timedelta(days=1), TODAY), ctx=ctx)
    assert summary["auctions"] == {"listed": 1, "opened": 1, "sold": 1, "unsold": 0, "cancelled": 0}
    [money] = summary["money"]
    assert (money["currency"], money["gross_gmv_cents"], money["net_gmv_cents"]) == (
        "EUR",
        2_500,
        2_500,
    )
    assert (money["refunds"], money["refunded_cents"], money["net_fees_cents"]) == (0, 0, 0)
    assert summary["average_seconds_to_first_bid"] == 30.0
    [today] = (await handlers.daily(Daily(TODAY, TODAY, "cameras"), ctx=ctx))["items"]
    assert (today["sold"], today["bids"]) == (1, 2)
    report = await handlers.auction_report(AuctionReport(auction_id), ctx=ctx)
    assert (report["hammer_cents"], report["bid_count"], report["sold"]) == (2_500, 2, True)
    recent = await handlers.recent_events(RecentEvents("BidPlaced"), ctx=ctx)
    assert [e["data"]["seq"] for e in recent] == [2, 1]
    assert len(await handlers.recent_events(RecentEvents(limit=2), ctx=ctx)) == 2


async def test_bids_per_minute_show_quiet_minutes_as_zero(platform: Platform) -> None:
    auction_id = uuid.uuid4().hex
    await platform.listed(auction_id)
    await platform.bid(auction_id, 1, NOW - timedelta(minutes=2), 1_000)
    await platform.bid(auction_id, 2, NOW, 1_100)
    body = await handlers.bids_per_minute(BidsPerMinute(4), ctx=platform.ctx)
    assert [item["bids"] for item in body["items"]] == [0, 1, 0, 1]
    assert (body["bids"], body["peak_bids_per_minute"]) == (2, 1)


async def test_reports_cover_the_last_30_days_unless_asked(platform: Platform) -> None:
    body = await handlers.summary(Summary(), ctx=platform.ctx)
    assert (body["from"], body["to"]) == (
        (TODAY - timedelta(days=29)).isoformat(),
        TODAY.isoformat(),
    )


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (TODAY, TODAY - timedelta(days=1), "'from' must not be after 'to'"),
        (TODAY - timedelta(days=MAX_DAYS), TODAY, f"a range spans at most {MAX_DAYS} days"),
    ],
)
async def test_a_nonsense_range_is_invalid(
    platform: Platform, start: date, end: date, message: str
) -> None:
    for command in (Summary(start, end), Daily(start, end)):
        with pytest.raises(Invalid) as refused:
            if isinstance(command, Summary):
                await handlers.summary(command, ctx=platform.ctx)
            else:
                await handlers.daily(command, ctx=platform.ctx)
        assert (refused.value.code, refused.value.message) == ("validation_error", message)


async def test_an_auction_never_heard_of_has_no_report(platform: Platform) -> None:
    with pytest.raises(NotFound) as refused:
        await handlers.auction_report(AuctionReport("never-heard-of"), ctx=platform.ctx)
    assert refused.value.code == "not_found"


async def test_search_finds_a_listed_lot_and_refuses_nonsense(platform: Platform) -> None:
    auction_id = uuid.uuid4().hex
    await platform.listed(auction_id, title="Hasselblad 500C")
    page = await handlers.search(SearchQuery(text="hasselblad"), ctx=platform.ctx)
    assert [item["id"] for item in page.items] == [auction_id]
    assert page.items[0]["status"] == "open"
    for query, message in [
        (SearchQuery(offset=MAX_WINDOW, limit=1), f"offset + limit may not pass {MAX_WINDOW}"),
        (SearchQuery(min_price_cents=9, max_price_cents=1), "min_price must not exceed max_price"),
    ]:
        with pytest.raises(Invalid) as refused:
            await handlers.search(query, ctx=platform.ctx)
        assert (refused.value.code, refused.value.message) == ("validation_error", message)


async def test_a_category_finds_its_subtree_and_its_facet_counts_roll_up(
    platform: Platform,
) -> None:
    tree = [
        Category("home", "Home & living"),
        Category("kitchen", "Kitchen", "home"),
        Category("clocks", "Clocks", "home"),
        Category("art", "Art"),
    ]
    ctx = replace(platform.ctx, categories=FixedTree(tree))
    lots = {"kitchen": uuid.uuid4().hex, "clocks": uuid.uuid4().hex, "art": uuid.uuid4().hex}
    for category, auction_id in lots.items():
        await platform.listed(auction_id, title=f"Old {category}", category=category)
    found = await handlers.search(SearchQuery(category="home"), ctx=ctx)
    assert {item["id"] for item in found.items} == {lots["kitchen"], lots["clocks"]}
    facets = (await handlers.search(SearchQuery(), ctx=ctx)).facets()["category"]
    assert facets == [
        {"value": "home", "name": "Home & living", "parent": None, "count": 2},
        {"value": "art", "name": "Art", "parent": None, "count": 1},
        {"value": "clocks", "name": "Clocks", "parent": "home", "count": 1},
        {"value": "kitchen", "name": "Kitchen", "parent": "home", "count": 1},
    ]
    # Without a tree (the auction service never answered) a category stands alone.
    alone = await handlers.search(SearchQuery(category="home"), ctx=platform.ctx)
    assert alone.items == []
    kitchen = await handlers.search(SearchQuery(category="kitchen"), ctx=platform.ctx)
    assert [item["id"] for item in kitchen.items] == [lots["kitchen"]]


async def test_a_cancelled_lot_leaves_search_for_good(platform: Platform) -> None:
    auction_id = uuid.uuid4().hex
    await platform.listed(auction_id, title="Rolleiflex")
    await platform.send("auction", "AuctionCancelled", NOW, auction_id=auction_id)
    await platform.send("auction", "AuctionOpened", NOW, auction_id=auction_id, currency="EUR")
    page = await handlers.search(SearchQuery(text="rolleiflex"), ctx=platform.ctx)
    assert page.items == []
    summary = await handlers.summary(Summary(), ctx=platform.ctx)
    assert summary["auctions"]["cancelled"] == 1


async def test_a_lot_bought_at_once_is_indexed_as_ending_when_it_was_bought(
    platform: Platform,
) -> None:
    auction_id = uuid.uuid4().hex
    await platform.listed(auction_id, title="Contax II")
    bought = NOW - timedelta(minutes=10)
    await platform.send(
        "bidding",
        "AuctionClosed",
        bought,
        auction_id=auction_id,
        sold=True,
        price_cents=9_000,
        currency="EUR",
        bid_count=0,
        by_buy_now=True,
        closed_at=bought.isoformat(),
    )
    page = await handlers.search(SearchQuery(text="contax", status="closed"), ctx=platform.ctx)
    [item] = page.items
    assert (item["status"], item["current_price_cents"]) == ("closed", 9_000)
    assert item["ends_at"] == bought.isoformat()


async def test_a_lot_that_ran_its_course_keeps_its_end_in_the_index(platform: Platform) -> None:
    auction_id = uuid.uuid4().hex
    await platform.listed(auction_id, title="Leica IIIf")
    await platform.closed(auction_id, price=1_000, bids=0)
    page = await handlers.search(SearchQuery(text="leica", status="closed"), ctx=platform.ctx)
    [item] = page.items
    assert item["ends_at"] == (NOW + timedelta(hours=1)).isoformat()


async def test_an_open_lot_edited_before_its_first_bid_is_indexed_anew(
    platform: Platform,
) -> None:
    auction_id = uuid.uuid4().hex
    await platform.listed(auction_id, title="Nikon F")

    async def edited(title: str, start_cents: int, ends_at: datetime) -> None:
        await platform.send(
            "auction",
            "AuctionEdited",
            NOW,
            auction_id=auction_id,
            title=title,
            description="A rangefinder from 1957.",
            seller_id="sam",
            category="cameras",
            currency="EUR",
            start_cents=start_cents,
            starts_at=OPENED.isoformat(),
            ends_at=ends_at.isoformat(),
        )

    sooner = NOW + timedelta(minutes=20)  # an edit may bring the end nearer
    await edited("Nikon F Photomic", 700, sooner)
    [item] = (await handlers.search(SearchQuery(text="photomic"), ctx=platform.ctx)).items
    assert (item["status"], item["current_price_cents"]) == ("open", 700)
    assert item["ends_at"] == sooner.isoformat()
    await platform.bid(auction_id, 1, NOW, 700)
    [bid_on] = (await handlers.search(SearchQuery(text="nikon"), ctx=platform.ctx)).items
    # An edit delivered after the first bid was made before it (the book takes none
    # after): its words apply, its price and end do not.
    await edited("Nikon F, late", 500, NOW + timedelta(minutes=5))
    [item] = (await handlers.search(SearchQuery(text="nikon"), ctx=platform.ctx)).items
    assert (item["title"], item["current_price_cents"]) == ("Nikon F, late", 700)
    assert item["ends_at"] == bid_on["ends_at"]
