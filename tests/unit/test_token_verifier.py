"""The token verifier: signature and claims checks, the verified-token cache, token marks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auction_platform.core.auth import ALGORITHM, REVOKED_MARK, STALE_MARK, TokenVerifier
from auction_platform.core.cache import MemoryCache
from auction_platform.core.cache.base import Mark
from auction_platform.core.errors import ApiError
from auction_platform.core.revocations import Revocations
from support.tokens import Keys


class DecodeSpy:
    """Counts the full verifications (calls of ``jwt.decode``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self._decode = jwt.decode
        monkeypatch.setattr(jwt, "decode", self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self._decode(*args, **kwargs)


@pytest.fixture
def keys() -> Keys:
    return Keys("k1", "k2")


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> DecodeSpy:
    return DecodeSpy(monkeypatch)


async def _refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(ApiError) as caught:
        await verifier.verify(token)
    assert caught.value.status == 401
    return caught.value.code


async def test_a_valid_token_gives_its_principal(keys: Keys) -> None:
    verifier = TokenVerifier(keys.jwks)
    token = keys.sign(roles=["bidder", "seller"])

    principal = await verifier.verify(token)

    assert principal.subject == "user-1"
    assert principal.roles == frozenset({"bidder", "seller"})
    assert principal.kind == "user"
    assert principal.token_id == jwt.decode(token, options={"verify_signature": False})["jti"]


async def test_a_cached_token_is_accepted_again_without_another_fetch_or_check(
    keys: Keys, decodes: DecodeSpy
) -> None:
    verifier = TokenVerifier(keys.jwks)
    token = keys.sign()

    first = await verifier.verify(token)
    again = [await verifier.verify(token) for _ in range(5)]

    assert all(principal == first for principal in again)
    assert keys.fetches == 1
    assert decodes.calls == 1


async def test_without_a_cache_every_token_is_checked_in_full(
    keys: Keys, decodes: DecodeSpy
) -> None:
    verifier = TokenVerifier(keys.jwks, verified_tokens=0)
    token = keys.sign()

    for _ in range(3):
        await verifier.verify(token)

    assert decodes.calls == 3


async def test_an_expired_token_is_refused_even_though_it_was_cached(keys: Keys) -> None:
    verifier = TokenVerifier(keys.jwks, leeway=0)
    token = keys.sign(lifetime=1)
    await verifier.verify(token)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]

    await asyncio.sleep(max(0.0, expires_at - time.time()) + 0.05)

    assert await _refused(verifier, token) == "token_expired"
    assert await _refused(verifier, token) == "token_expired"


async def test_a_cached_token_is_checked_in_full_again_once_past_its_exp(
    keys: Keys, decodes: DecodeSpy
) -> None:
    now = [time.time()]
    verifier = TokenVerifier(keys.jwks, clock=lambda: now[0])
    token = keys.sign(lifetime=600)
    await verifier.verify(token)
    await verifier.verify(token)
    assert decodes.calls == 1

    now[0] += 601
    await verifier.verify(token)  # still within the real clock, so still valid

    assert decodes.calls == 2


async def test_a_token_with_a_bad_signature_is_never_cached(keys: Keys, decodes: DecodeSpy) -> None:
    verifier = TokenVerifier(keys.jwks)
    good = keys.sign()
    header, payload, signature = good.split(".")
    flipped = "B" if signature[10] == "A" else "A"
    forged = f"{header}.{payload}.{signature[:10]}{flipped}{signature[11:]}"
    assert forged != good

    for _ in range(3):
        assert await _refused(verifier, forged) == "invalid_token"

    assert decodes.calls == 3
    assert verifier._verified == {}
    # The genuine token, with the same claims, is unaffected.
    assert (await verifier.verify(good)).subject == "user-1"


async def test_a_token_signed_by_a_foreign_key_is_never_cached(keys: Keys) -> None:
    verifier = TokenVerifier(keys.jwks)
    claims = jwt.decode(keys.sign(), options={"verify_signature": False})
    forged = jwt.encode(
        claims, Ed25519PrivateKey.generate(), algorithm=ALGORITHM, headers={"kid": "k1"}
    )

    for _ in range(2):
        assert await _refused(verifier, forged) == "invalid_token"

    assert verifier._verified == {}


@pytest.mark.parametrize(
    "overrides",
    [{"aud": "elsewhere"}, {"iss": "someone-else"}, {"typ": "refresh"}],
)
async def test_a_token_failing_a_claim_check_is_never_cached(
    keys: Keys, overrides: dict[str, Any]
) -> None:
    verifier = TokenVerifier(keys.jwks)
    token = keys.sign(**overrides)

    for _ in range(2):
        assert await _refused(verifier, token) == "invalid_token"

    assert verifier._verified == {}


class CountingCache(MemoryCache):
    """A memory cache that counts the calls that would be Redis round trips."""

    round_trips = 0

    async def get(self, key: str) -> bytes | None:
        self.round_trips += 1
        return await super().get(key)

    async def marks(self, key: str) -> list[Mark]:
        self.round_trips += 1
        return await super().marks(key)


def _jti(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


async def test_a_revoked_token_is_refused_even_though_it_was_cached(keys: Keys) -> None:
    revocations = Revocations(MemoryCache())
    verifier = TokenVerifier(keys.jwks, revocations=revocations)
    token = keys.sign()
    await verifier.verify(token)

    await revocations.mark([Mark(_jti(token), REVOKED_MARK, 600)])

    assert await _refused(verifier, token) == "token_revoked"
    assert await _refused(verifier, token) == "token_revoked"


async def test_a_token_revoked_before_its_first_use_is_refused(keys: Keys) -> None:
    revocations = Revocations(MemoryCache())
    verifier = TokenVerifier(keys.jwks, revocations=revocations)
    token = keys.sign()
    await revocations.mark([Mark(_jti(token), REVOKED_MARK, 600)])

    assert await _refused(verifier, token) == "token_revoked"


async def test_a_stale_token_is_refused_with_its_own_code_without_asking_the_cache(
    keys: Keys,
) -> None:
    cache = CountingCache()
    revocations = Revocations(cache)
    verifier = TokenVerifier(keys.jwks, revocations=revocations)
    token, other = keys.sign(roles=["bidder", "seller"]), keys.sign()
    await verifier.verify(token)

    # Identity marks the token when its account's roles change.
    await revocations.mark([Mark(_jti(token), STALE_MARK, 600)])

    with pytest.raises(ApiError) as caught:
        await verifier.verify(token)
    assert caught.value.code == "token_stale"
    assert caught.value.headers == {"WWW-Authenticate": 'Bearer error="token_stale"'}
    assert (await verifier.verify(other)).subject == "user-1"
    assert cache.round_trips == 0  # the marks are held in the process


async def test_a_mark_no_longer_counts_once_its_time_is_up(keys: Keys) -> None:
    now = [1000.0]
    revocations = Revocations(MemoryCache(), clock=lambda: now[0])
    verifier = TokenVerifier(keys.jwks, revocations=revocations)
    token = keys.sign()
    await revocations.mark([Mark(_jti(token), REVOKED_MARK, 60)])
    assert await _refused(verifier, token) == "token_revoked"

    now[0] += 61

    assert (await verifier.verify(token)).subject == "user-1"


async def test_the_cache_keeps_the_most_recently_used_tokens(
    keys: Keys, decodes: DecodeSpy
) -> None:
    verifier = TokenVerifier(keys.jwks, verified_tokens=2)
    first, second, third = keys.sign(), keys.sign(), keys.sign()
    await verifier.verify(first)
    await verifier.verify(second)
    await verifier.verify(first)  # now the most recently used
    await verifier.verify(third)  # evicts the second
    assert decodes.calls == 3

    await verifier.verify(first)
    assert decodes.calls == 3
    await verifier.verify(second)
    assert decodes.calls == 4
    assert len(verifier._verified) == 2


async def test_tokens_of_a_key_that_left_the_jwks_are_forgotten(keys: Keys) -> None:
    keys.published = ["k1"]
    verifier = TokenVerifier(keys.jwks, refresh_interval=0)
    old = keys.sign("k1")
    await verifier.verify(old)

    # Rotation: k1 is withdrawn, k2 appears; the first k2 token makes the verifier refetch.
    keys.published = ["k2"]
    await verifier.verify(keys.sign("k2"))

    assert keys.fetches == 2
    assert await _refused(verifier, old) == "invalid_token"


def test_a_negative_cache_size_is_rejected(keys: Keys) -> None:
    with pytest.raises(ValueError, match="verified_tokens"):
        TokenVerifier(keys.jwks, verified_tokens=-1)
