"""A member's data export and the closing of their account (the right to erasure).

Identity holds the account; the catalogue, the bid book and payment each answer
for their own part (``core.privacy``): identity asks them with the member's own
token, so each answers only about the caller, as for any of the member's requests.
An account closes only when none of them names an obligation still open, and the
member gave their password again. Closing erases what is personal here (email,
name, phone, password, addresses, signup signals), keeps the id (so orders, bids
and the ledger keep their integrity), revokes every token at once and tells the
other services (``UserErased``) in the same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import delete, update

from auction_platform.contracts import audit
from auction_platform.contracts import identity as contract
from auction_platform.core.auth import REVOKED_MARK
from auction_platform.core.cache.base import Mark
from auction_platform.core.failures import Conflict, Forbidden, Unavailable
from auction_platform.core.privacy import plain
from auction_platform.services.identity import address_store, handlers, signup_store, store
from auction_platform.services.identity.handlers import Identity

# Who else keeps something about a member, and under which path they answer for it.
PARTS: tuple[tuple[str, str], ...] = (
    ("auction", "/api/v1/auctions"),
    ("bidding", "/api/v1/bids"),
    ("payment", "/api/v1/payments"),
)
ERASED_NAME = "Deleted user"
# Not an argon2 hash: no password verifies against it.
NO_PASSWORD = "!erased"  # noqa: S105 (a marker, not a secret)
# A mark outlives its token by this much (verifiers accept a token 30 s past ``exp``).
_MARK_MARGIN_SECONDS = 60.0


def tombstone(user_id: str) -> str:
    """The email an erased account keeps: unique, and no one's (RFC 2606 ``.invalid``)."""
    return f"erased-{user_id}@erased.invalid"


@dataclass(frozen=True, slots=True)
class Peers:
    """The services that answer for their part of a member's data."""

    client: Callable[[str], httpx.AsyncClient]

    async def ask(self, service: str, path: str, *, token: str) -> dict[str, Any]:
        """``GET path`` of ``service`` as the member; a 503 ``peer_unavailable`` when it fails."""
        try:
            answer = await self.client(service).get(
                path, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as error:
            raise _unavailable(service) from error
        if answer.status_code != 200:
            raise _unavailable(service)
        body: dict[str, Any] = answer.json()
        return body

    async def gather(self, suffix: str, *, token: str) -> dict[str, dict[str, Any]]:
        """Every service's answer to ``<its prefix><suffix>``, by service."""
        answers = await asyncio.gather(
            *(self.ask(service, prefix + suffix, token=token) for service, prefix in PARTS)
        )
        return {service: answer for (service, _), answer in zip(PARTS, answers, strict=True)}


def _unavailable(service: str) -> Unavailable:
    return Unavailable(
        "peer_unavailable", f"the {service} service cannot answer for its part now; try again"
    )


async def export(user_id: str, *, token: str, ctx: Identity, peers: Peers) -> dict[str, Any]:
    """Everything the platform holds about a member, in one document."""
    user = await handlers.user(user_id, ctx=ctx)
    async with ctx.uow.db.read() as conn:
        addresses = await address_store.addresses_of(conn, user_id)
        signals = await signup_store.signals_of(conn, user_id)
    parts = await peers.gather("/me/export", token=token)
    return {
        "exported_at": plain(ctx.clock()),
        "account": {**user.public(), "preferences": user.preferences},
        "addresses": [address.public() for address in addresses],
        "signup": signals,
        **parts,
    }


async def obligations(*, token: str, peers: Peers) -> list[str]:
    """Why the member's account may not close yet, by code, in the services' order."""
    answers = await peers.gather("/me/obligations", token=token)
    return [str(code) for answer in answers.values() for code in answer["obligations"]]


@dataclass(frozen=True, slots=True)
class CloseAccount:
    """A member closes their account, giving their password again."""

    user_id: str
    password: str
    token: str


async def close_account(command: CloseAccount, *, ctx: Identity, peers: Peers) -> None:
    """Erase the member's personal data, revoke their tokens and tell the other services."""
    user = await handlers.user(command.user_id, ctx=ctx)
    if not await ctx.passwords.verify(user.password_hash, command.password):
        raise Forbidden("wrong_password", "the password is not right")
    open_ones = await obligations(token=command.token, peers=peers)
    if open_ones:
        raise Conflict(
            "account_has_obligations",
            "the account cannot be closed while " + ", ".join(open_ones).replace("_", " "),
            details={"obligations": open_ones},
        )
    now = ctx.clock()
    async with ctx.uow() as tx:
        await store.user_by_id(tx.conn, user.id, for_update=True)
        await store.update_user(
            tx.conn,
            user.id,
            now=now,
            email=tombstone(user.id),
            display_name=ERASED_NAME,
            phone=None,
            password_hash=NO_PASSWORD,
            erased_at=now,
        )
        await tx.conn.execute(
            delete(address_store.addresses).where(address_store.addresses.c.user_id == user.id)
        )
        await tx.conn.execute(
            delete(signup_store.signup_signals).where(
                signup_store.signup_signals.c.user_id == user.id
            )
        )
        await tx.conn.execute(
            update(store.refresh_tokens)
            .where(
                store.refresh_tokens.c.user_id == user.id,
                store.refresh_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        erased: contract.UserErasedData = {"user_id": user.id, "at": plain(now)}
        tx.emit(contract.USER_ERASED, dict(erased))
        audit.record(
            tx, actor_id=user.id, action="user.erased", target=f"user:{user.id}", at=plain(now)
        )
        # In the transaction: a cache that cannot take the marks rolls the erasure back.
        live = await store.live_access_tokens(tx.conn, user.id, now=now)
        if live:
            await ctx.revocations.mark(
                [
                    Mark(jti, REVOKED_MARK, (expires - now).total_seconds() + _MARK_MARGIN_SECONDS)
                    for jti, expires in live
                ]
            )
