"""The one cache interface: key/value with TTL, publish/subscribe, rate limiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol


class CacheUnavailable(Exception):
    """The cache cannot be reached."""


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
    ) -> RateDecision: ...
