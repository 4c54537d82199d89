"""Use cases of the identity service: one transaction each.

Each takes a command of ``domain`` and returns what it made, or raises a domain
error of ``core.failures`` (the service's ``api.py`` maps them to HTTP).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from auction_platform.core.auth import service_client_secret
from auction_platform.core.cache.base import Cache
from auction_platform.core.failures import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from auction_platform.core.uow import UnitOfWork
from auction_platform.services.identity import domain, store
from auction_platform.services.identity.domain import (
    Actor,
    BecomeSeller,
    ChangeProfile,
    CreateAdmin,
    IssueServiceToken,
    Login,
    Logout,
    Refresh,
    Register,
    Role,
    SetPreferences,
    SetRoles,
)
from auction_platform.services.identity.keys import KeyRing
from auction_platform.services.identity.passwords import Passwords, common_passwords
from auction_platform.settings import SERVICES, Settings


@dataclass
class Identity:
    """What the identity use cases need, built once by the service definition."""

    uow: UnitOfWork
    keys: KeyRing
    passwords: Passwords
    cache: Cache
    settings: Settings
    clock: Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a login or a refresh returns."""

    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime

    def public(self, now: datetime) -> dict[str, Any]:
        """The answer to the client (OAuth 2.0 token response fields)."""
        return {
            "token_type": "Bearer",
            "access_token": self.access_token,
            "expires_in": int((self.access_expires_at - now).total_seconds()),
            "refresh_token": self.refresh_token,
            "refresh_expires_in": int((self.refresh_expires_at - now).total_seconds()),
        }


@dataclass(frozen=True, slots=True)
class ServiceToken:
    """A service's access token and when it expires."""

    access_token: str
    expires_at: datetime


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _refused(error: domain.AccountError) -> Invalid:
    return Invalid(error.code, error.message)


def _no_user() -> NotFound:
    return NotFound("user_not_found", "there is no such user")


def _bad_refresh_token(message: str = "the refresh token is not valid") -> Unauthenticated:
    return Unauthenticated("invalid_refresh_token", message)


async def register(command: Register, *, ctx: Identity) -> store.User:
    """Open a bidder account."""
    normalised = domain.normalise_email(command.email)
    try:
        phone = domain.check_phone(command.phone)
        domain.check_password(
            command.password,
            min_length=ctx.settings.password_min_length,
            common=common_passwords(),
            personal=(command.display_name, normalised.split("@")[0]),
        )
    except domain.AccountError as error:
        raise _refused(error) from error
    now = ctx.clock()
    user = store.User(
        id=uuid.uuid4().hex,
        email=normalised,
        password_hash=await ctx.passwords.hash(command.password),
        display_name=command.display_name.strip(),
        phone=phone,
        roles=(Role.BIDDER.value,),
        preferences=domain.DEFAULT_PREFERENCES,
        created_at=now,
    )
    async with ctx.uow() as tx:
        if not await store.add_user(tx.conn, user):
            raise Conflict("email_taken", "an account with this email already exists")
        tx.emit("UserRegistered", {"user_id": user.id, "display_name": user.display_name})
    return user


async def _issue(user: store.User, *, family_id: str, ctx: Identity, conn: Any) -> TokenPair:
    now = ctx.clock()
    access, access_expires = await ctx.keys.sign(subject=user.id, kind="access", roles=user.roles)
    refresh = secrets.token_urlsafe(32)
    refresh_expires = now + timedelta(days=ctx.settings.refresh_token_ttl_days)
    token = domain.RefreshToken(family_id=family_id, user_id=user.id, expires_at=refresh_expires)
    await store.add_refresh_token(conn, token_hash=_hash_token(refresh), token=token, issued_at=now)
    return TokenPair(access, access_expires, refresh, refresh_expires)


def _throttle_keys(email: str, address: str, settings: Settings) -> list[tuple[str, int]]:
    return [
        (f"account:{email}", settings.login_failures_per_account),
        (f"address:{address}", settings.login_failures_per_address),
    ]


async def _locked_for(keys: list[tuple[str, int]], cache: Cache) -> float:
    wait = 0.0
    for key, _ in keys:
        until = await cache.get(f"login-lock:{key}")
        if until is not None:
            wait = max(wait, float(until) - time.time())
    return wait


async def _record_failure(keys: list[tuple[str, int]], ctx: Identity) -> None:
    window = ctx.settings.login_failure_window_seconds
    for key, capacity in keys:
        decision = await ctx.cache.take_token(
            f"login-failures:{key}", capacity=capacity, refill_per_second=capacity / window
        )
        if not decision.allowed or decision.remaining == 0:
            # Out of attempts: locked until one attempt has refilled.
            lock = window / capacity
            await ctx.cache.set(f"login-lock:{key}", str(time.time() + lock).encode(), ttl=lock)


def _too_many(wait: float) -> RateLimited:
    seconds = max(1, math.ceil(wait))
    return RateLimited(
        "too_many_attempts",
        f"too many failed sign-ins; try again in {seconds} seconds",
        retry_after=seconds,
    )


async def login(command: Login, *, ctx: Identity) -> TokenPair:
    """Exchange email and password for tokens; never says whether the email exists."""
    normalised = domain.normalise_email(command.email)
    keys = _throttle_keys(normalised, command.address, ctx.settings)
    wait = await _locked_for(keys, ctx.cache)
    if wait > 0:
        raise _too_many(wait)
    async with ctx.uow.db.read() as conn:
        user = await store.user_by_email(conn, normalised)
    if not await ctx.passwords.verify(user.password_hash if user else None, command.password):
        await _record_failure(keys, ctx)
        raise Unauthenticated("invalid_credentials", "the email or password is not right")
    assert user is not None
    async with ctx.uow() as tx:
        if ctx.passwords.needs_rehash(user.password_hash):
            rehashed = await ctx.passwords.hash(command.password)
            await store.update_user(tx.conn, user.id, now=ctx.clock(), password_hash=rehashed)
        return await _issue(user, family_id=uuid.uuid4().hex, ctx=ctx, conn=tx.conn)


async def refresh(command: Refresh, *, ctx: Identity) -> TokenPair:
    """Rotate a refresh token; a spent one revokes its whole family."""
    token_hash = _hash_token(command.refresh_token)
    now = ctx.clock()
    reused = False
    async with ctx.uow() as tx:
        token = await store.refresh_token(tx.conn, token_hash)
        if token is None:
            raise _bad_refresh_token()
        outcome = domain.present_refresh_token(token, now=now)
        if outcome is domain.RefreshOutcome.ROTATE and not await store.spend_refresh_token(
            tx.conn, token_hash, now=now
        ):
            outcome = domain.RefreshOutcome.REUSED
        if outcome is domain.RefreshOutcome.REUSED:
            await store.revoke_family(tx.conn, token.family_id, now=now)
            tx.emit("RefreshTokenReused", {"user_id": token.user_id, "family_id": token.family_id})
            reused = True
        elif outcome is domain.RefreshOutcome.ROTATE:
            user = await store.user_by_id(tx.conn, token.user_id)
            if user is None:
                raise _bad_refresh_token()
            return await _issue(user, family_id=token.family_id, ctx=ctx, conn=tx.conn)
    # Raised after the transaction, so the family's revocation is committed.
    if reused:
        raise Unauthenticated(
            "refresh_token_reused", "this refresh token was already used; sign in again"
        )
    raise _bad_refresh_token(f"the refresh token is {outcome.value}")


async def logout(command: Logout, *, ctx: Identity) -> None:
    """Revoke the session: its refresh-token family and the access token in hand."""
    now = ctx.clock()
    if command.refresh_token:
        async with ctx.uow() as tx:
            token = await store.refresh_token(tx.conn, _hash_token(command.refresh_token))
            if token is not None and token.user_id == command.user_id:
                await store.revoke_family(tx.conn, token.family_id, now=now)
    remaining = (command.token_expires_at - now).total_seconds() + 60
    if remaining > 0:
        await ctx.cache.set(f"revoked-token:{command.token_id}", b"1", ttl=remaining)


async def user(user_id: str, *, ctx: Identity) -> store.User:
    """An account; ``user_not_found`` when there is none."""
    async with ctx.uow.db.read() as conn:
        found = await store.user_by_id(conn, user_id)
    if found is None:
        raise _no_user()
    return found


def may_see(actor: Actor, user_id: str) -> None:
    """Object-level authorisation: your own account, or any as an admin."""
    if not actor.may_see(user_id):
        raise Forbidden("forbidden", "you can only see and change your own account")


async def change_profile(command: ChangeProfile, *, ctx: Identity) -> store.User:
    """Change the display name or phone number."""
    values: dict[str, Any] = {}
    if command.display_name is not None:
        values["display_name"] = command.display_name.strip()
    try:
        if command.clear_phone:
            values["phone"] = None
        elif command.phone is not None:
            values["phone"] = domain.check_phone(command.phone)
    except domain.AccountError as error:
        raise _refused(error) from error
    async with ctx.uow() as tx:
        if await store.user_by_id(tx.conn, command.user_id, for_update=True) is None:
            raise _no_user()
        if values:
            await store.update_user(tx.conn, command.user_id, now=ctx.clock(), **values)
        found = await store.user_by_id(tx.conn, command.user_id)
    assert found is not None
    return found


async def set_preferences(command: SetPreferences, *, ctx: Identity) -> dict[str, dict[str, bool]]:
    """Turn kinds of notice on or off per channel."""
    async with ctx.uow() as tx:
        found = await store.user_by_id(tx.conn, command.user_id, for_update=True)
        if found is None:
            raise _no_user()
        try:
            merged = domain.merge_preferences(found.preferences, command.changes)
        except domain.AccountError as error:
            raise _refused(error) from error
        await store.update_user(tx.conn, command.user_id, now=ctx.clock(), preferences=merged)
    return merged


async def set_roles(command: SetRoles, *, ctx: Identity) -> store.User:
    """Replace an account's roles (admins; or a bidder asking to sell)."""
    try:
        checked = domain.check_roles(command.roles)
    except domain.AccountError as error:
        raise _refused(error) from error
    async with ctx.uow() as tx:
        found = await store.user_by_id(tx.conn, command.user_id, for_update=True)
        if found is None:
            raise _no_user()
        await store.update_user(tx.conn, command.user_id, now=ctx.clock(), roles=checked)
        roles = [role.value for role in checked]
        tx.emit("UserRolesChanged", {"user_id": command.user_id, "roles": roles})
    return await user(command.user_id, ctx=ctx)


async def become_seller(command: BecomeSeller, *, ctx: Identity) -> store.User:
    """Grant the seller role to the account that asks."""
    found = await user(command.user_id, ctx=ctx)
    return await set_roles(SetRoles(found.id, (*found.roles, Role.SELLER)), ctx=ctx)


async def issue_service_token(command: IssueServiceToken, *, ctx: Identity) -> ServiceToken:
    """A token saying which service calls (client-credentials grant)."""
    service = command.client_id.removeprefix("service:")
    expected = service_client_secret(ctx.settings.secret_key.get_secret_value(), service)
    if service not in SERVICES or not hmac.compare_digest(expected, command.client_secret):
        raise Unauthenticated("invalid_client", "unknown service or wrong credentials")
    token, expires = await ctx.keys.sign(
        subject=f"service:{service}", kind="service", roles=("service",)
    )
    return ServiceToken(token, expires)


async def create_admin(command: CreateAdmin, *, ctx: Identity) -> tuple[store.User, bool]:
    """Make an admin (the first one comes from the command line); True if newly created."""
    normalised = domain.normalise_email(command.email)
    async with ctx.uow.db.read() as conn:
        existing = await store.user_by_email(conn, normalised)
    if existing is None:
        registration = Register(normalised, command.password, command.display_name)
        existing = await register(registration, ctx=ctx)
        created = True
    else:
        created = False
    promoted = await set_roles(SetRoles(existing.id, domain.ROLES), ctx=ctx)
    return promoted, created
