"""The live feed's hub on both caches: one subscription per auction, the newest book per watcher."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from auction_platform.contracts.auctions import feed_channel
from auction_platform.core.cache import Cache, MemoryCache, RedisCache
from auction_platform.core.cache.base import Subscription, VersionedCopy
from auction_platform.services.gateway.feed_hub import FeedHub, NoSuchAuction, Watcher
from support.servers import unique_name
from support.waiting import eventually

# Deadlines for a loaded machine: an update that is late, not missing, passes.
PATIENCE = 30.0


class CountingCache:
    """A cache whose open subscriptions are counted, by channel."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.open: dict[str, int] = {}
        self.opened = 0

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        return self._counted(channel)

    @asynccontextmanager
    async def _counted(self, channel: str) -> AsyncIterator[Subscription]:
        async with self.cache.subscribe(channel) as messages:
            self.opened += 1
            self.open[channel] = self.open.get(channel, 0) + 1
            try:
                yield messages
            finally:
                self.open[channel] -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cache, name)


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[CountingCache]:
    backend: Cache
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        backend = RedisCache(url, prefix=unique_name("feed_hub") + ":", timeout=2.0)
    else:
        backend = MemoryCache(prefix=unique_name("feed_hub") + ":")
    await backend.start()
    try:
        yield CountingCache(backend)
    finally:
        await backend.close()


async def no_book(auction_id: str) -> Mapping[str, Any] | None:
    return None


def hub_on(cache: CountingCache) -> FeedHub:
    return FeedHub(cache, fetch=no_book)  # type: ignore[arg-type]


async def publish(cache: CountingCache, auction_id: str, version: int, **more: Any) -> None:
    book = {"auction_id": auction_id, "version": version, "price_cents": 100 * version, **more}
    await cache.publish(feed_channel(auction_id), json.dumps(book).encode())


async def taken(watcher: Watcher) -> int:
    update = await asyncio.wait_for(watcher.take(), timeout=PATIENCE)
    assert update is not None
    return int(json.loads(update.text)["version"])


async def settled(watchers: list[Watcher], version: int) -> None:
    """Until every watcher has the update ``version`` waiting in its mailbox."""

    async def arrived() -> bool:
        return all(w.pending is not None and w.pending.version >= version for w in watchers)

    await eventually(arrived, interval=0.01)


async def test_watchers_of_one_auction_share_one_subscription(cache: CountingCache) -> None:
    hub = hub_on(cache)
    async with AsyncExitStack() as stack:
        watchers = [await stack.enter_async_context(hub.watch("lot-1")) for _ in range(50)]
        other = await stack.enter_async_context(hub.watch("lot-2"))
        assert cache.open == {feed_channel("lot-1"): 1, feed_channel("lot-2"): 1}
        assert (hub.subscriptions, hub.watchers("lot-1")) == (2, 50)
        await publish(cache, "lot-1", 1)
        assert [await taken(w) for w in watchers] == [1] * 50
        assert other.pending is None


async def test_the_last_watcher_to_leave_ends_the_subscription(cache: CountingCache) -> None:
    hub = hub_on(cache)
    async with hub.watch("lot-1"):
        async with hub.watch("lot-1"):
            pass
        assert cache.open == {feed_channel("lot-1"): 1}
    assert cache.open == {feed_channel("lot-1"): 0}
    assert hub.subscriptions == 0
    if isinstance(cache.cache, RedisCache):
        redis = Redis.from_url(cache.cache._url)
        try:
            channel = cache.cache._prefix + feed_channel("lot-1")
            assert await redis.pubsub_numsub(channel) == [(channel.encode(), 0)]
        finally:
            await redis.aclose()
    async with hub.watch("lot-1") as watcher:  # a later watcher subscribes again
        await publish(cache, "lot-1", 3)
        assert await taken(watcher) == 3
    assert cache.opened == 2


async def test_a_slow_watcher_gets_the_newest_book_and_holds_one(cache: CountingCache) -> None:
    hub = hub_on(cache)
    async with hub.watch("lot-1") as slow, hub.watch("lot-1") as quick:
        await publish(cache, "lot-1", 1)
        assert await taken(quick) == 1
        for version in range(2, 201):
            await publish(cache, "lot-1", version)
        await settled([slow, quick], 200)
        # One slot each: the newest replaced every book not taken yet.
        assert await taken(slow) == 200
        assert await taken(quick) == 200
        await publish(cache, "lot-1", 201)
        assert await taken(slow) == 201


async def test_a_watcher_never_gets_an_older_book(cache: CountingCache) -> None:
    hub = hub_on(cache)
    async with hub.watch("lot-1") as watcher, hub.watch("lot-1") as fresh:
        fresh.holds(7)  # its snapshot was version 7
        for version in (5, 3, 5, 6):  # crossed messages of two replicas
            await publish(cache, "lot-1", version)
        await publish(cache, "lot-1", 8)
        await settled([watcher], 8)
        assert await taken(watcher) == 8
        assert await taken(fresh) == 8
        await publish(cache, "lot-1", 4)
        await publish(cache, "lot-1", 9)
        assert await taken(watcher) == 9


async def test_a_book_from_before_versions_is_ordered_by_its_sequence(cache: CountingCache) -> None:
    hub = hub_on(cache)
    async with hub.watch("lot-1") as watcher:
        for book in ({"seq": 4, "status": "open"}, {"seq": 4, "status": "closed"}):
            await cache.publish(feed_channel("lot-1"), json.dumps(book).encode())
            update = await asyncio.wait_for(watcher.take(), timeout=PATIENCE)
            assert update is not None and json.loads(update.text) == book


async def test_a_message_that_is_no_book_is_skipped(cache: CountingCache) -> None:
    hub = hub_on(cache)
    async with hub.watch("lot-1") as watcher:
        await cache.publish(feed_channel("lot-1"), b"not json")
        await publish(cache, "lot-1", 2)
        assert await taken(watcher) == 2


async def test_a_closed_watcher_takes_nothing(cache: CountingCache) -> None:
    hub = hub_on(cache)
    async with hub.watch("lot-1") as watcher:
        waiting = asyncio.create_task(watcher.take())
        await asyncio.sleep(0)
        watcher.close()
        assert await asyncio.wait_for(waiting, timeout=PATIENCE) is None


async def test_the_hub_reads_every_book_waiting_and_offers_only_the_newest(
    cache: CountingCache,
) -> None:
    hub = hub_on(cache)
    async with hub.watch("lot-1") as watcher:
        books = [
            VersionedCopy(
                "book:lot-1",
                feed_channel("lot-1"),
                json.dumps({"auction_id": "lot-1", "version": version}).encode(),
                version,
            )
            for version in range(1, 301)
        ]
        await cache.set_and_publish(books)
        # The hub held busy while the books arrive (as by a thousand senders sharing
        # the event loop): on Redis they wait in the socket meanwhile.
        time.sleep(0.2)  # noqa: ASYNC251 - blocking the loop is the point

        assert await taken(watcher) == 300
        # Read at once and offered once: nothing was left waiting behind the newest.
        assert (hub.received, hub.fanned_out) == (300, 1)
        await publish(cache, "lot-1", 301)
        assert await taken(watcher) == 301
        assert (hub.received, hub.fanned_out) == (301, 2)


class Reads:
    """A book source whose reads wait until released, counted, each a newer version."""

    def __init__(self) -> None:
        self.started = 0
        self.release = asyncio.Event()

    async def __call__(self, auction_id: str) -> Mapping[str, Any] | None:
        self.started += 1
        version = self.started
        await self.release.wait()
        return {"auction_id": auction_id, "version": version}


async def test_watchers_who_join_together_share_one_read_of_the_book(
    cache: CountingCache,
) -> None:
    reads = Reads()
    hub = FeedHub(cache, fetch=reads)
    async with AsyncExitStack() as stack:
        watchers = [await stack.enter_async_context(hub.watch("lot-1")) for _ in range(100)]
        snapshots = [asyncio.create_task(hub.snapshot("lot-1", w)) for w in watchers]
        await asyncio.sleep(0.05)
        reads.release.set()
        books = await asyncio.wait_for(asyncio.gather(*snapshots), timeout=PATIENCE)
        assert reads.started == 1
        assert {book.version for book in books if book is not None} == {1}
        # The same text for all: one parse, one copy in memory.
        assert len({id(book.text) for book in books if book is not None}) == 1


async def test_a_watcher_who_joins_while_a_read_is_on_its_way_waits_for_the_next(
    cache: CountingCache,
) -> None:
    reads = Reads()
    hub = FeedHub(cache, fetch=reads)
    async with hub.watch("lot-1") as early:
        first = asyncio.create_task(hub.snapshot("lot-1", early))

        async def reading() -> bool:
            return reads.started == 1

        await eventually(reading, interval=0.01)
        # A commit the read may have missed, published before the late watcher's
        # subscription could hear it: only a read started after it joined is current.
        async with hub.watch("lot-1") as late:
            second = asyncio.create_task(hub.snapshot("lot-1", late))
            await asyncio.sleep(0.05)
            assert not second.done()
            reads.release.set()
            early_book = await asyncio.wait_for(first, timeout=PATIENCE)
            late_book = await asyncio.wait_for(second, timeout=PATIENCE)
    assert early_book is not None and early_book.version == 1
    assert late_book is not None and late_book.version == 2
    assert reads.started == 2


async def test_no_such_auction_is_told_to_every_watcher_who_waited(cache: CountingCache) -> None:
    async def missing(auction_id: str) -> Mapping[str, Any] | None:
        await asyncio.sleep(0.05)
        raise NoSuchAuction(auction_id)

    hub = FeedHub(cache, fetch=missing)
    async with hub.watch("nope") as one, hub.watch("nope") as two:
        for watcher in (one, two):
            with pytest.raises(NoSuchAuction):
                await asyncio.wait_for(hub.snapshot("nope", watcher), timeout=PATIENCE)


class Connection:
    """A watcher's connection as ``push`` sees it: takes texts while it is not held back."""

    def __init__(self) -> None:
        self.pushed: list[int] = []
        self.held_back = False

    def push(self, text: str) -> bool:
        if self.held_back:
            return False
        self.pushed.append(int(json.loads(text)["version"]))
        return True


async def pushed(connection: Connection, version: int) -> None:
    async def arrived() -> bool:
        return bool(connection.pushed) and connection.pushed[-1] >= version

    await eventually(arrived, interval=0.01)


async def test_a_watcher_waiting_for_its_next_book_is_pushed_it_without_a_take(
    cache: CountingCache,
) -> None:
    hub = hub_on(cache)
    connection = Connection()
    async with hub.watch("lot-1", push=connection.push) as watcher:
        # Not waiting in take yet (its first book is on its way): the mailbox holds it.
        await publish(cache, "lot-1", 1)
        await settled([watcher], 1)
        assert connection.pushed == []
        assert await taken(watcher) == 1
        # Waiting in take: each newer book goes straight to the connection, in order,
        # and the task stays asleep.
        waiting = asyncio.create_task(watcher.take())
        await asyncio.sleep(0)
        for version in (2, 3):
            await publish(cache, "lot-1", version)
            await pushed(connection, version)
        for version in (3, 2, 4):  # the repeated and the older ones are dropped
            await publish(cache, "lot-1", version)
        await pushed(connection, 4)
        assert connection.pushed == [2, 3, 4]
        assert not waiting.done() and watcher.pending is None
        # Held back (the client reads slowly): the task is woken with the newest book.
        connection.held_back = True
        await publish(cache, "lot-1", 5)
        update = await asyncio.wait_for(waiting, timeout=PATIENCE)
        assert update is not None and update.version == 5
        assert connection.pushed == [2, 3, 4]
        # Not waiting (its task is sending the last one): conflated in the mailbox.
        connection.held_back = False
        for version in (6, 7):
            await publish(cache, "lot-1", version)
        await settled([watcher], 7)
        assert connection.pushed == [2, 3, 4]
        assert await taken(watcher) == 7


async def test_a_closed_watcher_is_pushed_nothing(cache: CountingCache) -> None:
    hub = hub_on(cache)
    connection = Connection()
    async with hub.watch("lot-1", push=connection.push) as watcher, hub.watch("lot-1") as other:
        waiting = asyncio.create_task(watcher.take())
        await asyncio.sleep(0)
        watcher.close()
        assert await asyncio.wait_for(waiting, timeout=PATIENCE) is None
        await publish(cache, "lot-1", 1)
        assert await taken(other) == 1
        assert connection.pushed == []
