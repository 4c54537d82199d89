"""Forged, stale and misused bearer tokens: each is a 401 with its machine code, everywhere.

Each forgery starts from a real access token of a real account and changes one thing
(the algorithm, the key, a claim, the header's key id). Every forgery is sent to the
gateway on a route of every service, and to each service directly (each verifies the
token itself: the lean bid route too), and must be refused with 401, its code in the
body and in the ``WWW-Authenticate`` challenge, never a 2xx, 403 or 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from auction_platform.core.auth import ALGORITHM
from auction_platform.services.identity import store
from auction_platform.services.identity.handlers import Identity
from security.world import World, refused
from support.platforms import client

Json = dict[str, Any]
# A route of each service that needs a signed-in caller (the catalogue takes a token
# when one is sent, and then it must be valid); the bid is the lean route.
ROUTES = (
    ("identity", "GET", "/api/v1/users/me"),
    ("auction", "GET", "/api/v1/watchlist"),
    ("auction", "GET", "/api/v1/auctions"),
    ("bidding", "GET", "/api/v1/bids"),
    ("bidding", "POST", "/api/v1/auctions/{lot}/bids"),
    ("payment", "GET", "/api/v1/orders"),
    ("analytics", "GET", "/api/v1/analytics/summary"),
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: Json) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


@dataclass(frozen=True)
class Material:
    """What a forger has: a real token, its claims and key id, and the platform's key.

    The platform's private key stands for "signed by identity": a forgery signed with
    it is a real signature on claims that must still be refused.
    """

    token: str
    claims: Json
    kid: str
    platform_key: Ed25519PrivateKey

    def signed(
        self, key: Ed25519PrivateKey | None = None, kid: str | None = None, **claims: Any
    ) -> str:
        """The claims, changed by ``claims`` (None drops one), signed EdDSA."""
        values = {**self.claims, "jti": uuid.uuid4().hex, **claims}
        values = {name: value for name, value in values.items() if value is not None}
        headers = {"kid": self.kid if kid is None else kid}
        return jwt.encode(values, key or self.platform_key, algorithm=ALGORITHM, headers=headers)

    def unsigned(self, alg: str) -> str:
        return assembled({"alg": alg, "typ": "JWT", "kid": self.kid}, self.claims, None)

    def hmac_with(self, secret: bytes) -> str:
        """HS256 keyed with ``secret``: the key confusion, with a public key as the secret."""
        header = {"alg": "HS256", "typ": "JWT", "kid": self.kid}
        return assembled(
            header, self.claims, lambda data: hmac.new(secret, data, hashlib.sha256).digest()
        )

    def public_keys(self) -> list[bytes]:
        """The public key as a confused verifier might read it: raw, PEM, the JWK."""
        public = self.platform_key.public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        jwk = json.dumps({"kty": "OKP", "crv": "Ed25519", "x": b64(raw), "kid": self.kid})
        return [raw, pem, jwk.encode(), b64(raw).encode()]

    def tampered(self, **claims: Any) -> str:
        """The real token with its payload changed and its signature kept."""
        header, _, signature = self.token.split(".")
        return f"{header}.{segment({**self.claims, **claims})}.{signature}"

    def with_header(self, key: Ed25519PrivateKey, **header: Any) -> str:
        """The claims signed by ``key``, under a header that points elsewhere for its key."""
        return assembled({"alg": ALGORITHM, "typ": "JWT", **header}, self.claims, key.sign)


def assembled(header: Json, claims: Json, sign: Callable[[bytes], bytes] | None) -> str:
    """A token put together by hand: a library would refuse to write some of these."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = b64(sign(signing_input.encode())) if sign is not None else ""
    return f"{signing_input}.{signature}"


async def material(world: World) -> Material:
    runtime = world.platform.runtimes["identity"]
    identity: Identity = runtime.context
    assert runtime.db is not None
    async with runtime.db.read() as conn:
        newest = (await store.signing_key_rows(conn))[0]
    pem = newest.private_key.encode()
    key = serialization.load_pem_private_key(pem, password=identity.keys.secret)
    assert isinstance(key, Ed25519PrivateKey)
    token = world.owner.access_token
    claims = jwt.decode(token, options={"verify_signature": False})
    return Material(token, claims, jwt.get_unverified_header(token)["kid"], key)


def forgeries(m: Material, refresh_token: str) -> dict[str, tuple[list[str], str]]:
    """Each attack: its tokens, and the code each must be refused with."""
    now = int(time.time())
    stranger = Ed25519PrivateKey.generate()
    return {
        "alg none": (
            [m.unsigned(alg) for alg in ("none", "None", "NONE", "nOnE")],
            "invalid_token",
        ),
        "signature stripped": ([m.token.rsplit(".", 1)[0] + "."], "invalid_token"),
        "HS256 keyed with the public key": (
            [m.hmac_with(public) for public in m.public_keys()],
            "invalid_token",
        ),
        "expired": ([m.signed(iat=now - 3_600, nbf=now - 3_600, exp=now - 300)], "token_expired"),
        "not valid yet": (
            [m.signed(iat=now + 3_600, nbf=now + 3_600, exp=now + 7_200)],
            "invalid_token",
        ),
        "wrong issuer": ([m.signed(iss="https://issuer.example.com")], "invalid_token"),
        "wrong audience": ([m.signed(aud="another-platform"), m.signed(aud=None)], "invalid_token"),
        "a claim missing": (
            [m.signed(**{name: None}) for name in ("exp", "iat", "nbf", "sub", "jti", "typ")],
            "invalid_token",
        ),
        "signed by another key": (
            [m.signed(stranger), m.signed(stranger, kid=uuid.uuid4().hex)],
            "invalid_token",
        ),
        "a refresh token as access token": (
            [refresh_token, m.signed(typ="refresh"), m.signed(typ="id")],
            "invalid_token",
        ),
        "tampered payload": (
            [
                m.tampered(roles=["bidder", "seller", "admin"]),
                m.tampered(sub=uuid.uuid4().hex),
                m.tampered(exp=now + 86_400 * 365),
            ],
            "invalid_token",
        ),
        "a kid pointing elsewhere": (
            [
                m.with_header(stranger, kid="../../../../../../dev/null"),
                m.with_header(stranger, kid="https://keys.example.com/jwks.json"),
                m.with_header(stranger, kid="x' OR '1'='1"),
                m.with_header(stranger, kid=7),
                m.with_header(stranger, kid=m.kid + "\u0000"),
                m.with_header(stranger, kid="k", jku="https://keys.example.com/jwks.json"),
                m.with_header(stranger, kid="k", x5u="https://keys.example.com/cert.pem"),
                # The forger's own public key embedded, under the platform's kid.
                m.with_header(stranger, kid=m.kid, jwk=_jwk_of(stranger)),
                m.with_header(stranger),
            ],
            "invalid_token",
        ),
        "not a token": (["abc", "a.b.c", "e30.e30.", "...", "x" * 4_000], "invalid_token"),
    }


def _jwk_of(key: Ed25519PrivateKey) -> Json:
    return OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)


async def refusals(world: World, lot_id: str, attack: str, token: str, code: str) -> list[str]:
    """How ``token`` was not refused as it should be, on each route, via the gateway or not."""
    failures = []
    for service, method, path in ROUTES:
        for via in ("gateway", service):
            async with client(world.platform.apps[via]) as http:
                response = await http.request(
                    method,
                    path.format(lot=lot_id),
                    json={"max_amount_cents": 20_000} if method == "POST" else None,
                    headers={"Authorization": f"Bearer {token}"},
                )
            try:
                refused(response, {401}, code=code)
                challenge = response.headers.get("www-authenticate", "")
                assert challenge == f'Bearer error="{code}"', challenge
            except AssertionError as failure:
                failures.append(f"{attack} via {via} {method} {path}: {failure}")
    return failures


async def test_forged_tokens_are_refused_with_their_code_by_the_gateway_and_every_service(
    world: World,
) -> None:
    forged = forgeries(await material(world), world.owner.refresh_token)
    lot = await world.open_lot(world.third)
    failures = []
    for attack, (tokens, code) in forged.items():
        for token in tokens:
            failures += await refusals(world, lot["id"], attack, token, code)
    assert not failures, f"{len(failures)} forged token(s) got through:\n" + "\n".join(failures)
    # The real token still works: the forgeries were refused for what they changed.
    me = await world.http.get("/api/v1/users/me", headers=world.owner.headers)
    assert me.status_code == 200
