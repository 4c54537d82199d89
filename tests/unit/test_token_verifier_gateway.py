"""The gateway's front door: token check and rate limits in one cache round trip."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from test_token_verifier import Keys

from auction_platform.core.auth import STALE_MARK, TokenVerifier, revocation_key
from auction_platform.core.cache import CacheUnavailable, MemoryCache
from auction_platform.core.cache.base import RateDecision, TokenRequest
from auction_platform.core.errors import ApiError
from auction_platform.services.gateway.api import _admit
from auction_platform.services.gateway.limits import RateLimits
from support.platforms import embedded_settings


class CountingCache(MemoryCache):
    """A memory cache that counts the calls that would be Redis round trips."""

    def __init__(self) -> None:
        super().__init__()
        self.round_trips = 0

    async def get(self, key: str) -> bytes | None:
        self.round_trips += 1
        return await super().get(key)

    async def take_tokens(self, requests: Sequence[TokenRequest]) -> list[RateDecision]:
        self.round_trips += 1
        return await super().take_tokens(requests)

    async def get_and_take_tokens(
        self, key: str, requests: Sequence[TokenRequest]
    ) -> tuple[bytes | None, list[RateDecision]]:
        self.round_trips += 1
        decisions = await MemoryCache.take_tokens(self, requests)
        return await MemoryCache.get(self, key), decisions


@pytest.fixture
def keys() -> Keys:
    return Keys("k1")


@pytest.fixture
def cache() -> CountingCache:
    return CountingCache()


def _limits(cache: MemoryCache, tmp_path: Path, **overrides: int) -> RateLimits:
    return RateLimits(cache, embedded_settings(tmp_path, **overrides))


async def test_a_signed_in_caller_costs_one_round_trip(
    keys: Keys, cache: CountingCache, tmp_path: Path
) -> None:
    verifier = TokenVerifier(keys.jwks, cache=cache)
    limits = _limits(cache, tmp_path)

    for _ in range(3):
        await _admit(keys.sign(), "10.0.0.1", True, verifier=verifier, limits=limits)

    assert cache.round_trips == 3


async def test_a_revoked_token_is_refused(keys: Keys, cache: CountingCache, tmp_path: Path) -> None:
    verifier = TokenVerifier(keys.jwks, cache=cache)
    limits = _limits(cache, tmp_path)
    token = keys.sign()
    await _admit(token, "10.0.0.1", False, verifier=verifier, limits=limits)
    await cache.set(revocation_key(await verifier.verify_unrevoked(token)), b"1", ttl=60)

    with pytest.raises(ApiError) as caught:
        await _admit(token, "10.0.0.1", False, verifier=verifier, limits=limits)

    assert (caught.value.status, caught.value.code) == (401, "token_revoked")


async def test_a_stale_token_is_refused_at_the_door_in_the_same_round_trip(
    keys: Keys, cache: CountingCache, tmp_path: Path
) -> None:
    verifier = TokenVerifier(keys.jwks, cache=cache)
    limits = _limits(cache, tmp_path)
    token = keys.sign(roles=["bidder", "seller"])
    await cache.set(revocation_key(await verifier.verify_unrevoked(token)), STALE_MARK, ttl=60)

    with pytest.raises(ApiError) as caught:
        await _admit(token, "10.0.0.1", False, verifier=verifier, limits=limits)

    assert (caught.value.status, caught.value.code) == (401, "token_stale")
    assert cache.round_trips == 1


async def test_a_bad_token_is_refused_before_the_buckets_are_touched(
    keys: Keys, cache: CountingCache, tmp_path: Path
) -> None:
    verifier = TokenVerifier(keys.jwks, cache=cache)
    limits = _limits(cache, tmp_path)

    with pytest.raises(ApiError) as caught:
        await _admit("not.a.token", "10.0.0.1", False, verifier=verifier, limits=limits)

    assert caught.value.code == "invalid_token"
    assert cache.round_trips == 0


async def test_a_dry_user_bucket_is_429_with_retry_after(
    keys: Keys, cache: CountingCache, tmp_path: Path
) -> None:
    verifier = TokenVerifier(keys.jwks, cache=cache)
    limits = _limits(cache, tmp_path, rate_limit_per_user=2, rate_limit_window_seconds=10)
    token = keys.sign()
    for address in ("10.0.0.1", "10.0.0.2"):
        await _admit(token, address, False, verifier=verifier, limits=limits)

    with pytest.raises(ApiError) as caught:
        await _admit(token, "10.0.0.3", False, verifier=verifier, limits=limits)

    assert caught.value.status == 429
    assert caught.value.headers == {"Retry-After": "5"}


async def test_without_the_cache_a_signed_in_caller_is_refused_and_anonymous_ones_pass(
    keys: Keys, cache: CountingCache, tmp_path: Path
) -> None:
    verifier = TokenVerifier(keys.jwks, cache=cache)
    limits = _limits(cache, tmp_path)
    token = keys.sign()
    await verifier.verify_unrevoked(token)
    await cache.close()

    # Revocation cannot be checked: the same CacheUnavailable (503) as from ``verify``.
    with pytest.raises(CacheUnavailable):
        await _admit(token, "10.0.0.1", False, verifier=verifier, limits=limits)
    # The rate limits alone fail open.
    await _admit(None, "10.0.0.1", True, verifier=verifier, limits=limits)


async def test_a_verifier_on_another_cache_is_asked_separately(
    keys: Keys, cache: CountingCache, tmp_path: Path
) -> None:
    revocations = CountingCache()
    verifier = TokenVerifier(keys.jwks, cache=revocations)
    limits = _limits(cache, tmp_path)
    token = keys.sign()
    await revocations.set(revocation_key(await verifier.verify_unrevoked(token)), b"1")

    with pytest.raises(ApiError) as caught:
        await _admit(token, "10.0.0.1", False, verifier=verifier, limits=limits)

    assert caught.value.code == "token_revoked"
    assert (revocations.round_trips, cache.round_trips) == (1, 0)
