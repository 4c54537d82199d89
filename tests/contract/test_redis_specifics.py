"""What only the Redis backend has to get right: failing fast, server time, key layout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from auction_platform.core.cache import CacheUnavailable, RedisCache
from auction_platform.core.cache.base import Mark
from support.servers import unique_name

UNREACHABLE_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client to look at what the cache wrote."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def cache(redis_url: str, raw: Redis) -> AsyncIterator[RedisCache]:
    """A started Redis cache under a unique prefix, whose keys are deleted afterwards."""
    cache = RedisCache(redis_url, prefix=unique_name("cache_redis") + ":")
    await cache.start()
    yield cache
    await cache.close()
    keys = [key async for key in raw.scan_iter(match=cache._prefix + "*")]
    if keys:
        await raw.delete(*keys)


async def test_unreachable_server_raises_cache_unavailable_quickly() -> None:
    cache = RedisCache(UNREACHABLE_URL, timeout=1.0)
    await cache.start()
    started = time.monotonic()
    try:
        # A client that ignored its timeout would wait for ever: these deadlines catch it.
        with pytest.raises(CacheUnavailable):
            await asyncio.wait_for(cache.ping(), 30)
        with pytest.raises(CacheUnavailable):
            await asyncio.wait_for(cache.get("k"), 30)
    finally:
        await cache.close()

    waited = time.monotonic() - started
    assert waited < 20, f"a refused connection took {waited:.1f}s to report (timeout 1 s)"


async def test_silent_server_times_out_as_cache_unavailable() -> None:
    async def accept_and_say_nothing(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cache = RedisCache(f"redis://127.0.0.1:{port}/0", timeout=0.3)
    await cache.start()
    started = time.monotonic()
    try:
        with pytest.raises(CacheUnavailable):
            await asyncio.wait_for(cache.ping(), 30)
    finally:
        await cache.close()
        server.close()
        await server.wait_closed()

    waited = time.monotonic() - started
    assert waited < 20, f"a silent server was waited on for {waited:.1f}s (timeout 0.3 s)"


async def test_unstarted_cache_raises_cache_unavailable() -> None:
    with pytest.raises(CacheUnavailable):
        await RedisCache(UNREACHABLE_URL).get("k")


async def test_keys_are_stored_under_the_prefix(cache: RedisCache, raw: Redis) -> None:
    await cache.set("lot:1", b"v", ttl=60)

    assert await raw.get(cache._prefix + "lot:1") == b"v"
    assert 0 < await raw.pttl(cache._prefix + "lot:1") <= 60_000


async def test_token_bucket_expires_once_it_would_be_full_again(
    cache: RedisCache, raw: Redis
) -> None:
    await cache.take_token("b", capacity=10, refill_per_second=1)

    # One token short: full again after about a second (plus a second of margin).
    assert 0 < await raw.pttl(cache._prefix + "b") <= 2_000


async def test_token_bucket_is_stamped_with_server_time_in_ms(
    cache: RedisCache, raw: Redis
) -> None:
    seconds, micros = await raw.time()
    await cache.take_token("b", capacity=10, refill_per_second=1)

    stamp = float(await raw.hget(cache._prefix + "b", "ts") or 0)

    assert abs(stamp - (seconds * 1000 + micros // 1000)) < 1_000


async def test_a_mark_set_is_one_hash_living_as_long_as_its_longest_mark(
    cache: RedisCache, raw: Redis
) -> None:
    await cache.add_marks("marks", "marks", [Mark("a", b"1", 30), Mark("b", b"1", 90)])
    await cache.add_marks("marks", "marks", [Mark("c", b"1", 10)])

    assert await raw.hlen(cache._prefix + "marks") == 3
    assert 80_000 < await raw.pttl(cache._prefix + "marks") <= 90_000


async def test_expired_marks_leave_the_hash_when_the_set_is_read(
    cache: RedisCache, raw: Redis
) -> None:
    await cache.add_marks("marks", "marks", [Mark("gone", b"1", 0.05), Mark("kept", b"1", 60)])
    await asyncio.sleep(0.2)

    await cache.marks("marks")

    assert await raw.hkeys(cache._prefix + "marks") == [b"kept"]


async def test_subscription_is_registered_on_entry_and_dropped_on_exit(
    cache: RedisCache, raw: Redis
) -> None:
    channel = cache._prefix + "bids"
    async with cache.subscribe("bids"):
        assert await raw.pubsub_numsub(channel) == [(channel.encode(), 1)]

    assert await raw.pubsub_numsub(channel) == [(channel.encode(), 0)]
