"""The sent log: first claim wins, a sent notice stays sent, a released one can be retried.

Both stores pass the same tests: the in-process LRU and the platform cache
(here the in-memory backend; the Redis backend runs in the integration tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from auction_platform.core.cache.base import CacheUnavailable
from auction_platform.core.cache.memory import MemoryCache
from auction_platform.services.notification.dedupe import CacheSentLog, MemorySentLog, SentLog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


MakeLog = Callable[[Clock], SentLog]


def memory_log(clock: Clock) -> SentLog:
    return MemorySentLog(retention=60.0, clock=clock)


def cache_log(clock: Clock) -> SentLog:
    return CacheSentLog(MemoryCache(clock=clock), retention=60.0, lease=5.0, poll_interval=0.01)


@pytest.fixture(params=[memory_log, cache_log], ids=["memory", "cache"])
def make_log(request: pytest.FixtureRequest) -> MakeLog:
    made: MakeLog = request.param
    return made


async def test_a_sent_notice_is_not_claimed_again(make_log: MakeLog) -> None:
    log = make_log(Clock())
    claim = await log.claim("e1:outbid:ann:email")
    assert claim is not None
    await claim.sent()
    assert await log.claim("e1:outbid:ann:email") is None
    assert await log.claim("e1:outbid:ann:sms") is not None


async def test_a_released_claim_can_be_taken_at_once(make_log: MakeLog) -> None:
    log = make_log(Clock())
    first = await log.claim("k")
    assert first is not None
    await first.release()
    second = await asyncio.wait_for(log.claim("k"), 1.0)
    assert second is not None
    await second.sent()
    assert await log.claim("k") is None


async def test_a_second_delivery_waits_for_the_first_and_then_skips(make_log: MakeLog) -> None:
    log = make_log(Clock())
    first = await log.claim("k")
    assert first is not None
    waiting = asyncio.create_task(log.claim("k"))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await first.sent()
    assert await asyncio.wait_for(waiting, 1.0) is None


async def test_a_second_delivery_takes_over_when_the_first_gives_up(make_log: MakeLog) -> None:
    log = make_log(Clock())
    first = await log.claim("k")
    assert first is not None
    waiting = asyncio.create_task(log.claim("k"))
    await asyncio.sleep(0.05)
    await first.release()
    assert await asyncio.wait_for(waiting, 1.0) is not None


async def test_a_sent_notice_is_forgotten_after_the_retention(make_log: MakeLog) -> None:
    clock = Clock()
    log = make_log(clock)
    claim = await log.claim("k")
    assert claim is not None
    await claim.sent()
    clock.now += 61.0
    assert await log.claim("k") is not None


async def test_a_claimant_that_vanished_is_outlived_by_its_lease() -> None:
    clock = Clock()
    log = CacheSentLog(MemoryCache(clock=clock), lease=5.0, poll_interval=0.01)
    assert await log.claim("k") is not None  # and never heard of again (a crash)
    waiting = asyncio.create_task(log.claim("k"))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    clock.now += 5.0
    assert await asyncio.wait_for(waiting, 1.0) is not None


async def test_the_memory_log_is_bounded_oldest_first() -> None:
    log = MemorySentLog(max_entries=2)
    for key in ("a", "b", "c"):
        claim = await log.claim(key)
        assert claim is not None
        await claim.sent()
    assert await log.claim("b") is None and await log.claim("c") is None
    assert await log.claim("a") is not None


class _DownCache(MemoryCache):
    async def get(self, key: str) -> bytes | None:
        raise CacheUnavailable("redis is down")


async def test_an_unreachable_cache_lets_the_notice_go_unguarded() -> None:
    log = CacheSentLog(_DownCache())
    claim = await log.claim("k")
    assert claim is not None
    await claim.sent()
    assert await log.claim("k") is not None  # nothing could be recorded
