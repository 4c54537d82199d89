"""Closing on real PostgreSQL: two closer replicas, auctions ending in the same second."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from auction_platform.composition import Platform
from auction_platform.services.bidding import closer, store
from support.books import auction_rules, open_book
from support.platforms import distributed_settings, running
from support.waiting import eventually

AUCTIONS = 30
INTERVAL = 0.25  # the closer's pacing in production


async def test_auctions_ending_together_close_exactly_once_across_two_closers(
    postgres_url: str, redis_url: str
) -> None:
    settings = distributed_settings(
        postgres_url=postgres_url,
        redis_url=redis_url,
        rabbitmq_url="memory://",
        closer_interval_seconds=0.05,
    )
    async with running(settings, ["bidding"]) as first, running(settings, ["bidding"]) as second:
        assert first.runtimes["bidding"].db is not second.runtimes["bidding"].db
        ends_at = {}
        for _ in range(AUCTIONS):
            rules = auction_rules("seller", lasts=timedelta(seconds=1))
            ends_at[await open_book(first, rules)] = datetime.fromisoformat(rules["ends_at"])

        async def all_closed() -> bool:
            return len(await closed_events(first)) >= AUCTIONS

        await eventually(all_closed)
        events = await closed_events(first)
    per_auction = Counter(str(e["auction_id"]) for e in events)
    assert set(per_auction) == set(ends_at)
    assert set(per_auction.values()) == {1}
    for event in events:
        late = datetime.fromisoformat(str(event["closed_at"])) - ends_at[str(event["auction_id"])]
        # Never early, and on time: the closer looks every 50 ms (5 s for a loaded machine).
        assert timedelta(0) <= late < timedelta(seconds=5)


async def closed_events(platform: Platform) -> list[dict[str, object]]:
    runtime = platform.runtimes["bidding"]
    assert runtime.db is not None
    assert runtime.definition.tables is not None
    outbox = runtime.definition.tables.outbox
    async with runtime.db.read() as conn:
        rows = await conn.execute(
            select(outbox.c.payload).where(outbox.c.event_type == "AuctionClosed")
        )
        return [json.loads(r.payload)["data"] for r in rows]


async def test_the_closer_reports_overdue_books(postgres_url: str, redis_url: str) -> None:
    settings = distributed_settings(
        postgres_url=postgres_url, redis_url=redis_url, rabbitmq_url="memory://"
    )
    async with running(settings, ["bidding"]) as platform:
        text = platform.metrics.render().decode()
    assert 'bidding_overdue_books{service="bidding"} 0.0' in text


async def test_a_due_book_another_transaction_holds_is_skipped_and_looked_at_again_soon(
    postgres_url: str, redis_url: str
) -> None:
    settings = distributed_settings(
        postgres_url=postgres_url, redis_url=redis_url, rabbitmq_url="memory://"
    )
    async with running(settings, ["bidding"]) as platform:
        runtime = platform.runtimes["bidding"]
        assert runtime.db is not None
        rules = auction_rules("seller", lasts=timedelta(seconds=1))
        lot = await open_book(platform, rules)
        heard: list[int] = []
        async with runtime.db.transaction() as conn:
            await store.book_row(conn, lot, lock=True)  # as another replica's close would
            await until(datetime.fromisoformat(rules["ends_at"]))
            again = await closer.run_once(
                runtime.context, interval=INTERVAL, report_overdue=heard.append
            )
            assert again == closer.HELD_RETRY < INTERVAL  # not a whole interval: it is due
            assert await closed_events(platform) == []
        await eventually(lambda: closed_events(platform))  # released: closed after all


async def until(moment: datetime) -> None:
    """Sleep until the wall clock is past ``moment``."""
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.05)
