"""The cache interface: key/value with TTL, publish/subscribe, rate limiting.

``Cache`` is what any service may use. Two uses have an extension each, a protocol
of its own: the bid path stores a batch's books and announces them in one round
trip (``BookCache``), and every process follows the token marks (revoked, stale)
through a mark set (``MarkCache``). The platform's backends provide all three
(``PlatformCache``); a service names only what it uses.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Final, NamedTuple, Protocol

# Where a copy's version is kept: beside the copy, under its key and this suffix, with
# the same lifetime (``BookCache.set_and_publish``).
VERSION_SUFFIX: Final = "#version"


class CacheUnavailable(Exception):
    """The cache cannot be reached."""


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """Take ``cost`` tokens from the bucket ``key`` (``capacity`` tokens, refilled continuously)."""

    key: str
    capacity: int
    refill_per_second: float
    cost: int = 1


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Whether a token was granted, and when to retry if not."""

    allowed: bool
    remaining: int
    retry_after: float


class Subscription(Protocol):
    """The messages of one channel, in the order published: one by one, or in batches.

    ``batch`` serves a reader that wants only the newest state (the live feed): it
    takes everything waiting on the subscription at once, so what was received and not
    read yet is never more than what arrived since the reader last looked, however
    slowly it comes back.
    """

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def __anext__(self) -> bytes: ...

    async def batch(self) -> list[bytes]:
        """The next message and every one already received after it, without waiting for more.

        Waits for the first one; an empty list once the subscription has ended.
        """
        ...


class Cache(Protocol):
    """Key/value with TTL, publish/subscribe and an atomic token bucket.

    Every key and channel is namespaced by the backend's prefix, so two
    platforms (or two tests) can share one Redis without seeing each other.
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def publish(self, channel: str, message: bytes) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe; the subscription is live once the context is entered."""
        ...

    async def take_token(
        self, key: str, *, capacity: int, refill_per_second: float, cost: int = 1
    ) -> RateDecision:
        """Take ``cost`` tokens from the bucket ``key`` if it holds enough, atomically.

        A bucket starts full with ``capacity`` tokens and refills continuously at
        ``refill_per_second``; a refused request takes nothing and says how long to
        wait. Raises ``ValueError`` for a request that could never be granted.
        """
        ...

    async def take_tokens(self, requests: Sequence[TokenRequest]) -> list[RateDecision]:
        """``take_token`` for several buckets at once: one decision per request, in order.

        The whole batch is atomic (one round trip to Redis, one script) but every
        bucket is decided independently, exactly as ``take_token`` would decide it:
        a bucket that holds enough gives its tokens even when another bucket of the
        batch refuses. Requests are applied in order, so the same key twice is
        charged twice. Every request is validated before any bucket is touched.
        On Redis every key must live on one node (no cluster slot spreading).
        """
        ...


class VersionedCopy(NamedTuple):
    """A copy to store under ``key`` and publish on ``channel``, unless a newer one is stored."""

    key: str
    channel: str
    value: bytes
    version: int


class BookCache(Cache, Protocol):
    """The bid path's extension: a batch's book copies and live-feed notices at once."""

    async def set_and_publish(
        self, items: Sequence[VersionedCopy], *, ttl: float | None = None
    ) -> list[bool]:
        """For each copy whose version is above the stored one: store it, then publish it.

        A copy is compared with the version stored with its key (kept under the key
        and ``VERSION_SUFFIX``, living as long as the value) and written only if it is
        higher or none is stored, atomically on the server: two writers racing, or a
        late one, never replace or hide a newer copy, and an older one is not
        announced. Returns, per copy, whether it was stored. One round trip for all
        of them where the backend allows (not atomic as a whole: a subscriber may see
        a message before a later key is stored).
        """
        ...


@dataclass(frozen=True, slots=True)
class Mark:
    """A value set on a name of a mark set for ``ttl`` seconds (a revoked token's ``jti``)."""

    name: str
    value: bytes
    ttl: float


def encode_marks(marks: Sequence[Mark]) -> bytes:
    """The announcement of ``marks`` on their set's channel."""
    return json.dumps([[m.name, m.value.decode("latin-1"), m.ttl] for m in marks]).encode()


def decode_marks(message: bytes) -> list[Mark]:
    """The marks an announcement names; ``ValueError`` for a message that is not one."""
    try:
        return [
            Mark(str(name), str(value).encode("latin-1"), float(ttl))
            for name, value, ttl in json.loads(message)
        ]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not an announcement of marks: {message[:80]!r}") from exc


class MarkCache(Cache, Protocol):
    """Mark sets: names marked with a value for a while, each change announced.

    A process follows a set by subscribing to its channel, then reading the whole
    set (``marks``), then applying each announcement (``decode_marks``): it misses
    nothing, and after a lost connection it reads the set again.
    """

    async def add_marks(self, key: str, channel: str, marks: Sequence[Mark]) -> None:
        """Set each mark in the set ``key``, then announce them on ``channel``, atomically.

        A name marked again takes the new value and ttl. The announcement is
        ``encode_marks(marks)``; nothing is announced for no marks.
        """
        ...

    async def marks(self, key: str) -> list[Mark]:
        """Every mark of the set ``key`` not expired yet, with the seconds it has left."""
        ...


class PlatformCache(BookCache, MarkCache, Protocol):
    """What the platform's cache backends (memory, Redis) provide: every extension."""
