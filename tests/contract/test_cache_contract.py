"""The cache contract: every backend behaves the same, in memory and on Redis."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Protocol

import pytest
from redis.asyncio import Redis

from auction_platform.core.cache import Cache, CacheUnavailable, MemoryCache, RedisCache
from auction_platform.core.cache.base import Mark, MarkCache, TokenRequest, decode_marks
from auction_platform.core.cache.base import VersionedCopy as Copy
from support.servers import unique_name


class MakeCache(Protocol):
    """Build a started cache; ``sharing`` another one: a second client of the same data."""

    def __call__(self, *, sharing: Cache | None = None) -> Awaitable[Cache]: ...


# Deadlines for a loaded machine: a message or an expiry that is late, not missing, passes.
RECEIVE_TIMEOUT = 30.0


async def _delete_prefix(url: str, prefix: str) -> None:
    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def make_cache(request: pytest.FixtureRequest) -> AsyncIterator[MakeCache]:
    """Build started caches on one backend, each with its own prefix; clean up afterwards."""
    caches: list[Cache] = []
    prefixes: dict[int, str] = {}
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else ""

    async def make(*, sharing: Cache | None = None) -> Cache:
        if sharing is not None and request.param == "memory":
            return sharing  # an in-process cache is shared by sharing the object
        prefix = unique_name("cache_contract") + ":" if sharing is None else prefixes[id(sharing)]
        cache: Cache
        if request.param == "redis":
            cache = RedisCache(redis_url, prefix=prefix, timeout=2.0)
        else:
            cache = MemoryCache(prefix=prefix)
        await cache.start()
        caches.append(cache)
        prefixes[id(cache)] = prefix
        return cache

    yield make
    for cache in caches:
        await cache.close()
    if redis_url:
        for prefix in set(prefixes.values()):
            await _delete_prefix(redis_url, prefix)


@pytest.fixture
async def cache(make_cache: MakeCache) -> Cache:
    """A started cache on the backend under test."""
    return await make_cache()


async def _next(messages: AsyncIterator[bytes]) -> bytes:
    return await asyncio.wait_for(anext(messages), RECEIVE_TIMEOUT)


async def test_ping_succeeds_on_a_started_cache(cache: Cache) -> None:
    await cache.ping()


async def test_ping_fails_after_close(cache: Cache) -> None:
    await cache.close()

    with pytest.raises(CacheUnavailable):
        await cache.ping()


async def test_set_then_get_returns_the_value(cache: Cache) -> None:
    await cache.set("lot:1", b"\x00binary\xff")

    assert await cache.get("lot:1") == b"\x00binary\xff"


async def test_missing_key_reads_as_none(cache: Cache) -> None:
    assert await cache.get("never-written") is None


async def test_set_overwrites_the_previous_value(cache: Cache) -> None:
    await cache.set("k", b"first")
    await cache.set("k", b"second")

    assert await cache.get("k") == b"second"


async def _gone_after(cache: Cache, key: str, started: float, *, ttl: float) -> None:
    """Wait until ``key`` is gone: it must expire (not live for ever), and not early."""
    deadline = started + 30.0
    while await cache.get(key) is not None:
        assert time.monotonic() < deadline, f"the value (ttl {ttl}s) was still there after 30 s"
        await asyncio.sleep(0.02)
    assert time.monotonic() - started >= ttl * 0.75


async def test_value_expires_after_its_ttl(cache: Cache) -> None:
    started = time.monotonic()
    await cache.set("short-lived", b"v", ttl=0.2)
    assert await cache.get("short-lived") == b"v"

    await _gone_after(cache, "short-lived", started, ttl=0.2)


async def test_value_without_ttl_does_not_expire(cache: Cache) -> None:
    await cache.set("forever", b"v")
    await cache.set("short", b"v", ttl=0.05)
    await asyncio.sleep(0.1)

    assert await cache.get("forever") == b"v"


async def test_non_positive_ttl_is_rejected(cache: Cache) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await cache.set("k", b"v", ttl=0)


async def test_delete_removes_the_key(cache: Cache) -> None:
    await cache.set("k", b"v")

    await cache.delete("k")

    assert await cache.get("k") is None


async def test_deleting_a_missing_key_is_not_an_error(cache: Cache) -> None:
    await cache.delete("never-written")


async def test_prefixes_isolate_two_caches(make_cache: MakeCache) -> None:
    first, second = await make_cache(), await make_cache()
    await first.set("shared-name", b"first")

    assert await second.get("shared-name") is None
    await second.set("shared-name", b"second")
    await second.delete("shared-name")
    assert await first.get("shared-name") == b"first"


async def test_prefixes_isolate_channels(make_cache: MakeCache) -> None:
    first, second = await make_cache(), await make_cache()
    async with first.subscribe("news") as messages:
        await second.publish("news", b"not for first")
        await first.publish("news", b"for first")

        assert await _next(messages) == b"for first"


async def test_subscriber_receives_messages_published_after_subscribing(cache: Cache) -> None:
    await cache.publish("bids", b"before")
    async with cache.subscribe("bids") as messages:
        await cache.publish("bids", b"one")
        await cache.publish("bids", b"two")

        assert [await _next(messages), await _next(messages)] == [b"one", b"two"]


async def test_subscriber_sees_only_its_channel(cache: Cache) -> None:
    async with cache.subscribe("bids") as messages:
        await cache.publish("other", b"elsewhere")
        await cache.publish("bids", b"here")

        assert await _next(messages) == b"here"


async def test_every_subscriber_gets_every_message(cache: Cache) -> None:
    async with cache.subscribe("bids") as first, cache.subscribe("bids") as second:
        for message in (b"a", b"b", b"c"):
            await cache.publish("bids", message)

        for messages in (first, second):
            assert [await _next(messages) for _ in range(3)] == [b"a", b"b", b"c"]


async def test_a_batch_takes_every_message_waiting_at_once_in_order(cache: Cache) -> None:
    sent = [f"m{n}".encode() for n in range(200)]
    async with cache.subscribe("feed:many") as feed:
        # One call publishes them all: none can be read before the last is sent.
        await cache.set_and_publish(
            [Copy(f"book:{n}", "feed:many", message, 1) for n, message in enumerate(sent)]
        )
        await asyncio.sleep(0.1)  # on Redis: every message is on this side of the socket

        assert await asyncio.wait_for(feed.batch(), RECEIVE_TIMEOUT) == sent
        await cache.publish("feed:many", b"next")
        assert await asyncio.wait_for(feed.batch(), RECEIVE_TIMEOUT) == [b"next"]


async def test_a_batch_is_empty_once_the_subscription_ends(cache: Cache) -> None:
    async with cache.subscribe("feed:end") as feed:
        waiting = asyncio.create_task(feed.batch())
        await asyncio.sleep(0.05)
        await cache.close()

        assert await asyncio.wait_for(waiting, RECEIVE_TIMEOUT) == []
        assert await feed.batch() == []


async def test_set_and_publish_stores_each_value_and_publishes_it_on_its_channel(
    cache: Cache,
) -> None:
    async with cache.subscribe("feed:a") as feed_a, cache.subscribe("feed:b") as feed_b:
        stored = await cache.set_and_publish(
            [Copy("book:a", "feed:a", b"A1", 1), Copy("book:b", "feed:b", b"B1", 7)], ttl=60
        )
        assert await cache.set_and_publish([]) == []

        assert stored == [True, True]
        assert await _next(feed_a) == b"A1"
        assert await _next(feed_b) == b"B1"
    assert [await cache.get("book:a"), await cache.get("book:b")] == [b"A1", b"B1"]


async def test_set_and_publish_values_expire_after_the_ttl(cache: Cache) -> None:
    started = time.monotonic()
    await cache.set_and_publish([Copy("book:short", "feed:short", b"x", 1)], ttl=0.2)
    assert await cache.get("book:short") == b"x"

    await _gone_after(cache, "book:short", started, ttl=0.2)


async def test_set_and_publish_without_ttl_keeps_the_value(cache: Cache) -> None:
    await cache.set_and_publish([Copy("book:kept", "feed:kept", b"v1", 1)])
    await cache.set_and_publish([Copy("book:kept", "feed:kept", b"v2", 2)], ttl=None)
    await asyncio.sleep(0.3)
    assert await cache.get("book:kept") == b"v2"


async def test_a_subscriber_reading_the_key_on_a_message_sees_that_value(cache: Cache) -> None:
    # The live feed's promise: the copy is written before the notice goes out.
    async with cache.subscribe("feed:order") as feed:
        for n in range(5):
            value = f"price {n}".encode()
            await cache.set_and_publish([Copy("book:order", "feed:order", value, n)], ttl=60)
            assert await _next(feed) == value
            assert await cache.get("book:order") == value


async def test_a_copy_older_than_the_stored_one_is_neither_stored_nor_published(
    cache: Cache,
) -> None:
    async with cache.subscribe("feed:late") as feed:
        assert await cache.set_and_publish([Copy("book:late", "feed:late", b"v213", 213)]) == [True]
        # A writer that missed updates (the cache was down for it) comes back late.
        older = [Copy("book:late", "feed:late", b"v209", 209)]
        assert await cache.set_and_publish(older, ttl=60) == [False]
        same = [Copy("book:late", "feed:late", b"v213 again", 213)]
        assert await cache.set_and_publish(same, ttl=60) == [False]
        newer = [Copy("book:late", "feed:late", b"v214", 214)]
        assert await cache.set_and_publish(newer, ttl=60) == [True]

        assert [await _next(feed), await _next(feed)] == [b"v213", b"v214"]
    assert await cache.get("book:late") == b"v214"


async def test_each_copy_of_a_batch_is_compared_with_what_is_stored_before_it(
    cache: Cache,
) -> None:
    await cache.set_and_publish([Copy("book:y", "feed:y", b"y5", 5)], ttl=60)

    stored = await cache.set_and_publish(
        [
            Copy("book:x", "feed:x", b"x2", 2),
            Copy("book:y", "feed:y", b"y4", 4),
            Copy("book:x", "feed:x", b"x1", 1),
            Copy("book:y", "feed:y", b"y6", 6),
        ],
        ttl=60,
    )

    assert stored == [True, False, False, True]
    assert [await cache.get("book:x"), await cache.get("book:y")] == [b"x2", b"y6"]


async def test_racing_writers_leave_the_newest_copy(make_cache: MakeCache) -> None:
    # Two clients (two connections on Redis): the comparison is made on the server.
    first = await make_cache()
    second = await make_cache(sharing=first)
    versions = list(range(1, 201))
    random.Random(15).shuffle(versions)
    writers = [first, second]

    await asyncio.gather(
        *(
            writers[n % 2].set_and_publish(
                [Copy("book:race", "feed:race", str(v).encode(), v)], ttl=60
            )
            for n, v in enumerate(versions)
        )
    )

    assert await first.get("book:race") == b"200"


async def test_a_copy_is_guarded_as_long_as_it_lives(cache: Cache) -> None:
    started = time.monotonic()
    await cache.set_and_publish([Copy("book:gone", "feed:gone", b"v9", 9)], ttl=0.2)
    await _gone_after(cache, "book:gone", started, ttl=0.2)

    # Its version went with it: the next copy is stored, whatever its version.
    assert await cache.set_and_publish([Copy("book:gone", "feed:gone", b"v3", 3)]) == [True]
    assert await cache.get("book:gone") == b"v3"


async def test_set_and_publish_fails_after_close(cache: Cache) -> None:
    await cache.close()

    with pytest.raises(CacheUnavailable):
        await cache.set_and_publish([Copy("book:closed", "feed:closed", b"v", 1)])


async def test_publishing_after_the_subscriber_left_is_harmless(cache: Cache) -> None:
    async with cache.subscribe("bids") as messages:
        await cache.publish("bids", b"seen")
        assert await _next(messages) == b"seen"

    await cache.publish("bids", b"nobody listens")


async def test_token_bucket_allows_capacity_then_refuses_with_retry_after(cache: Cache) -> None:
    decisions = [
        await cache.take_token("user:1", capacity=3, refill_per_second=1.0) for _ in range(4)
    ]

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[0].retry_after == 0
    assert 0.5 < decisions[3].retry_after <= 1.0


async def test_token_bucket_charges_the_cost(cache: Cache) -> None:
    first = await cache.take_token("user:1", capacity=5, refill_per_second=0.01, cost=3)
    second = await cache.take_token("user:1", capacity=5, refill_per_second=0.01, cost=3)

    assert (first.allowed, first.remaining) == (True, 2)
    assert (second.allowed, second.remaining) == (False, 2)
    assert second.retry_after > 90  # one missing token at 0.01 tokens per second


async def test_token_buckets_are_independent_per_key(cache: Cache) -> None:
    await cache.take_token("user:1", capacity=1, refill_per_second=0.01)

    decision = await cache.take_token("user:2", capacity=1, refill_per_second=0.01)

    assert decision.allowed


async def test_token_bucket_refills_over_time(cache: Cache) -> None:
    for _ in range(2):
        assert (await cache.take_token("user:1", capacity=2, refill_per_second=10.0)).allowed
    refused = await cache.take_token("user:1", capacity=2, refill_per_second=10.0)
    assert not refused.allowed
    assert 0 < refused.retry_after <= 0.1

    await asyncio.sleep(refused.retry_after + 0.03)

    assert (await cache.take_token("user:1", capacity=2, refill_per_second=10.0)).allowed


async def test_token_bucket_is_atomic_under_concurrency(cache: Cache) -> None:
    decisions = await asyncio.gather(
        *(cache.take_token("hot", capacity=10, refill_per_second=0.001) for _ in range(50))
    )

    assert sum(d.allowed for d in decisions) == 10


@pytest.mark.parametrize(
    ("capacity", "refill_per_second", "cost"),
    [(0, 1.0, 1), (5, 0.0, 1), (5, -1.0, 1), (5, 1.0, 0), (5, 1.0, 6)],
)
async def test_impossible_token_requests_are_rejected(
    cache: Cache, capacity: int, refill_per_second: float, cost: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        await cache.take_token(
            "user:1", capacity=capacity, refill_per_second=refill_per_second, cost=cost
        )


async def test_take_tokens_answers_one_decision_per_request_in_order(cache: Cache) -> None:
    decisions = await cache.take_tokens(
        [
            TokenRequest("a", capacity=3, refill_per_second=1.0),
            TokenRequest("b", capacity=5, refill_per_second=1.0, cost=2),
            TokenRequest("c", capacity=1, refill_per_second=1.0),
        ]
    )

    assert [(d.allowed, d.remaining, d.retry_after) for d in decisions] == [
        (True, 2, 0),
        (True, 3, 0),
        (True, 0, 0),
    ]


async def test_take_tokens_of_nothing_is_nothing(cache: Cache) -> None:
    assert await cache.take_tokens([]) == []


async def test_take_tokens_decides_each_bucket_independently(cache: Cache) -> None:
    dry = TokenRequest("dry", capacity=1, refill_per_second=0.01)
    full = TokenRequest("full", capacity=3, refill_per_second=0.01)
    await cache.take_tokens([dry])

    refused, granted = await cache.take_tokens([dry, full])

    assert not refused.allowed
    assert refused.retry_after > 90
    # The refusal of one bucket neither blocks nor refunds the other.
    assert (granted.allowed, granted.remaining) == (True, 2)
    after = await cache.take_token("full", capacity=3, refill_per_second=0.01)
    assert (after.allowed, after.remaining) == (True, 1)


async def test_take_tokens_charges_the_same_key_once_per_request(cache: Cache) -> None:
    twice = [TokenRequest("k", capacity=2, refill_per_second=0.01)] * 3

    decisions = await cache.take_tokens(twice)

    assert [(d.allowed, d.remaining) for d in decisions] == [(True, 1), (True, 0), (False, 0)]


async def test_take_tokens_matches_take_token(make_cache: MakeCache) -> None:
    single, batch = await make_cache(), await make_cache()
    requests = [
        TokenRequest("x", capacity=4, refill_per_second=0.01),
        TokenRequest("y", capacity=5, refill_per_second=0.01, cost=2),
    ]

    # The two caches are asked moments apart, so their buckets refill for slightly
    # different times: as much as the longest round of asking (long on a busy machine).
    slack = 0.01
    for _ in range(4):
        started = time.monotonic()
        expected = [
            await single.take_token(
                r.key, capacity=r.capacity, refill_per_second=r.refill_per_second, cost=r.cost
            )
            for r in requests
        ]
        decisions = await batch.take_tokens(requests)
        slack = max(slack, time.monotonic() - started + 0.01)

        assert [(d.allowed, d.remaining) for d in decisions] == [
            (d.allowed, d.remaining) for d in expected
        ]
        for got, want in zip(decisions, expected, strict=True):
            assert got.retry_after == pytest.approx(want.retry_after, abs=slack)


async def test_take_tokens_shares_buckets_with_take_token(cache: Cache) -> None:
    await cache.take_token("shared", capacity=2, refill_per_second=0.01)

    (decision,) = await cache.take_tokens([TokenRequest("shared", 2, 0.01)])
    refused = await cache.take_token("shared", capacity=2, refill_per_second=0.01)

    assert (decision.allowed, decision.remaining) == (True, 0)
    assert not refused.allowed


async def test_take_tokens_is_atomic_under_concurrency(cache: Cache) -> None:
    requests = [
        TokenRequest("hot", capacity=10, refill_per_second=0.001),
        TokenRequest("warm", capacity=25, refill_per_second=0.001),
    ]

    batches = await asyncio.gather(*(cache.take_tokens(requests) for _ in range(50)))

    assert sum(hot.allowed for hot, _ in batches) == 10
    assert sum(warm.allowed for _, warm in batches) == 25
    # Each bucket hands out its tokens one by one, never the same one twice.
    assert sorted(hot.remaining for hot, _ in batches if hot.allowed) == list(range(10))
    assert sorted(warm.remaining for _, warm in batches if warm.allowed) == list(range(25))


async def test_take_tokens_refills_like_take_token(cache: Cache) -> None:
    request = TokenRequest("r", capacity=2, refill_per_second=10.0)
    await cache.take_tokens([request, request])
    (refused,) = await cache.take_tokens([request])
    assert not refused.allowed
    assert 0 < refused.retry_after <= 0.1

    await asyncio.sleep(refused.retry_after + 0.03)

    (granted,) = await cache.take_tokens([request])
    assert granted.allowed


async def test_take_tokens_rejects_an_impossible_request_before_taking_anything(
    cache: Cache,
) -> None:
    good = TokenRequest("good", capacity=1, refill_per_second=0.01)

    with pytest.raises(ValueError, match="must be"):
        await cache.take_tokens([good, TokenRequest("bad", capacity=1, refill_per_second=0)])

    assert (await cache.take_tokens([good]))[0].allowed


async def test_take_tokens_fails_after_close(cache: Cache) -> None:
    await cache.close()

    with pytest.raises(CacheUnavailable):
        await cache.take_tokens([TokenRequest("k", capacity=1, refill_per_second=1.0)])


def _by_name(marks: list[Mark]) -> dict[str, tuple[bytes, float]]:
    return {mark.name: (mark.value, mark.ttl) for mark in marks}


async def test_marks_are_read_back_with_their_value_and_the_time_they_have_left(
    cache: MarkCache,
) -> None:
    await cache.add_marks("marks", "marks", [Mark("a", b"1", 60), Mark("b", b"stale", 120)])

    read = _by_name(await cache.marks("marks"))

    assert {name: value for name, (value, _) in read.items()} == {"a": b"1", "b": b"stale"}
    assert 50 < read["a"][1] <= 60
    assert 110 < read["b"][1] <= 120


async def test_a_name_marked_again_takes_the_new_value_and_ttl(cache: MarkCache) -> None:
    await cache.add_marks("marks", "marks", [Mark("a", b"stale", 600)])

    await cache.add_marks("marks", "marks", [Mark("a", b"1", 60)])

    ((value, ttl),) = _by_name(await cache.marks("marks")).values()
    assert value == b"1"
    assert ttl <= 60


async def test_expired_marks_are_not_read(cache: MarkCache) -> None:
    await cache.add_marks("marks", "marks", [Mark("gone", b"1", 0.05), Mark("kept", b"1", 60)])
    await asyncio.sleep(0.2)

    assert list(_by_name(await cache.marks("marks"))) == ["kept"]


async def test_names_and_values_keep_every_character(cache: MarkCache) -> None:
    marks = [Mark("a:b", b"\x00:\xff", 60), Mark("1700000000000:x", b":", 60)]

    await cache.add_marks("marks", "marks", marks)

    read = _by_name(await cache.marks("marks"))
    assert {name: value for name, (value, _) in read.items()} == {
        "a:b": b"\x00:\xff",
        "1700000000000:x": b":",
    }


async def test_mark_sets_are_apart_from_each_other(cache: MarkCache) -> None:
    await cache.add_marks("one", "one", [Mark("a", b"1", 60)])
    await cache.add_marks("two", "two", [Mark("b", b"1", 60)])

    assert [mark.name for mark in await cache.marks("one")] == ["a"]
    assert [mark.name for mark in await cache.marks("two")] == ["b"]
    assert await cache.marks("never-written") == []


async def test_added_marks_are_announced_to_every_subscriber(make_cache: MakeCache) -> None:
    writer = await make_cache()
    follower = await make_cache(sharing=writer)
    marks = [Mark("a", b"1", 60), Mark("b", b"stale", 90.5)]

    async with follower.subscribe("marks") as announcements:
        await writer.add_marks("marks", "marks", marks)

        assert decode_marks(await _next(announcements)) == marks


async def test_a_follower_that_subscribes_then_reads_misses_no_mark(
    make_cache: MakeCache,
) -> None:
    writer = await make_cache()
    follower = await make_cache(sharing=writer)
    await writer.add_marks("marks", "marks", [Mark("before", b"1", 60)])

    async with follower.subscribe("marks") as announcements:
        await writer.add_marks("marks", "marks", [Mark("after", b"1", 60)])
        held = {mark.name for mark in await follower.marks("marks")}
        announced = await _next(announcements)

    assert held | {mark.name for mark in decode_marks(announced)} == {"before", "after"}


async def test_adding_no_marks_stores_and_announces_nothing(cache: MarkCache) -> None:
    async with cache.subscribe("marks") as announcements:
        await cache.add_marks("marks", "marks", [])
        await cache.add_marks("marks", "marks", [Mark("a", b"1", 60)])

        assert [mark.name for mark in decode_marks(await _next(announcements))] == ["a"]


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf")])
async def test_a_mark_without_a_positive_finite_ttl_is_rejected_with_the_rest(
    cache: MarkCache, ttl: float
) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await cache.add_marks("marks", "marks", [Mark("good", b"1", 60), Mark("bad", b"1", ttl)])

    assert await cache.marks("marks") == []


async def test_mark_sets_fail_after_close(cache: MarkCache) -> None:
    await cache.close()

    with pytest.raises(CacheUnavailable):
        await cache.add_marks("marks", "marks", [Mark("a", b"1", 60)])
    with pytest.raises(CacheUnavailable):
        await cache.marks("marks")


async def test_closing_the_cache_ends_open_subscriptions(cache: Cache) -> None:
    async with cache.subscribe("bids") as messages:

        async def read_one() -> bytes | None:
            return await anext(messages, None)

        reader = asyncio.create_task(read_one())
        await asyncio.sleep(0.05)

        await cache.close()

        assert await asyncio.wait_for(reader, RECEIVE_TIMEOUT) is None


async def test_redis_scripts_are_loaded_again_after_the_server_forgets_them(
    redis_url: str,
) -> None:
    prefix = unique_name("cache_contract") + ":"
    cache = RedisCache(redis_url, prefix=prefix, timeout=2.0)
    await cache.start()
    client = Redis.from_url(redis_url)
    try:
        await client.script_flush()
        await cache.set_and_publish([Copy("book:flushed", "feed:flushed", b"after", 1)], ttl=60)
        assert await cache.get("book:flushed") == b"after"
        decision = await cache.take_token("bucket:flushed", capacity=2, refill_per_second=1)
        assert decision.allowed
        await cache.add_marks("marks:flushed", "marks:flushed", [Mark("a", b"1", 60)])
        assert [mark.name for mark in await cache.marks("marks:flushed")] == ["a"]
    finally:
        await client.aclose()
        await cache.close()
        await _delete_prefix(redis_url, prefix)
