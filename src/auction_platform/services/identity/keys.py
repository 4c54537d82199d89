"""Signing keys and access tokens: EdDSA keys kept encrypted, rotated without logouts.

The newest key signs. A retired key stays in the JWKS document until every token
it signed has expired, so a rotation logs nobody out.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from auction_platform.core.auth import ALGORITHM, AUDIENCE, ISSUER
from auction_platform.core.db import Database
from auction_platform.core.sql import utc
from auction_platform.services.identity import store

_CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The key that signs new tokens."""

    kid: str
    private_key: Ed25519PrivateKey


class KeyRing:
    """Reads, creates and rotates the signing keys; signs tokens."""

    def __init__(
        self, db: Database, *, secret: str, token_lifetime: timedelta, clock: Callable[[], datetime]
    ) -> None:
        self.db = db
        self.secret = secret.encode()
        self.token_lifetime = token_lifetime
        self.clock = clock
        self._active: SigningKey | None = None
        self._jwks: dict[str, Any] | None = None
        self._loaded_at = float("-inf")

    def _encrypt(self, key: Ed25519PrivateKey) -> str:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self.secret),
        ).decode()

    def _decrypt(self, pem: str) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(pem.encode(), password=self.secret)
        assert isinstance(key, Ed25519PrivateKey)
        return key

    async def rotate(self) -> str:
        """Make a new signing key; the old one keeps verifying until its tokens expire."""
        key = Ed25519PrivateKey.generate()
        kid = uuid.uuid4().hex
        jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
        jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
        async with self.db.transaction() as conn:
            await store.add_signing_key(
                conn, kid=kid, private_key=self._encrypt(key), public_jwk=jwk, now=self.clock()
            )
        self._loaded_at = float("-inf")
        return kid

    async def load(self) -> None:
        """Read the keys (making the first one if there is none); done at start-up.

        Signing then only re-reads now and then, never writes, so it is safe inside
        another transaction.
        """
        self._loaded_at = float("-inf")
        await self._load()

    async def _load(self) -> None:
        if time.monotonic() - self._loaded_at < _CACHE_SECONDS and self._active is not None:
            return
        async with self.db.read() as conn:
            rows = await store.signing_key_rows(conn)
        if not rows or rows[0].retired_at is not None:
            await self.rotate()
            async with self.db.read() as conn:
                rows = await store.signing_key_rows(conn)
        now = self.clock()
        # A retired key verifies until the last token it signed has expired.
        horizon = self.token_lifetime + timedelta(minutes=1)
        self._jwks = {
            "keys": [
                row.public_jwk
                for row in rows
                if row.retired_at is None or utc(row.retired_at) + horizon > now
            ]
        }
        self._active = SigningKey(rows[0].kid, self._decrypt(rows[0].private_key))
        self._loaded_at = time.monotonic()

    async def jwks(self) -> dict[str, Any]:
        """The public keys that verify tokens in circulation."""
        await self._load()
        assert self._jwks is not None
        return self._jwks

    async def sign(
        self,
        *,
        subject: str,
        kind: str,
        roles: tuple[str, ...],
        lifetime: timedelta | None = None,
        token_id: str | None = None,
    ) -> tuple[str, datetime]:
        """A signed token and its expiry; ``token_id`` is its ``jti`` (a new one if not given)."""
        await self._load()
        assert self._active is not None
        now = self.clock()
        expires = now + (lifetime or self.token_lifetime)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "typ": kind,
            "roles": list(roles),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": token_id or uuid.uuid4().hex,
        }
        token = jwt.encode(
            claims, self._active.private_key, algorithm=ALGORITHM, headers={"kid": self._active.kid}
        )
        return token, expires
