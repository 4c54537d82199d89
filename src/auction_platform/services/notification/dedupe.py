"""Which notices were already sent: dedupe for a service without a database.

A key is one (event, notice, recipient, channel). Sending one goes:

1. ``claim(key)``: None when it was sent already; otherwise a ``Claim`` that is
   the only one for that key right now (a second delivery of the same event, on
   this replica or another, waits for the first to finish or give up).
2. the provider accepts the message, then ``claim.sent()`` records it for the
   retention period; or the provider fails and ``claim.release()`` lets the next
   delivery try again.

The guarantee is at-least-once with dedupe: a key is recorded only after the
provider accepted it, so nothing is lost; a crash (or a dedupe store outage)
between acceptance and recording sends that one message again on redelivery.

Two stores: ``CacheSentLog`` on the platform cache (Redis), shared by every
replica, and ``MemorySentLog``, a bounded LRU within one process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from auction_platform.core.cache.base import Cache, CacheUnavailable

log = logging.getLogger("auction_platform.notification")

# How long a sent notice is remembered: longer than any redelivery, an outbox
# re-publication or an operator's replay of the dead-letter queue.
SENT_RETENTION_SECONDS = 7 * 24 * 3600.0
# How long a claim holds without news: longer than a provider may take to answer.
CLAIM_LEASE_SECONDS = 60.0
MEMORY_LOG_SIZE = 100_000


class Claim(Protocol):
    """The right to send one notice, held until it is recorded or released."""

    async def sent(self) -> None:
        """Record the notice as sent (the provider accepted it)."""
        ...

    async def release(self) -> None:
        """Give the claim back unsent, so a redelivery can try again."""
        ...


class SentLog(Protocol):
    """Records which notices went out."""

    async def claim(self, key: str) -> Claim | None:
        """A claim on ``key``, or None when it was sent already."""
        ...


class MemorySentLog:
    """Sent notices remembered in this process: bounded, oldest forgotten first."""

    def __init__(
        self,
        *,
        retention: float = SENT_RETENTION_SECONDS,
        max_entries: int = MEMORY_LOG_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._retention = retention
        self._max_entries = max_entries
        self._clock = clock
        self._sent: OrderedDict[str, float] = OrderedDict()
        self._held: dict[str, asyncio.Event] = {}

    async def claim(self, key: str) -> Claim | None:
        """None when sent; waits while another delivery of this key is in flight."""
        while True:
            expires = self._sent.get(key)
            if expires is not None:
                if expires > self._clock():
                    return None
                del self._sent[key]
            held = self._held.get(key)
            if held is None:
                done = self._held[key] = asyncio.Event()
                return _MemoryClaim(self, key, done)
            await held.wait()

    def _record(self, key: str) -> None:
        self._sent[key] = self._clock() + self._retention
        self._sent.move_to_end(key)
        while len(self._sent) > self._max_entries:
            self._sent.popitem(last=False)

    def _let_go(self, key: str, done: asyncio.Event) -> None:
        if self._held.get(key) is done:
            del self._held[key]
        done.set()


class _MemoryClaim:
    def __init__(self, log: MemorySentLog, key: str, done: asyncio.Event) -> None:
        self._log, self._key, self._done = log, key, done

    async def sent(self) -> None:
        self._log._record(self._key)
        self._log._let_go(self._key, self._done)

    async def release(self) -> None:
        self._log._let_go(self._key, self._done)


class CacheSentLog:
    """Sent notices remembered in the platform cache, shared by every replica.

    ``sent:<key>`` marks a sent notice for the retention period. The claim is
    ``take_token`` on a one-token bucket refilled once per lease: the first
    taker wins, atomically, on Redis and in memory alike. A bucket cannot be
    handed back, so a release moves the key to its next *attempt* (a fresh
    bucket); a claimant that crashed is outlived by its lease.

    When the cache is down the dedupe fails open: the notice is sent unguarded
    (a duplicate is better than a lost notice) and a warning is logged.
    """

    def __init__(
        self,
        cache: Cache,
        *,
        retention: float = SENT_RETENTION_SECONDS,
        lease: float = CLAIM_LEASE_SECONDS,
        poll_interval: float = 0.1,
        prefix: str = "notification:",
    ) -> None:
        self._cache = cache
        self._retention = retention
        self._lease = lease
        self._poll = poll_interval
        self._prefix = prefix

    async def claim(self, key: str) -> Claim | None:
        """None when sent; waits while another delivery of this key holds the claim."""
        try:
            while True:
                if await self._cache.get(self._sent_key(key)) is not None:
                    return None
                attempt = int(await self._cache.get(self._attempt_key(key)) or b"0")
                decision = await self._cache.take_token(
                    f"{self._prefix}claim:{key}:{attempt}",
                    capacity=1,
                    refill_per_second=1.0 / self._lease,
                )
                if decision.allowed:
                    return _CacheClaim(self, key, attempt)
                await asyncio.sleep(min(self._poll, max(decision.retry_after, 0.001)))
        except CacheUnavailable as exc:
            log.warning("dedupe store unavailable (%s); sending %s unguarded", exc, key)
            return _Unguarded()

    async def _record(self, key: str) -> None:
        try:
            await self._cache.set(self._sent_key(key), b"1", ttl=self._retention)
        except CacheUnavailable as exc:
            log.warning("could not record %s as sent (%s); a redelivery repeats it", key, exc)

    async def _next_attempt(self, key: str, attempt: int) -> None:
        try:
            value = str(attempt + 1).encode()
            await self._cache.set(self._attempt_key(key), value, ttl=self._retention)
        except CacheUnavailable as exc:
            log.warning("could not release %s (%s); it waits for its lease", key, exc)

    def _sent_key(self, key: str) -> str:
        return f"{self._prefix}sent:{key}"

    def _attempt_key(self, key: str) -> str:
        return f"{self._prefix}attempt:{key}"


class _CacheClaim:
    def __init__(self, log: CacheSentLog, key: str, attempt: int) -> None:
        self._log, self._key, self._attempt = log, key, attempt

    async def sent(self) -> None:
        await self._log._record(self._key)

    async def release(self) -> None:
        await self._log._next_attempt(self._key, self._attempt)


class _Unguarded:
    async def sent(self) -> None:
        """Nothing to record: the store is down."""

    async def release(self) -> None:
        """Nothing to release."""
