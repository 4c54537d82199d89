"""The process-local token marks: fed by the cache's announcements, read again on reconnect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from auction_platform.core.auth import REVOKED_MARK, STALE_MARK
from auction_platform.core.cache import CacheUnavailable, MemoryCache
from auction_platform.core.cache.base import Mark, decode_marks, encode_marks
from auction_platform.core.revocations import MARK_SET, Revocations
from support.waiting import eventually


class FlakyCache(MemoryCache):
    """A memory cache whose connection can be cut (subscriptions end, nothing answers)
    and whose announcements can be lost, while the data stays, as on a Redis server."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.mute = False

    def _check(self) -> None:
        if self.down:
            raise CacheUnavailable("connection refused")

    async def cut(self) -> None:
        """Lose the connection: open subscriptions end, every call fails until ``mend``."""
        self.down = True
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(None)

    async def publish(self, channel: str, message: bytes) -> None:
        if not self.mute:
            await super().publish(channel, message)

    async def marks(self, key: str) -> list[Mark]:
        self._check()
        return await super().marks(key)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        self._check()
        async with super().subscribe(channel) as messages:
            yield messages


async def follower(cache: MemoryCache, **options: float) -> Revocations:
    revocations = Revocations(cache, retry_interval=0.05, **options)
    await revocations.start()
    return revocations


@pytest.fixture
async def cache() -> AsyncIterator[FlakyCache]:
    cache = FlakyCache()
    yield cache
    await cache.close()


async def test_marks_made_before_the_start_are_read_at_the_start(cache: FlakyCache) -> None:
    await Revocations(cache).mark([Mark("old", REVOKED_MARK, 60)])

    revocations = await follower(cache)

    assert revocations.following
    assert revocations.mark_of("old") == REVOKED_MARK
    await revocations.close()


async def test_a_mark_made_by_another_process_is_held_here_once_announced(
    cache: FlakyCache,
) -> None:
    revocations = await follower(cache)

    await Revocations(cache).mark([Mark("jti", STALE_MARK, 60)])

    assert await eventually(lambda: _mark_of(revocations, "jti")) == STALE_MARK
    assert revocations.mark_of("another") is None
    await revocations.close()


async def test_a_mark_made_here_holds_here_at_once(cache: FlakyCache) -> None:
    revocations = Revocations(cache)  # not following: the mark is still held

    await revocations.mark([Mark("jti", REVOKED_MARK, 60)])

    assert revocations.mark_of("jti") == REVOKED_MARK


async def test_a_mark_the_cache_cannot_take_is_refused_and_not_held(cache: FlakyCache) -> None:
    revocations = Revocations(cache)
    await cache.close()

    with pytest.raises(CacheUnavailable):
        await revocations.mark([Mark("jti", REVOKED_MARK, 60)])

    assert revocations.mark_of("jti") is None


async def test_without_the_cache_the_start_returns_and_marks_held_still_count(
    cache: FlakyCache,
) -> None:
    revocations = Revocations(cache, retry_interval=0.05)
    await revocations.mark([Mark("jti", REVOKED_MARK, 60)])
    await cache.cut()

    await revocations.start()

    assert not revocations.following
    assert revocations.mark_of("jti") == REVOKED_MARK
    await revocations.close()


async def test_marks_made_while_the_cache_was_away_are_read_when_it_returns(
    cache: FlakyCache,
) -> None:
    revocations = await follower(cache, reload_interval=3600)
    await cache.cut()
    await eventually(lambda: _not_following(revocations))
    # Another process's mark reaches the server while this one is cut off from it.
    cache.down = False
    cache.mute = True
    await MemoryCache.add_marks(cache, MARK_SET, MARK_SET, [Mark("meanwhile", REVOKED_MARK, 60)])
    cache.mute = False
    assert revocations.mark_of("meanwhile") is None

    await eventually(lambda: _following(revocations))
    assert revocations.mark_of("meanwhile") == REVOKED_MARK
    await revocations.close()


async def test_an_announcement_lost_on_the_way_is_caught_by_the_regular_reading(
    cache: FlakyCache,
) -> None:
    revocations = await follower(cache, reload_interval=0.1)
    cache.mute = True

    await Revocations(cache).mark([Mark("lost", STALE_MARK, 60)])

    assert await eventually(lambda: _mark_of(revocations, "lost")) == STALE_MARK
    await revocations.close()


async def test_an_announcement_that_is_not_one_is_ignored(cache: FlakyCache) -> None:
    revocations = await follower(cache)

    await cache.publish(MARK_SET, b"not json")
    await cache.publish(MARK_SET, b'{"a": 1}')
    await Revocations(cache).mark([Mark("after", REVOKED_MARK, 60)])

    assert await eventually(lambda: _mark_of(revocations, "after")) == REVOKED_MARK
    assert revocations.following
    await revocations.close()


async def test_a_mark_expires_with_its_ttl() -> None:
    now = [100.0]
    revocations = Revocations(MemoryCache(clock=lambda: now[0]), clock=lambda: now[0])
    await revocations.mark([Mark("jti", REVOKED_MARK, 10)])

    now[0] += 10

    assert revocations.mark_of("jti") is None


def test_an_announcement_carries_names_values_and_ttls() -> None:
    marks = [Mark("a", b"\x00\xff", 1.5), Mark("b:c", b"stale", 600)]

    assert decode_marks(encode_marks(marks)) == marks
    for junk in (b"", b"[1]", b'[["a", "b"]]', b'[["a", "\\u0100", 1]]', b"\xff"):
        with pytest.raises(ValueError, match="not an announcement"):
            decode_marks(junk)


async def _mark_of(revocations: Revocations, token_id: str) -> bytes | None:
    return revocations.mark_of(token_id)


async def _following(revocations: Revocations) -> bool:
    return revocations.following


async def _not_following(revocations: Revocations) -> bool:
    return not revocations.following
