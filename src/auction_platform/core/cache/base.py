"""The cache interface: key/value with TTL, publish/subscribe, rate limiting.

``Cache`` is what any service may use. Two hot paths have an extension each, a
protocol of its own: the bid path stores a batch's books and announces them in
one round trip (``BookCache``), the gateway reads a revocation mark and takes its
rate-limit tokens in one (``AdmissionCache``). The platform's backends provide
all three (``PlatformCache``); a service names only what it uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol


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

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
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


class BookCache(Cache, Protocol):
    """The bid path's extension: a batch's book copies and live-feed notices at once."""

    async def set_and_publish(
        self, items: Sequence[tuple[str, str, bytes]], *, ttl: float | None = None
    ) -> None:
        """For each ``(key, channel, value)``: store the value, then publish it.

        One round trip for all of them where the backend allows (not atomic: a
        subscriber may see a message before a later key is stored).
        """
        ...


class AdmissionCache(Cache, Protocol):
    """The gateway's extension: a revocation mark and the caller's rate limits at once."""

    async def get_and_take_tokens(
        self, key: str, requests: Sequence[TokenRequest]
    ) -> tuple[bytes | None, list[RateDecision]]:
        """``get(key)`` and ``take_tokens(requests)`` as one atomic step (one round trip).

        The tokens are taken whatever the value read; for a caller that needs both
        answers for every request (the gateway: is the token revoked, is the caller
        within its limits) this halves the round trips.
        """
        ...


class PlatformCache(BookCache, AdmissionCache, Protocol):
    """What the platform's cache backends (memory, Redis) provide: every extension."""
