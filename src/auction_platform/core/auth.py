"""Access-token verification shared by every service, and the FastAPI dependencies.

Identity signs short-lived JWTs (EdDSA, with a ``kid``) and publishes its public
keys as a JWKS document. Every service verifies the token it receives with those
keys, fetched once and cached, refreshed when an unknown ``kid`` appears (at most
once per ``refresh_interval``). Verification never calls identity per request.
A revoked token (logout) is refused, and so is a stale one: identity marks every
live access token of an account whose roles changed, and every process holds those
marks in memory (``core.revocations``), so the check is a lookup (``refuse_revoked``)
that goes on while Redis is away.

A client sends the same token with every request until it expires, so the verifier
remembers the principal of each token it has fully verified (signature and claims), in
a bounded LRU, until the token's ``exp``: a repeated token costs a dictionary lookup
instead of a signature check. The check of the token's mark is never skipped.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, Request

from auction_platform.core.errors import ApiError
from auction_platform.core.revocations import Revocations

ISSUER = "auction-platform"
AUDIENCE = "auction-platform"
ALGORITHM = "EdDSA"
# The values of a token's mark: signed out (refresh will not help), or issued before
# its account's roles changed (refresh: the new token carries the current roles).
REVOKED_MARK = b"1"
STALE_MARK = b"stale"
# ... or held by an account an admin suspended: ``suspended`` or ``suspended|<until ISO>``.
SUSPENDED_MARK = b"suspended"

JwksSource = Callable[[], Awaitable[dict[str, Any]]]

DEFAULT_VERIFIED_TOKENS = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user (with roles) or another service."""

    subject: str
    roles: frozenset[str]
    kind: Literal["user", "service"]
    token_id: str
    expires_at: datetime

    @property
    def is_service(self) -> bool:
        """True for a service's own token."""
        return self.kind == "service"

    def has_role(self, role: str) -> bool:
        """True when the principal holds ``role``."""
        return role in self.roles


def unauthorized(code: str, message: str) -> ApiError:
    """A 401 with the ``WWW-Authenticate`` challenge."""
    return ApiError(401, code, message, headers={"WWW-Authenticate": f'Bearer error="{code}"'})


def suspended_mark(until: datetime | None) -> bytes:
    """The mark of a suspended account's token, carrying the suspension's end if any."""
    if until is None:
        return SUSPENDED_MARK
    return SUSPENDED_MARK + b"|" + until.isoformat().encode()


def account_suspended(until: str | None) -> ApiError:
    """The 403 of a suspended account's token (``account_suspended``, its end if any)."""
    message = "the account is suspended" + (f" until {until}" if until else "")
    return ApiError(403, "account_suspended", message, details={"until": until})


def refuse_revoked(mark: bytes | None) -> None:
    """Raise the 401 of a revoked token, or of a stale one, when its mark is set.

    A stale token (``token_stale``) was issued before an admin changed its account's
    roles: the client refreshes and gets the current ones. A revoked one
    (``token_revoked``) was signed out: its refresh token is gone too. A suspended
    account's token is a 403 ``account_suspended`` (its refresh is refused too).
    """
    if mark is not None and mark.startswith(SUSPENDED_MARK):
        _, _, until = mark.partition(b"|")
        raise account_suspended(until.decode() or None)
    if mark == STALE_MARK:
        raise unauthorized(
            "token_stale", "the account's roles have changed; refresh the token to go on"
        )
    if mark:
        raise unauthorized("token_revoked", "the token has been revoked")


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token whose signature and claims passed: its principal, until ``exp``."""

    principal: Principal
    kid: str
    expires_at: float


class TokenVerifier:
    """Verifies access tokens against the identity service's JWKS.

    Tokens that passed every check are remembered (at most ``verified_tokens`` of
    them, least recently used first out) until their ``exp``; after that they go
    through the full verification again, which applies the ``leeway`` and refuses
    them once it is past. A token that failed any check is never remembered. When
    a key leaves the JWKS, the tokens it signed are forgotten.
    """

    def __init__(
        self,
        jwks: JwksSource,
        *,
        revocations: Revocations | None = None,
        leeway: float = 30.0,
        refresh_interval: float = 30.0,
        verified_tokens: int = DEFAULT_VERIFIED_TOKENS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if verified_tokens < 0:
            raise ValueError(f"verified_tokens must not be negative, got {verified_tokens!r}")
        self._source = jwks
        self._revocations = revocations
        self._leeway = leeway
        self._refresh_interval = refresh_interval
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self._verified: OrderedDict[str, _Verified] = OrderedDict()
        self._verified_max = verified_tokens
        self._clock = clock

    async def _key(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            # Refresh on an unknown kid (a rotation), but not more often than the
            # interval, so a flood of forged kids cannot hammer identity.
            if (
                kid not in self._keys
                and time.monotonic() - self._fetched_at >= self._refresh_interval
            ):
                document = await self._source()
                self._keys = {
                    jwk["kid"]: jwt.PyJWK(jwk, algorithm=ALGORITHM).key
                    for jwk in document.get("keys", [])
                    if "kid" in jwk
                }
                self._fetched_at = time.monotonic()
                self._forget_retired_keys()
        key = self._keys.get(kid)
        if key is None:
            raise unauthorized("invalid_token", "the token is signed by an unknown key")
        return key

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token, not revoked nor stale; else a 401 ``ApiError``."""
        principal = self._remembered(token)
        if principal is None:
            principal = await self._verify_token(token)
        if self._revocations is not None:
            refuse_revoked(self._revocations.mark_of(principal.token_id))
        return principal

    def _remembered(self, token: str) -> Principal | None:
        """The principal of a token verified before and not expired since, if any."""
        verified = self._verified.get(token)
        if verified is None:
            return None
        if self._clock() >= verified.expires_at:
            # Past ``exp``: the full verification decides, with the leeway.
            del self._verified[token]
            return None
        self._verified.move_to_end(token)
        return verified.principal

    def _remember(self, token: str, verified: _Verified) -> None:
        if self._verified_max == 0:
            return
        self._verified[token] = verified
        self._verified.move_to_end(token)
        while len(self._verified) > self._verified_max:
            self._verified.popitem(last=False)

    def _forget_retired_keys(self) -> None:
        retired = [t for t, v in self._verified.items() if v.kid not in self._keys]
        for token in retired:
            del self._verified[token]

    async def _verify_token(self, token: str) -> Principal:
        """Check the signature and the claims; remember the token when it passes."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthorized("invalid_token", "the token is malformed") from exc
        if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
            raise unauthorized("invalid_token", "the token's algorithm or key id is not accepted")
        key = await self._key(header["kid"])
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "nbf", "sub", "jti", "typ"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("token_expired", "the token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise unauthorized("invalid_token", "the token is not valid yet") from exc
        except jwt.PyJWTError as exc:
            raise unauthorized("invalid_token", "the token is not valid") from exc
        kind = claims["typ"]
        if kind not in ("access", "service"):
            raise unauthorized("invalid_token", "this kind of token is not accepted here")
        roles = claims.get("roles", [])
        principal = Principal(
            subject=str(claims["sub"]),
            roles=frozenset(r for r in roles if isinstance(r, str)),
            kind="service" if kind == "service" else "user",
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
        self._remember(token, _Verified(principal, header["kid"], float(claims["exp"])))
        return principal


def bearer_token(request: Request) -> str | None:
    """The bearer token of the request, if it carries one."""
    return bearer_of(request.headers.get("authorization", ""))


def bearer_of(header: str) -> str | None:
    """The token of an ``Authorization`` header's value, if it is a bearer token."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def optional_principal(request: Request) -> Principal | None:
    """The caller, when the request carries a token (which must then be valid)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = bearer_token(request)
    if token is None:
        return None
    verifier: TokenVerifier = request.app.state.runtime.verifier
    principal = await verifier.verify(token)
    request.state.principal = principal
    return principal


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The caller; 401 when the request has no token."""
    if principal is None:
        raise unauthorized("authentication_required", "sign in to do this")
    return principal


async def current_user(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """A signed-in person (not a service)."""
    if principal.is_service:
        raise ApiError(403, "forbidden", "this endpoint is for people, not services")
    return principal


def require_role(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only users holding ``role``."""

    async def dependency(
        principal: Annotated[Principal, Depends(current_user)],
    ) -> Principal:
        if not principal.has_role(role):
            raise ApiError(403, "forbidden", f"this needs the {role} role")
        return principal

    return dependency


async def current_service(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """Another service of the platform (internal endpoints)."""
    if not principal.is_service:
        raise ApiError(403, "forbidden", "this endpoint is for the platform's services only")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentUser = Annotated[Principal, Depends(current_user)]
CurrentService = Annotated[Principal, Depends(current_service)]
Admin = Annotated[Principal, Depends(require_role("admin"))]
Seller = Annotated[Principal, Depends(require_role("seller"))]


def service_client_secret(secret_key: str, service: str) -> str:
    """The credential a service presents to identity for its service token."""
    import hashlib
    import hmac

    return hmac.new(secret_key.encode(), f"service:{service}".encode(), hashlib.sha256).hexdigest()


class ServiceTokens:
    """Fetches this service's own token from identity and reuses it until near expiry."""

    def __init__(self, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> None:
        self._fetch = fetch
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """A valid service token."""
        async with self._lock:
            if self._token is None or time.monotonic() >= self._refresh_at:
                token, lifetime = await self._fetch()
                self._token = token
                self._refresh_at = time.monotonic() + max(lifetime * 0.8, 1.0)
            return self._token
