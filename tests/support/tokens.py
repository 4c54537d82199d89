"""Signing keys for tests that verify access tokens without the identity service."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from auction_platform.core.auth import ALGORITHM, AUDIENCE, ISSUER


class Keys:
    """Ed25519 signing keys and the JWKS document of their public halves."""

    def __init__(self, *kids: str) -> None:
        self.private = {kid: Ed25519PrivateKey.generate() for kid in kids}
        self.published = list(kids)
        self.fetches = 0

    async def jwks(self) -> dict[str, Any]:
        self.fetches += 1
        keys = []
        for kid in self.published:
            jwk = OKPAlgorithm.to_jwk(self.private[kid].public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"})
        return {"keys": keys}

    def sign(self, kid: str = "k1", *, lifetime: float = 600, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-1",
            "typ": "access",
            "roles": ["bidder"],
            "iat": now,
            "nbf": now,
            "exp": now + int(lifetime),
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return jwt.encode(claims, self.private[kid], algorithm=ALGORITHM, headers={"kid": kid})
