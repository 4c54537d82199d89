"""An overloaded bidding service sheds bids itself, so every answer is true (issue 15, item 6).

The database is made slow by holding the book's row lock from another connection: the
batch in flight waits on it and bids queue up behind. Past the queue's bound, or once a
queued bid has waited its budget, the bid is answered 503 ``overloaded`` with
Retry-After before it is applied (not recorded); a bid taken into a batch is answered
with its outcome (201, recorded).
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from auction_platform.composition import Platform
from auction_platform.services.bidding import store
from auction_platform.services.bidding.handlers import Bidding
from support.accounts import Account, sign_up_all
from support.books import auction_rules, open_book
from support.platforms import client, distributed_settings, running
from support.waiting import eventually

SERVICES = ("identity", "auction", "bidding", "gateway")


async def bid(
    http: httpx.AsyncClient, auction_id: str, who: Account, cents: int, key: str | None = None
) -> httpx.Response:
    headers = dict(who.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await http.post(
        f"/api/v1/auctions/{auction_id}/bids", json={"max_amount_cents": cents}, headers=headers
    )


def assert_shed(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    error = response.json()["error"]
    assert error["code"] == "overloaded"
    assert error["details"] == {"reason": reason}


async def ledger_maxima(platform: Platform, auction_id: str) -> list[int]:
    db = platform.runtimes["bidding"].db
    assert db is not None
    async with db.read() as conn:
        return [row.max_cents for row in await store.ledger(conn, auction_id)]


def shed_count(platform: Platform, reason: str) -> float:
    value = platform.metrics.registry.get_sample_value(
        "bidding_bids_shed_total", {"service": "bidding", "reason": reason}
    )
    return value or 0.0


class RowLock:
    """The book's row locked from another connection: every batch on it waits."""

    def __init__(self, postgres_url: str, auction_id: str) -> None:
        self.engine = create_async_engine(postgres_url)
        self.auction_id = auction_id
        self.released = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RowLock:
        held = asyncio.Event()

        async def hold() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(
                    text("SELECT 1 FROM bidding_books WHERE auction_id = :id FOR UPDATE"),
                    {"id": self.auction_id},
                )
                held.set()
                await self.released.wait()

        self.task = asyncio.create_task(hold())
        await held.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.released.set()
        if self.task is not None:
            await self.task
        await self.engine.dispose()


async def test_a_bid_beyond_the_queue_or_its_wait_budget_is_refused_503_and_not_recorded(
    postgres_url: str, redis_url: str
) -> None:
    settings = distributed_settings(
        postgres_url=postgres_url,
        redis_url=redis_url,
        rabbitmq_url="memory://",
        bid_queue_max=2,
        bid_wait_budget_seconds=2.0,
    )
    async with (
        running(settings, SERVICES, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        bidding = platform.runtimes["bidding"].context
        assert isinstance(bidding, Bidding)
        ann, bob, cy, dee = await sign_up_all(http, "Ann", "Bob", "Cy", "Dee")
        auction_id = await open_book(platform, auction_rules("seller-1", start_cents=1_000))

        async with RowLock(postgres_url, auction_id):
            # The first bid's batch waits on the lock; the next two wait in the queue.
            first = asyncio.create_task(bid(http, auction_id, ann, 2_000))
            await eventually(lambda: _true(bidding.batcher.batches >= 1))
            queued = [
                asyncio.create_task(bid(http, auction_id, bob, 3_000, key="bob-1")),
                asyncio.create_task(bid(http, auction_id, cy, 4_000)),
            ]
            await eventually(lambda: _true(bidding.batcher.waiting(auction_id) == 2))

            # The queue is full: refused at once, before anything is applied.
            assert_shed(await bid(http, auction_id, dee, 5_000), "queue_full")
            # The queued ones wait their budget, then leave the queue, refused.
            for response in await asyncio.gather(*queued):
                assert_shed(response, "wait_budget")
            assert not first.done()

        # The bid taken into the batch is answered with its outcome once it commits.
        accepted = await first
        assert accepted.status_code == 201, accepted.text
        # A 503 recorded nothing: a retry with the same key is a new bid, and recorded.
        retried = await bid(http, auction_id, bob, 3_000, key="bob-1")
        assert retried.status_code == 201, retried.text

        assert await ledger_maxima(platform, auction_id) == [2_000, 3_000]
        assert shed_count(platform, "queue_full") == 1
        assert shed_count(platform, "wait_budget") == 2


async def _true(value: bool) -> bool:
    return value
