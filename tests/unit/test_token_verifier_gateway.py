"""The gateway's front door: the token checked in the process, the buckets in one round trip.

While the cache is away, tokens are still checked against the marks the process
holds, and the rate limits are kept per process instead of being dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import jwt
import pytest
from test_token_verifier import Keys

from auction_platform.core.auth import REVOKED_MARK, STALE_MARK, TokenVerifier
from auction_platform.core.cache import CacheUnavailable, MemoryCache
from auction_platform.core.cache.base import Mark, RateDecision, TokenRequest
from auction_platform.core.errors import ApiError
from auction_platform.core.revocations import Revocations
from auction_platform.services.gateway.api import _admit
from auction_platform.services.gateway.limits import SHARED_RETRY_SECONDS, RateLimits
from support.platforms import embedded_settings


class CountingCache(MemoryCache):
    """A memory cache that counts the calls that would be Redis round trips, and can fail."""

    def __init__(self) -> None:
        super().__init__()
        self.round_trips = 0
        self.down = False

    async def get(self, key: str) -> bytes | None:
        self.round_trips += 1
        return await super().get(key)

    async def take_tokens(self, requests: Sequence[TokenRequest]) -> list[RateDecision]:
        self.round_trips += 1
        if self.down:
            raise CacheUnavailable("connection refused")
        return await super().take_tokens(requests)


class Door:
    """``_admit`` with one verifier, one set of marks and the gateway's rate limits."""

    def __init__(self, keys: Keys, cache: CountingCache, tmp_path: Path, **limits: int) -> None:
        self.now = [1000.0]
        self.revocations = Revocations(cache)
        self.verifier = TokenVerifier(keys.jwks, revocations=self.revocations)
        settings = embedded_settings(tmp_path, **limits)
        self.limits = RateLimits(cache, settings, clock=lambda: self.now[0])

    async def admit(self, token: str | None, address: str = "10.0.0.1", auth: bool = False) -> None:
        await _admit(token, address, auth, verifier=self.verifier, limits=self.limits)

    async def mark(self, token: str, value: bytes) -> None:
        jti = jwt.decode(token, options={"verify_signature": False})["jti"]
        await self.revocations.mark([Mark(jti, value, 600)])


@pytest.fixture
def keys() -> Keys:
    return Keys("k1")


@pytest.fixture
def cache() -> CountingCache:
    return CountingCache()


async def refused(door: Door, token: str | None, address: str = "10.0.0.1") -> ApiError:
    with pytest.raises(ApiError) as caught:
        await door.admit(token, address)
    return caught.value


async def test_a_signed_in_caller_costs_one_round_trip_for_the_buckets(
    keys: Keys, cache: CountingCache, tmp_path: Path
) -> None:
    door = Door(keys, cache, tmp_path)

    for _ in range(3):
        await door.admit(keys.sign(), auth=True)

    assert cache.round_trips == 3


async def test_a_revoked_token_is_refused(keys: Keys, cache: CountingCache, tmp_path: Path) -> None:
    door = Door(keys, cache, tmp_path)
    token = keys.sign()
    await door.admit(token)
    await door.mark(token, REVOKED_MARK)

    error = await refused(door, token)

    assert (error.status, error.code) == (401, "token_revoked")


async def test_a_stale_token_is_refused_before_the_buckets_are_touched(
    keys: Keys, cache: CountingCache, tmp_path: Path
) -> None:
    door = Door(keys, cache, tmp_path)
    token = keys.sign(roles=["bidder", "seller"])
    await door.mark(token, STALE_MARK)

    error = await refused(door, token)

    assert (error.status, error.code) == (401, "token_stale")
    assert cache.round_trips == 0


async def test_a_bad_token_is_refused_before_the_buckets_are_touched(
    keys: Keys, cache: CountingCache, tmp_path: Path
) -> None:
    door = Door(keys, cache, tmp_path)

    assert (await refused(door, "not.a.token")).code == "invalid_token"
    assert cache.round_trips == 0


async def test_a_dry_user_bucket_is_429_with_retry_after(
    keys: Keys, cache: CountingCache, tmp_path: Path
) -> None:
    door = Door(keys, cache, tmp_path, rate_limit_per_user=2, rate_limit_window_seconds=10)
    token = keys.sign()
    for address in ("10.0.0.1", "10.0.0.2"):
        await door.admit(token, address)

    error = await refused(door, token, "10.0.0.3")

    assert error.status == 429
    assert error.headers == {"Retry-After": "5"}


async def test_without_the_cache_tokens_are_checked_and_callers_limited_per_process(
    keys: Keys, cache: CountingCache, tmp_path: Path
) -> None:
    door = Door(keys, cache, tmp_path, rate_limit_per_address=3, rate_limit_window_seconds=60)
    token, revoked = keys.sign(), keys.sign()
    await door.mark(revoked, REVOKED_MARK)
    cache.down = True

    # A signed-in caller goes on; a token revoked before is still refused.
    await door.admit(token)
    assert (await refused(door, revoked)).code == "token_revoked"
    # The address's bucket of this process: two more, then 429.
    await door.admit(None)
    await door.admit(token)
    error = await refused(door, token)
    assert (error.status, error.headers) == (429, {"Retry-After": "20"})
    assert (await refused(door, None)).status == 429
    await door.admit(None, "10.0.0.2")  # another address has its own bucket


async def test_a_lost_cache_is_tried_again_after_a_pause_and_shared_buckets_resume(
    keys: Keys, cache: CountingCache, tmp_path: Path
) -> None:
    door = Door(keys, cache, tmp_path, rate_limit_per_address=5, rate_limit_window_seconds=60)
    cache.down = True
    await door.admit(None)
    await door.admit(None)
    assert cache.round_trips == 1  # the second request did not wait for the cache

    door.now[0] += SHARED_RETRY_SECONDS
    cache.down = False
    await door.admit(None)
    await door.admit(None)

    assert cache.round_trips == 3
    # The shared bucket took two; the process's own ones are not added to it.
    shared = await cache.take_token("rate:address:10.0.0.1", capacity=5, refill_per_second=5 / 60)
    assert shared.remaining == 2
