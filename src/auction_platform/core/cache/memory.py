"""In-process cache for the embedded mode: a dict with expiry, queues and token buckets."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

from auction_platform.core.cache.base import (
    VERSION_SUFFIX,
    CacheUnavailable,
    Mark,
    RateDecision,
    Subscription,
    TokenRequest,
    VersionedCopy,
    encode_marks,
)

# Keys that are written but never read again would otherwise live forever.
_SWEEP_EVERY_WRITES: Final = 1024


def check_ttl(ttl: float | None) -> None:
    """Reject a ttl that is not a positive, finite number of seconds."""
    if ttl is not None and not (ttl > 0 and math.isfinite(ttl)):
        raise ValueError(f"ttl must be a positive, finite number of seconds, got {ttl!r}")


def check_token_request(capacity: int, refill_per_second: float, cost: int) -> None:
    """Reject a token request that could never be granted."""
    if capacity < 1:
        raise ValueError(f"capacity must be at least 1, got {capacity!r}")
    if not (refill_per_second > 0 and math.isfinite(refill_per_second)):
        raise ValueError(
            f"refill_per_second must be positive and finite, got {refill_per_second!r}"
        )
    if not 1 <= cost <= capacity:
        raise ValueError(f"cost must be between 1 and capacity ({capacity}), got {cost!r}")


@dataclass(slots=True)
class _Entry:
    value: bytes
    expires_at: float | None


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_at: float
    full_at: float


class _QueueIterator:
    """Yields messages from one subscriber's queue until the cache closes."""

    def __init__(self, queue: asyncio.Queue[bytes | None]) -> None:
        self._queue = queue
        self._ended = False

    def __aiter__(self) -> _QueueIterator:
        return self

    async def __anext__(self) -> bytes:
        if self._ended:
            raise StopAsyncIteration
        message = await self._queue.get()
        if message is None:
            self._ended = True
            raise StopAsyncIteration
        return message

    async def batch(self) -> list[bytes]:
        """The next message and every one already queued after it; [] once ended."""
        try:
            messages = [await self.__anext__()]
        except StopAsyncIteration:
            return []
        queue = self._queue
        while not queue.empty():
            message = queue.get_nowait()
            if message is None:
                self._ended = True  # the next call answers []
                break
            messages.append(message)
        return messages


class MemoryCache:
    """The ``Cache`` interface within one process; nothing is shared between instances."""

    def __init__(self, *, prefix: str = "", clock: Callable[[], float] = time.monotonic) -> None:
        self._prefix = prefix
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._subscribers: dict[str, set[asyncio.Queue[bytes | None]]] = {}
        self._marks: dict[str, dict[str, tuple[bytes, float]]] = {}
        self._writes_since_sweep = 0
        self._closed = False

    async def start(self) -> None:
        """Open the cache (it is usable from construction until ``close``)."""
        self._closed = False

    async def close(self) -> None:
        """Drop all data and end every open subscription."""
        self._closed = True
        self._entries.clear()
        self._buckets.clear()
        self._marks.clear()
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(None)

    async def ping(self) -> None:
        """Succeed unless the cache was closed."""
        self._check_open()

    async def get(self, key: str) -> bytes | None:
        """Return the value of ``key``, or None when it is missing or expired."""
        self._check_open()
        name = self._prefix + key
        entry = self._entries.get(name)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= self._clock():
            del self._entries[name]
            return None
        return entry.value

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, expiring after ``ttl`` seconds if given."""
        self._check_open()
        check_ttl(ttl)
        expires_at = None if ttl is None else self._clock() + ttl
        self._entries[self._prefix + key] = _Entry(bytes(value), expires_at)
        self._count_write()

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self._check_open()
        self._entries.pop(self._prefix + key, None)

    async def publish(self, channel: str, message: bytes) -> None:
        """Deliver ``message`` to every current subscriber of ``channel``."""
        self._check_open()
        for queue in self._subscribers.get(self._prefix + channel, ()):
            queue.put_nowait(bytes(message))

    async def set_and_publish(
        self, items: Sequence[VersionedCopy], *, ttl: float | None = None
    ) -> list[bool]:
        """For each copy newer than the stored one: store it and its version, then publish it.

        None of the calls suspends, so each comparison and its write are atomic
        within the event loop.
        """
        self._check_open()
        check_ttl(ttl)
        stored: list[bool] = []
        for key, channel, value, version in items:
            current = await self.get(key + VERSION_SUFFIX)
            newer = current is None or version > int(current)
            if newer:
                await self.set(key, value, ttl=ttl)
                await self.set(key + VERSION_SUFFIX, str(version).encode(), ttl=ttl)
                await self.publish(channel, value)
            stored.append(newer)
        return stored

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """Subscribe to ``channel``; messages published after entering are received."""
        self._check_open()
        name = self._prefix + channel
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._subscribers.setdefault(name, set()).add(queue)
        try:
            yield _QueueIterator(queue)
        finally:
            queues = self._subscribers.get(name)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._subscribers[name]

    async def take_token(
        self, key: str, *, capacity: int, refill_per_second: float, cost: int = 1
    ) -> RateDecision:
        """Take ``cost`` tokens from the bucket ``key`` if it holds enough."""
        (decision,) = await self.take_tokens([TokenRequest(key, capacity, refill_per_second, cost)])
        return decision

    async def take_tokens(self, requests: Sequence[TokenRequest]) -> list[RateDecision]:
        """Take from several buckets at once; each bucket is decided on its own.

        Nothing awaits in between, so the batch is atomic within the event loop.
        """
        self._check_open()
        for request in requests:
            check_token_request(request.capacity, request.refill_per_second, request.cost)
        now = self._clock()
        return [self._take(request, now) for request in requests]

    async def add_marks(self, key: str, channel: str, marks: Sequence[Mark]) -> None:
        """Set each mark in the set ``key``, then announce them on ``channel``."""
        self._check_open()
        for mark in marks:
            check_ttl(mark.ttl)
        if not marks:
            return
        now = self._clock()
        held = self._live_marks(key, now)
        for mark in marks:
            held[mark.name] = (bytes(mark.value), now + mark.ttl)
        await self.publish(channel, encode_marks(marks))

    async def marks(self, key: str) -> list[Mark]:
        """Every mark of the set ``key`` not expired yet, with the seconds it has left."""
        self._check_open()
        now = self._clock()
        return [
            Mark(name, value, at - now) for name, (value, at) in self._live_marks(key, now).items()
        ]

    def _live_marks(self, key: str, now: float) -> dict[str, tuple[bytes, float]]:
        """The mark set ``key`` (empty if new), its expired marks dropped."""
        held = self._marks.setdefault(self._prefix + key, {})
        for name in [name for name, (_, at) in held.items() if at <= now]:
            del held[name]
        return held

    def _take(self, request: TokenRequest, now: float) -> RateDecision:
        capacity, rate, cost = request.capacity, request.refill_per_second, request.cost
        name = self._prefix + request.key
        bucket = self._buckets.get(name)
        if bucket is None:
            tokens = float(capacity)
        else:
            elapsed = max(0.0, now - bucket.updated_at)
            tokens = min(float(capacity), bucket.tokens + elapsed * rate)
            # A clock that went backwards must not rewind the refill reference.
            now = max(now, bucket.updated_at)
        allowed = tokens >= cost
        retry_after = 0.0
        if allowed:
            tokens -= cost
        else:
            retry_after = (cost - tokens) / rate
        full_at = now + (capacity - tokens) / rate
        self._buckets[name] = _Bucket(tokens, now, full_at)
        self._count_write()
        return RateDecision(allowed=allowed, remaining=math.floor(tokens), retry_after=retry_after)

    def _check_open(self) -> None:
        if self._closed:
            raise CacheUnavailable("the in-memory cache is closed")

    def _count_write(self) -> None:
        self._writes_since_sweep += 1
        if self._writes_since_sweep >= _SWEEP_EVERY_WRITES:
            self._sweep()

    def _sweep(self) -> None:
        now = self._clock()
        self._writes_since_sweep = 0
        expired = [
            name
            for name, entry in self._entries.items()
            if entry.expires_at is not None and entry.expires_at <= now
        ]
        for name in expired:
            del self._entries[name]
        # A bucket that has refilled completely is indistinguishable from a new one.
        full = [name for name, bucket in self._buckets.items() if bucket.full_at <= now]
        for name in full:
            del self._buckets[name]
