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
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from auction_platform.contracts import audit
from auction_platform.contracts import identity as contract
from auction_platform.core.auth import (
    REVOKED_MARK,
    STALE_MARK,
    service_client_secret,
)
from auction_platform.core.cache.base import Cache, Mark
from auction_platform.core.failures import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from auction_platform.core.revocations import Revocations
from auction_platform.core.uow import Transaction, UnitOfWork
from auction_platform.services.identity import domain, signup, signup_store, store, suspension_store
from auction_platform.services.identity.domain import (
    Actor,
    BecomeSeller,
    ChangeProfile,
    CreateAdmin,
    IssueServiceToken,
    ListUsers,
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
    # The process's token marks: a mark written here holds in every process.
    revocations: Revocations
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
class SellerGranted:
    """The account with the seller role, and a token pair that carries it."""

    user: store.User
    tokens: TokenPair


@dataclass(frozen=True, slots=True)
class UserPage:
    """One page of accounts, and the cursor of the next (None on the last)."""

    items: list[store.User]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ServiceToken:
    """A service's access token and when it expires."""

    access_token: str
    expires_at: datetime


# A mark outlives its token by this much: verifiers accept a token 30 s past its ``exp``.
_MARK_MARGIN_SECONDS = 60.0


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _refused(error: domain.AccountError) -> Invalid:
    return Invalid(error.code, error.message)


def _no_user() -> NotFound:
    return NotFound("user_not_found", "there is no such user")


no_user = _no_user


async def _refuse_suspended(conn: Any, user_id: str, *, now: datetime) -> None:
    """Refuse to issue tokens to an account under a suspension in force (403)."""
    latest = await suspension_store.latest_suspension(conn, user_id)
    if latest is not None and latest.in_force(now):
        until = latest.until.isoformat() if latest.until else None
        raise Forbidden(
            "account_suspended",
            "the account is suspended" + (f" until {until}" if until else ""),
            details={"until": until, "reason": latest.reason},
        )


def _bad_refresh_token(message: str = "the refresh token is not valid") -> Unauthenticated:
    return Unauthenticated("invalid_refresh_token", message)


async def register(command: Register, *, ctx: Identity) -> store.User:
    """Open a bidder account."""
    return await _open_account(command, roles=(Role.BIDDER,), ctx=ctx)


async def _open_account(command: Register, *, roles: tuple[Role, ...], ctx: Identity) -> store.User:
    """Open an account with ``roles``, announced with them, in one transaction."""
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
        roles=tuple(role.value for role in roles),
        preferences=domain.DEFAULT_PREFERENCES,
        created_at=now,
    )
    async with ctx.uow() as tx:
        if not await store.add_user(tx.conn, user):
            raise Conflict("email_taken", "an account with this email already exists")
        await signup_store.record(tx.conn, user.id, command.signals, at=now)
        key = ctx.settings.derived_key(signup.FINGERPRINT_KEY_PURPOSE)
        registered: contract.UserRegisteredData = {
            "user_id": user.id,
            "display_name": user.display_name,
            "roles": list(user.roles),
            "signup_address": signup.fingerprint(
                signup.shared_address(command.signals.address), key=key
            ),
            "signup_device": signup.fingerprint(command.signals.device_id, key=key),
        }
        tx.emit(contract.USER_REGISTERED, dict(registered))
        if Role.ADMIN in roles:  # an admin made from the command line: a grant of every role
            _record_roles(tx, user.id, (), roles, by=audit.SYSTEM, ctx=ctx, reason=_FROM_CLI)
    return user


async def _issue(user_id: str, *, family_id: str, ctx: Identity, conn: Any) -> TokenPair:
    """A token pair with the account's roles as they are now.

    The account is read (and held, ``FOR SHARE``) in the issuing transaction, so a
    change of roles either waits for this issue, and then finds its access token to
    mark stale, or happens before it, and the token carries the new roles.
    """
    user = await store.user_by_id(conn, user_id, for_share=True)
    if user is None:
        raise _no_user()
    now = ctx.clock()
    await _refuse_suspended(conn, user.id, now=now)
    token_id = uuid.uuid4().hex
    access, access_expires = await ctx.keys.sign(
        subject=user.id, kind="access", roles=user.roles, token_id=token_id
    )
    refresh = secrets.token_urlsafe(32)
    refresh_expires = now + timedelta(days=ctx.settings.refresh_token_ttl_days)
    token = domain.RefreshToken(family_id=family_id, user_id=user.id, expires_at=refresh_expires)
    await store.add_refresh_token(
        conn,
        token_hash=_hash_token(refresh),
        token=token,
        issued_at=now,
        access_token_id=token_id,
        access_expires_at=access_expires,
    )
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
        return await _issue(user.id, family_id=uuid.uuid4().hex, ctx=ctx, conn=tx.conn)


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
            # The new access token carries the account's roles as they are now.
            try:
                return await _issue(token.user_id, family_id=token.family_id, ctx=ctx, conn=tx.conn)
            except NotFound as gone:
                raise _bad_refresh_token() from gone
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
    remaining = (command.token_expires_at - now).total_seconds() + _MARK_MARGIN_SECONDS
    if remaining > 0:
        await ctx.revocations.mark([Mark(command.token_id, REVOKED_MARK, remaining)])


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
    """Replace an account's roles (an admin's decision); the tokens it holds turn stale.

    Every access token of the account still live is marked stale, in the transaction
    that changes the roles (a cache that cannot be written rolls the change back):
    every process refuses it with ``token_stale`` within seconds (this one at once),
    and the refresh gives a token with the new roles.
    """
    try:
        checked = domain.check_roles(command.roles)
    except domain.AccountError as error:
        raise _refused(error) from error
    async with ctx.uow() as tx:
        before = await _change_roles(tx, command.user_id, checked, ctx=ctx)
        await _mark_stale(tx.conn, command.user_id, ctx=ctx)
        _record_roles(
            tx,
            command.user_id,
            before,
            checked,
            by=command.actor_id,
            ctx=ctx,
            reason=command.reason,
        )
    return await user(command.user_id, ctx=ctx)


async def _change_roles(
    tx: Transaction, user_id: str, roles: tuple[Role, ...], *, ctx: Identity
) -> tuple[str, ...]:
    """Write an account's roles (locking it first) and tell the other services; the
    roles it had before."""
    found = await store.user_by_id(tx.conn, user_id, for_update=True)
    if found is None:
        raise _no_user()
    await store.update_user(tx.conn, user_id, now=ctx.clock(), roles=roles)
    tx.emit("UserRolesChanged", {"user_id": user_id, "roles": [role.value for role in roles]})
    return tuple(found.roles)


def _record_roles(
    tx: Transaction,
    user_id: str,
    before: tuple[str, ...],
    after: tuple[Role, ...],
    *,
    by: str,
    ctx: Identity,
    reason: str | None = None,
    action: str = "user.roles_changed",
) -> None:
    """Put a change of roles in the audit trail: who, the roles before and after."""
    roles = [role.value for role in after]
    audit.record(
        tx,
        actor_id=by,
        action=action,
        target=f"user:{user_id}",
        at=ctx.clock().isoformat(),
        reason=reason,
        details={
            "roles": roles,
            "previous_roles": list(before),
            "granted": [role for role in roles if role not in before],
            "removed": [role for role in before if role not in roles],
        },
    )


async def _mark_stale(conn: Any, user_id: str, *, ctx: Identity) -> None:
    """Mark the account's live access tokens stale, each until it expires."""
    await mark_live_tokens(conn, user_id, STALE_MARK, ctx=ctx)


mark_stale = _mark_stale


async def mark_live_tokens(
    conn: Any, user_id: str, value: bytes, *, ctx: Identity, until: datetime | None = None
) -> None:
    """Mark the account's live access tokens with ``value``, each until it expires
    (or until ``until``, when that comes first)."""
    now = ctx.clock()
    live = await store.live_access_tokens(conn, user_id, now=now)
    marks = []
    for token_id, expires_at in live:
        ttl = (expires_at - now).total_seconds() + _MARK_MARGIN_SECONDS
        if until is not None:
            ttl = min(ttl, (until - now).total_seconds())
        marks.append(Mark(token_id, value, ttl))
    if marks:
        await ctx.revocations.mark(marks)


async def become_seller(command: BecomeSeller, *, ctx: Identity) -> SellerGranted:
    """Grant the seller role to the account that asks, with a token pair that carries it.

    The pair starts a new session, as a login does: the client uses it at once. The
    access tokens the account held before turn stale, as after an admin's change:
    refreshed, they carry the role too.
    """
    async with ctx.uow() as tx:
        found = await store.user_by_id(tx.conn, command.user_id, for_update=True)
        if found is None:
            raise _no_user()
        if Role.SELLER not in found.roles:
            roles = domain.check_roles((*found.roles, Role.SELLER))
            before = await _change_roles(tx, found.id, roles, ctx=ctx)
            await _mark_stale(tx.conn, found.id, ctx=ctx)
            # The account's own act, not an operator's: recorded as a role change
            # all the same, with the account as its actor.
            _record_roles(
                tx, found.id, before, roles, by=found.id, ctx=ctx, action="user.became_seller"
            )
        tokens = await _issue(found.id, family_id=uuid.uuid4().hex, ctx=ctx, conn=tx.conn)
    return SellerGranted(await user(command.user_id, ctx=ctx), tokens)


async def list_users(command: ListUsers, *, ctx: Identity) -> UserPage:
    """Accounts newest first, found by email or display name and by role (operators)."""
    try:
        after = domain.decode_cursor(command.cursor) if command.cursor else None
    except domain.AccountError as error:
        raise _refused(error) from error
    text = unicodedata.normalize("NFKC", command.text).strip() if command.text else None
    async with ctx.uow.db.read() as conn:
        found = await store.users_page(
            conn,
            text=text or None,
            role=command.role.value if command.role else None,
            after=after,
            limit=command.limit + 1,
        )
    page = found[: command.limit]
    more = len(found) > command.limit
    return UserPage(page, domain.encode_cursor(page[-1].created_at, page[-1].id) if more else None)


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


_FROM_CLI = "made an admin from the command line"


async def create_admin(command: CreateAdmin, *, ctx: Identity) -> tuple[store.User, bool]:
    """Make an admin (the first one comes from the command line); True if newly created.

    A new account is made with every role at once, so ``UserRegistered`` names them
    (its welcome does not invite an admin to ask for the seller role); an existing
    one is promoted as an admin would do it.
    """
    normalised = domain.normalise_email(command.email)
    async with ctx.uow.db.read() as conn:
        existing = await store.user_by_email(conn, normalised)
    if existing is None:
        registration = Register(normalised, command.password, command.display_name)
        return await _open_account(registration, roles=domain.ROLES, ctx=ctx), True
    promotion = SetRoles(existing.id, domain.ROLES, reason=_FROM_CLI)
    return await set_roles(promotion, ctx=ctx), False
