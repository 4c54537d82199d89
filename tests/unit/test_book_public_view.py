"""The public view of a book that takes no more bids: no minimum next bid, no Buy It Now.

A book closed by Buy It Now is covered with the bidding use cases; these are the two
other ways a book stops taking bids, the closer at its end and a cancellation. Each is
read the three ways the service shows a book: the copy published to watchers, the
database read (``BookState.public``) and the service's answer to a reader.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auction_platform.core.cache.memory import MemoryCache
from auction_platform.core.db import Database
from auction_platform.core.migrate import migrate
from auction_platform.core.uow import UnitOfWork
from auction_platform.services.bidding import api, copies, handlers, queries, store
from auction_platform.services.bidding.domain import CancelBook, CancelledBy, PlaceBid
from auction_platform.services.bidding.handlers import Bidding
from auction_platform.services.bidding.ports import KnownAuctionRules
from auction_platform.services.bidding.state import BookState, Pseudonyms

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LASTS = timedelta(hours=1)
SELLER, ANN = "sam", "ann"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def bidding(tmp_path: Path) -> AsyncIterator[Bidding]:
    """The bidding context on a fresh SQLite file and the memory cache."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/bidding.sqlite3", pool_size=2)
    await migrate(db, "bidding")
    yield Bidding(
        uow=UnitOfWork(db, outbox=store.TABLES.outbox, producer="bidding"),
        cache=MemoryCache(),
        clock=Clock(),
        rules=KnownAuctionRules(),
        render=api.render,
        pseudonyms=Pseudonyms(b"a key for the tests"),
    )
    await db.dispose()


async def _opened(bidding: Bidding, auction_id: str, **changes: Any) -> str:
    """An open book with a Buy It Now price, from START for an hour (unless ``changes``)."""
    rules = {
        "auction_id": auction_id,
        "seller_id": SELLER,
        "title": "A Victorian tea set",
        "currency": "EUR",
        "start_cents": 1_000,
        "reserve_cents": None,
        "buy_now_cents": 9_000,
        "starts_at": START.isoformat(),
        "ends_at": (START + LASTS).isoformat(),
        "soft_close": None,
        "increments": [],
        **changes,
    }
    async with bidding.uow() as tx:
        await handlers.open_book(tx, rules, now=bidding.clock())
    return auction_id


async def _views(bidding: Bidding, auction_id: str) -> list[dict[str, Any]]:
    """The published copy, the database's view and a reader's answer."""
    raw = await bidding.cache.get(copies.book_key(auction_id))
    assert raw is not None
    async with bidding.uow.db.read() as conn:
        row = await store.book_row(conn, auction_id, lock=False)
    fresh = BookState.load(row, pseudonyms=bidding.pseudonyms).public(bidding.clock())
    read = await queries.book(bidding, auction_id, viewer_id=None)
    return [json.loads(raw), dict(fresh), dict(read)]


async def _closed_by_the_timer(bidding: Bidding) -> str:
    lot = await _opened(bidding, "timed")
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    clock = bidding.clock
    assert isinstance(clock, Clock)
    clock.now = START + LASTS
    assert await handlers.close_due_books(bidding) == 1
    return lot


async def _cancelled_before_a_bid(bidding: Bidding) -> str:
    lot = await _opened(bidding, "withdrawn")
    await bidding.submit(lot, CancelBook(CancelledBy.SELLER))
    return lot


async def _cancelled_after_a_bid(bidding: Bidding) -> str:
    lot = await _opened(bidding, "stopped")
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    await bidding.submit(lot, CancelBook(CancelledBy.ADMIN))
    return lot


async def test_an_open_book_shows_its_minimum_next_bid(bidding: Bidding) -> None:
    lot = await _opened(bidding, "open")
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    for view in await _views(bidding, lot):
        assert (view["status"], view["min_next_bid_cents"]) == ("open", 1_050)


@pytest.mark.parametrize(
    ("end", "status"),
    [
        (_closed_by_the_timer, "closed"),
        (_cancelled_before_a_bid, "cancelled"),
        (_cancelled_after_a_bid, "cancelled"),
    ],
    ids=["closed-by-the-timer", "cancelled-before-a-bid", "cancelled-after-a-bid"],
)
async def test_a_book_closed_by_the_timer_or_cancelled_shows_no_next_bid(
    bidding: Bidding, end: Callable[[Bidding], Awaitable[str]], status: str
) -> None:
    lot = await end(bidding)
    for view in await _views(bidding, lot):
        assert view["status"] == status
        assert view["min_next_bid_cents"] is None
        assert view["buy_now_cents"] is None


async def test_a_dutch_book_nobody_accepted_closes_at_the_last_price_of_its_clock(
    bidding: Bidding,
) -> None:
    # 10.00 less 1.00 every 10 minutes down to 6.50: 5.00 would come at the end, the
    # floor holds it at 6.50 from the fourth tick on.
    clock = {"floor_cents": 650, "step_cents": 100, "tick_seconds": 600}
    lot = await _opened(
        bidding, "dutch", format="dutch", dutch=clock, buy_now_cents=None, start_cents=1_000
    )
    moment = bidding.clock
    assert isinstance(moment, Clock)
    moment.now = START + timedelta(minutes=25)
    assert (await queries.book(bidding, lot, viewer_id=None))["price_cents"] == 800
    moment.now = START + LASTS
    assert await handlers.close_due_books(bidding) == 1
    moment.now = START + LASTS + timedelta(days=1)
    for view in await _views(bidding, lot):
        assert (view["status"], view["price_cents"], view["dutch"]) == ("closed", 650, None)
