"""Rate limits at the front door, and the budget that keeps retries from piling up."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence

from auction_platform.core.cache.base import Cache, CacheUnavailable, RateDecision, TokenRequest
from auction_platform.core.cache.memory import MemoryCache
from auction_platform.core.errors import ApiError
from auction_platform.settings import Settings

log = logging.getLogger("auction_platform.gateway")

# After the shared buckets failed, this process's own are used for this long before
# the cache is tried again: a cache that times out must not slow every request.
SHARED_RETRY_SECONDS = 1.0


class RateLimits:
    """Token buckets per client address and per user; stricter ones on sign-in routes.

    The buckets live in the cache, shared by every gateway replica. While it is
    unavailable each process keeps buckets of its own (the same limits, per replica),
    so the limits still hold, loosened by the number of replicas, and nothing is refused
    for want of Redis.
    """

    def __init__(
        self, cache: Cache, settings: Settings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.cache = cache
        self.local = MemoryCache(clock=clock)
        self.clock = clock
        self._on_own = False  # while the cache is unavailable
        self._try_shared_at = 0.0
        window = settings.rate_limit_window_seconds
        self.buckets = {
            "address": (settings.rate_limit_per_address, settings.rate_limit_per_address / window),
            "user": (settings.rate_limit_per_user, settings.rate_limit_per_user / window),
            "auth": (
                settings.auth_rate_limit_per_address,
                settings.auth_rate_limit_per_address / window,
            ),
        }

    async def check(self, *, address: str, user: str | None, auth_route: bool) -> None:
        """Take a token from every bucket that applies; 429 with ``Retry-After`` if one is dry.

        All the buckets are charged in one atomic call (one Redis round trip), each
        decided on its own: a bucket with tokens left pays for a request that another
        bucket refuses. When the cache is unavailable, this process's buckets decide.
        """
        requests = self.requests(address=address, user=user, auth_route=auth_route)
        self.enforce(await self._take(requests))

    async def _take(self, requests: Sequence[TokenRequest]) -> list[RateDecision]:
        """The shared buckets' decisions, or this process's while the cache is away."""
        if not self._on_own or self.clock() >= self._try_shared_at:
            try:
                decisions = await self.cache.take_tokens(requests)
            except CacheUnavailable as exc:
                if not self._on_own:
                    log.warning("rate limits per process: the cache is unavailable: %s", exc)
                self._on_own = True
                self._try_shared_at = self.clock() + SHARED_RETRY_SECONDS
            else:
                if self._on_own:
                    log.info("rate limits shared again: the cache is back")
                    self._on_own = False
                return decisions
        return await self.local.take_tokens(requests)

    def requests(self, *, address: str, user: str | None, auth_route: bool) -> list[TokenRequest]:
        """The buckets a request draws from: its address, its user, the sign-in routes."""
        requests = [self._request("address", address)]
        if user is not None:
            requests.append(self._request("user", user))
        if auth_route:
            requests.append(self._request("auth", address))
        return requests

    @staticmethod
    def enforce(decisions: Sequence[RateDecision]) -> None:
        """429 when a bucket refused, with the longest wait among them as ``Retry-After``."""
        refused = [decision.retry_after for decision in decisions if not decision.allowed]
        if refused:
            seconds = max(1, math.ceil(max(refused)))
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests; try again in {seconds} seconds",
                headers={"Retry-After": str(seconds)},
            )

    def _request(self, kind: str, who: str) -> TokenRequest:
        capacity, refill = self.buckets[kind]
        return TokenRequest(f"rate:{kind}:{who}", capacity, refill)


class RetryBudget:
    """Retries may add at most ``ratio`` to the traffic, plus a small floor per second."""

    def __init__(
        self,
        *,
        ratio: float = 0.1,
        floor_per_second: float = 1.0,
        cap: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.floor = floor_per_second
        self.cap = cap
        self.clock = clock
        self.tokens = cap
        self._last = clock()

    def record_request(self) -> None:
        """Every first attempt earns a fraction of a retry."""
        self.tokens = min(self.cap, self.tokens + self.ratio)

    def try_spend(self) -> bool:
        """Take one retry if the budget allows it."""
        now = self.clock()
        self.tokens = min(self.cap, self.tokens + (now - self._last) * self.floor)
        self._last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
