"""A Redis outage never makes the price shown step back (issue 15, item 2).

Bids committed while Redis is unreachable cannot refresh the cached book. When Redis
answers again, the copy it still holds is older than the book readers have seen from
the database: it must not be served, and it is repaired from the database.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from redis.asyncio import Redis

from auction_platform.composition import Platform
from auction_platform.services.bidding import copies
from auction_platform.services.bidding.domain import BidAccepted, PlaceBid
from auction_platform.services.bidding.handlers import Bidding
from support.books import auction_rules, open_book
from support.platforms import client, distributed_settings, running
from support.tcp_proxy import TcpProxy
from support.waiting import eventually


class Reader:
    """Reads the public book as clients do and checks that it never steps back."""

    def __init__(self, http: httpx.AsyncClient, auction_id: str) -> None:
        self.http = http
        self.path = f"/api/v1/auctions/{auction_id}/book"
        self.newest = (0, 0)  # (version, seq) of the newest book read

    async def read(self) -> dict[str, Any]:
        response = await self.http.get(self.path)
        assert response.status_code == 200, response.text
        book: dict[str, Any] = response.json()
        seen = (book["version"], book["seq"])
        assert seen >= self.newest, f"the book stepped back from {self.newest} to {seen}"
        assert book["seq"] >= self.newest[1]
        self.newest = seen
        return book


async def bid(bidding: Bidding, auction_id: str, user: str, cents: int) -> BidAccepted:
    result = await bidding.submit(auction_id, PlaceBid(user, cents, None))
    assert isinstance(result, BidAccepted)
    return result


async def cached_version(redis_url: str, platform: Platform, auction_id: str) -> int | None:
    raw = Redis.from_url(redis_url)
    try:
        value = await raw.get(platform.settings.cache_prefix + copies.book_key(auction_id))
    finally:
        await raw.aclose()
    return None if value is None else int(json.loads(value)["version"])


async def test_bids_committed_while_redis_is_cut_never_let_the_shown_price_step_back(
    redis_proxy: TcpProxy, postgres_url: str, redis_url: str
) -> None:
    settings = distributed_settings(
        postgres_url=postgres_url,
        redis_url=f"redis://127.0.0.1:{redis_proxy.port}/0",
        rabbitmq_url="memory://",
    )
    async with (
        running(settings, ["bidding"]) as platform,
        client(platform.apps["bidding"]) as http,
    ):
        bidding = platform.runtimes["bidding"].context
        assert isinstance(bidding, Bidding)
        auction_id = await open_book(platform, auction_rules("seller-1", start_cents=1_000))
        reader = Reader(http, auction_id)
        cents = 1_000
        for n in range(3):
            cents += 500
            await bid(bidding, auction_id, f"user-{n % 2}", cents)
        before = await reader.read()
        assert await cached_version(redis_url, platform, auction_id) == before["version"]

        await redis_proxy.cut()
        for n in range(4):
            cents += 500
            accepted = await bid(bidding, auction_id, f"user-{n % 2}", cents)
            # Read from the database meanwhile: the newest book, never the cached one.
            assert (await reader.read())["version"] == accepted.book["version"]
        newest = accepted.book["version"]
        assert newest > before["version"]
        assert bidding.copies.missed == {auction_id}

        await redis_proxy.start()
        # Redis still holds the copy written before the cut: it must never be served.
        for _ in range(20):
            assert (await reader.read())["version"] == newest

        async def repaired() -> bool:
            return await cached_version(redis_url, platform, auction_id) == newest

        await eventually(repaired)
        assert bidding.copies.missed == frozenset()
        assert (await reader.read())["price_cents"] == accepted.book["price_cents"]


async def test_another_process_never_serves_a_copy_that_missed_updates_once_repaired(
    redis_proxy: TcpProxy, postgres_url: str, redis_url: str
) -> None:
    # The writer reaches Redis through the proxy; the reader, another process, directly.
    writer_settings = distributed_settings(
        postgres_url=postgres_url,
        redis_url=f"redis://127.0.0.1:{redis_proxy.port}/0",
        rabbitmq_url="memory://",
    )
    reader_settings = writer_settings.model_copy(update={"redis_url": redis_url})
    async with (
        running(writer_settings, ["bidding"]) as writer,
        running(reader_settings, ["bidding"]) as other,
        client(other.apps["bidding"]) as http,
    ):
        bidding = writer.runtimes["bidding"].context
        assert isinstance(bidding, Bidding)
        auction_id = await open_book(writer, auction_rules("seller-1", start_cents=1_000))
        await bid(bidding, auction_id, "user-1", 1_500)
        reader = Reader(http, auction_id)
        await reader.read()

        await redis_proxy.cut()
        accepted = await bid(bidding, auction_id, "user-2", 2_500)
        await redis_proxy.start()

        async def shows_the_newest() -> bool:
            return bool((await reader.read())["version"] == accepted.book["version"])

        # The writer repairs the copy it could not refresh: the other process then shows
        # the newest book, and never an older one after it (Reader checks every read).
        await eventually(shows_the_newest)
        for _ in range(10):
            assert (await reader.read())["version"] == accepted.book["version"]
