"""A member's data export and the closing of their account (the right to erasure).

Identity holds the account; the catalogue, the bid book and payment each answer
for their own part (``core.privacy``): identity asks them through the ``Peers``
port (``ports``) with the member's own token, so each answers only about the
caller, as for any of the member's requests. The use cases speak the domain: a
refusal is a ``core.failures`` error, which ``privacy_api`` answers through the
service's error table.
An account closes only when none of them names an obligation still open, and the
member gave their password again. Closing erases what is personal here (email,
name, phone, password, addresses, signup signals), keeps the id (so orders, bids
and the ledger keep their integrity), revokes every token at once and tells the
other services (``UserErased``) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update

from auction_platform.contracts import audit
from auction_platform.contracts import identity as contract
from auction_platform.core.auth import REVOKED_MARK
from auction_platform.core.cache.base import Mark
from auction_platform.core.failures import Conflict, Forbidden
from auction_platform.core.privacy import plain
from auction_platform.services.identity import address_store, handlers, signup_store, store
from auction_platform.services.identity.handlers import Identity
from auction_platform.services.identity.ports import Peers

ERASED_NAME = "Deleted user"
# Not an argon2 hash: no password verifies against it.
NO_PASSWORD = "!erased"  # noqa: S105 (a marker, not a secret)
# A mark outlives its token by this much (verifiers accept a token 30 s past ``exp``).
_MARK_MARGIN_SECONDS = 60.0


def tombstone(user_id: str) -> str:
    """The email an erased account keeps: unique, and no one's (RFC 2606 ``.invalid``)."""
    return f"erased-{user_id}@erased.invalid"


async def export(user_id: str, *, token: str, ctx: Identity, peers: Peers) -> dict[str, Any]:
    """Everything the platform holds about a member, in one document."""
    user = await handlers.user(user_id, ctx=ctx)
    async with ctx.uow.db.read() as conn:
        addresses = await address_store.addresses_of(conn, user_id)
        signals = await signup_store.signals_of(conn, user_id)
    parts = await peers.exports(token=token)
    return {
        "exported_at": plain(ctx.clock()),
        "account": {**user.public(), "preferences": user.preferences},
        "addresses": [address.public() for address in addresses],
        "signup": signals,
        **parts,
    }


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
    open_ones = await peers.obligations(token=command.token)
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
