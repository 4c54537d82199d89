"""The in-memory cache, driven by a fake clock so that time moves without sleeping."""

from __future__ import annotations

import asyncio

import pytest

from auction_platform.core.cache import CacheUnavailable, MemoryCache, RedisCache, build_cache
from auction_platform.core.cache.base import TokenRequest


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def cache(clock: FakeClock) -> MemoryCache:
    cache = MemoryCache(prefix="test:", clock=clock)
    await cache.start()
    return cache


async def test_value_is_readable_until_just_before_its_ttl(
    cache: MemoryCache, clock: FakeClock
) -> None:
    await cache.set("k", b"v", ttl=10)

    clock.advance(9.999)

    assert await cache.get("k") == b"v"


async def test_value_is_gone_exactly_at_its_ttl(cache: MemoryCache, clock: FakeClock) -> None:
    await cache.set("k", b"v", ttl=10)

    clock.advance(10)

    assert await cache.get("k") is None


async def test_setting_again_without_ttl_removes_the_expiry(
    cache: MemoryCache, clock: FakeClock
) -> None:
    await cache.set("k", b"v", ttl=1)
    await cache.set("k", b"w")

    clock.advance(3600)

    assert await cache.get("k") == b"w"


async def test_expired_values_are_purged_even_when_never_read(
    cache: MemoryCache, clock: FakeClock
) -> None:
    for i in range(2000):
        await cache.set(f"k{i}", b"v", ttl=1)
    clock.advance(2)

    for i in range(2000):
        await cache.set(f"fresh{i}", b"v")

    assert not any(name.startswith("test:k") for name in cache._entries)


async def test_bucket_starts_full_and_counts_down(cache: MemoryCache) -> None:
    remaining = [
        (await cache.take_token("b", capacity=4, refill_per_second=1)).remaining for _ in range(4)
    ]

    assert remaining == [3, 2, 1, 0]


async def test_refused_request_says_exactly_when_to_retry(
    cache: MemoryCache, clock: FakeClock
) -> None:
    for _ in range(4):
        await cache.take_token("b", capacity=4, refill_per_second=2)
    clock.advance(0.25)

    refused = await cache.take_token("b", capacity=4, refill_per_second=2)

    assert not refused.allowed
    assert refused.retry_after == 0.25


async def test_bucket_refills_continuously(cache: MemoryCache, clock: FakeClock) -> None:
    for _ in range(4):
        await cache.take_token("b", capacity=4, refill_per_second=2)

    clock.advance(0.5)
    first = await cache.take_token("b", capacity=4, refill_per_second=2)
    second = await cache.take_token("b", capacity=4, refill_per_second=2)

    assert (first.allowed, first.remaining) == (True, 0)
    assert not second.allowed
    assert second.retry_after == 0.5


async def test_bucket_never_holds_more_than_its_capacity(
    cache: MemoryCache, clock: FakeClock
) -> None:
    await cache.take_token("b", capacity=4, refill_per_second=2)

    clock.advance(3600)
    decisions = [await cache.take_token("b", capacity=4, refill_per_second=2) for _ in range(5)]

    assert [d.allowed for d in decisions] == [True, True, True, True, False]


async def test_a_clock_going_backwards_does_not_mint_tokens(
    cache: MemoryCache, clock: FakeClock
) -> None:
    await cache.take_token("b", capacity=1, refill_per_second=1)
    clock.advance(-5)
    await cache.take_token("b", capacity=1, refill_per_second=1)
    clock.advance(5)

    assert not (await cache.take_token("b", capacity=1, refill_per_second=1)).allowed


async def test_leaving_the_subscription_unsubscribes(cache: MemoryCache) -> None:
    async with cache.subscribe("c"), cache.subscribe("c"):
        assert len(cache._subscribers["test:c"]) == 2

    assert cache._subscribers == {}


async def test_closing_ends_iteration_for_open_subscriptions(cache: MemoryCache) -> None:
    async with cache.subscribe("c") as messages:
        await cache.publish("c", b"last")
        await cache.close()

        assert [message async for message in messages] == [b"last"]


async def test_every_operation_fails_after_close(cache: MemoryCache) -> None:
    await cache.close()

    with pytest.raises(CacheUnavailable):
        await cache.get("k")
    with pytest.raises(CacheUnavailable):
        await cache.publish("c", b"m")


async def test_start_reopens_a_closed_cache(cache: MemoryCache) -> None:
    await cache.close()
    await cache.start()

    await cache.ping()


async def test_messages_wait_in_the_queue_for_a_slow_reader(cache: MemoryCache) -> None:
    async with cache.subscribe("c") as messages:
        for i in range(100):
            await cache.publish("c", str(i).encode())

        received = [await asyncio.wait_for(anext(messages), 1) for _ in range(100)]

    assert received == [str(i).encode() for i in range(100)]


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("memory://", MemoryCache),
        ("redis://127.0.0.1:6379/0", RedisCache),
        ("rediss://cache.example:6380/1", RedisCache),
        ("unix:///run/redis.sock", RedisCache),
    ],
)
def test_build_cache_chooses_the_backend_by_scheme(url: str, backend: type) -> None:
    assert isinstance(build_cache(url), backend)


def test_build_cache_rejects_an_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="unsupported cache URL"):
        build_cache("memcached://127.0.0.1:11211")


async def test_take_tokens_refills_each_bucket_at_its_own_rate(
    cache: MemoryCache, clock: FakeClock
) -> None:
    slow = TokenRequest("slow", capacity=2, refill_per_second=1)
    fast = TokenRequest("fast", capacity=2, refill_per_second=4)
    await cache.take_tokens([slow, fast, slow, fast])

    clock.advance(0.25)
    slow_decision, fast_decision = await cache.take_tokens([slow, fast])

    assert (slow_decision.allowed, slow_decision.retry_after) == (False, 0.75)
    assert (fast_decision.allowed, fast_decision.remaining) == (True, 0)


async def test_take_tokens_after_close_fails(cache: MemoryCache) -> None:
    await cache.close()

    with pytest.raises(CacheUnavailable):
        await cache.take_tokens([TokenRequest("b", capacity=1, refill_per_second=1)])
