"""The cached copies of books: never older than one shown, repaired after an outage."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from auction_platform.core.cache.base import VersionedCopy
from auction_platform.core.cache.memory import MemoryCache
from auction_platform.services.bidding.copies import BookCopies, book_key
from support.waiting import eventually


def book(auction_id: str, version: int, price_cents: int = 1_000) -> dict[str, Any]:
    return {"auction_id": auction_id, "version": version, "price_cents": price_cents}


async def test_a_refreshed_copy_is_read_back() -> None:
    copies = BookCopies(MemoryCache())
    await copies.refresh([book("a", 1), book("b", 4)])

    assert await copies.read("a") == book("a", 1)
    assert await copies.read("b") == book("b", 4)
    assert await copies.read("c") is None


async def test_a_copy_older_than_one_shown_is_not_served_and_is_repaired() -> None:
    cache = MemoryCache()
    copies = BookCopies(cache)
    await copies.refresh([book("a", 3, 1_500)])
    # The database showed version 5 (say, while this process could not reach the cache),
    # and the cache's copy is of version 3.
    copies.shown(book("a", 5, 2_500))

    assert await copies.read("a") is None
    assert copies.missed == {"a"}

    await copies.repair(lambda ids: _books({"a": book("a", 5, 2_500)}, ids))
    assert copies.missed == frozenset()
    assert await copies.read("a") == book("a", 5, 2_500)


async def test_a_late_refresh_never_replaces_a_newer_copy() -> None:
    cache = MemoryCache()
    first, second = BookCopies(cache), BookCopies(cache)  # two replicas, one cache
    await first.refresh([book("a", 7, 3_000)])
    await second.refresh([book("a", 6, 2_500)])

    assert await second.read("a") == book("a", 7, 3_000)
    raw = await cache.get(book_key("a"))
    assert raw is not None and json.loads(raw)["version"] == 7


async def test_copies_that_missed_updates_while_the_cache_was_down_are_repaired_on_return() -> None:
    cache = MemoryCache()
    copies = BookCopies(cache)
    current = {"a": book("a", 1)}
    await copies.refresh([current["a"]])

    await cache.close()
    current["a"] = book("a", 2, 1_500)
    await copies.refresh([current["a"]])  # the bid committed; its copy could not be written
    assert copies.missed == {"a"}
    assert await copies.read("a") is None  # the database answers meanwhile

    loads: list[list[str]] = []

    async def load(ids: list[str]) -> list[dict[str, Any]]:
        loads.append(ids)
        return await _books(current, ids)

    job = asyncio.create_task(copies.keep_repaired(load, pause=0.01))
    try:
        await asyncio.sleep(0.05)
        assert copies.missed == {"a"}  # still down: nothing read from the database
        assert loads == []
        await cache.start()
        await eventually(lambda: _async(not copies.missed))
        assert await copies.read("a") == book("a", 2, 1_500)
        assert loads == [["a"]]
    finally:
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)


async def test_a_repair_never_replaces_a_copy_written_since() -> None:
    cache = MemoryCache()
    copies = BookCopies(cache)
    copies.shown(book("a", 5))
    assert await copies.read("a") is None
    await cache.set_and_publish([VersionedCopy(book_key("a"), "feed", b'{"version": 6}', 6)])

    # The repair read version 5 before a batch wrote version 6: 6 stays.
    await copies.repair(lambda ids: _books({"a": book("a", 5)}, ids))
    raw = await cache.get(book_key("a"))
    assert raw is not None and json.loads(raw)["version"] == 6


async def test_the_newest_versions_shown_are_remembered_for_the_most_recent_books() -> None:
    copies = BookCopies(MemoryCache(), remembered=2)
    await copies.refresh([book("a", 1), book("b", 1), book("c", 1)])
    for auction_id in ("a", "b", "c"):
        copies.shown(book(auction_id, 9))
    copies.shown(book("c", 3))  # an older view never lowers what was shown

    assert await copies.read("b") is None
    assert await copies.read("c") is None
    # "a", the least recently shown, was forgotten: its copy is served again.
    assert await copies.read("a") == book("a", 1)


async def _books(current: dict[str, dict[str, Any]], ids: list[str]) -> list[dict[str, Any]]:
    return [current[i] for i in ids if i in current]


async def _async(value: bool) -> bool:
    return value
