"""The identity use cases, without the platform: SQLite on a file and the memory cache."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import select

from auction_platform.core.auth import REVOKED_MARK, STALE_MARK
from auction_platform.core.cache.base import CacheUnavailable
from auction_platform.core.cache.memory import MemoryCache
from auction_platform.core.db import Database
from auction_platform.core.failures import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from auction_platform.core.migrate import migrate
from auction_platform.core.revocations import MARK_SET, Revocations
from auction_platform.core.uow import UnitOfWork
from auction_platform.services.identity import api, handlers, store
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
from auction_platform.services.identity.handlers import Identity
from auction_platform.services.identity.keys import KeyRing
from auction_platform.services.identity.passwords import Passwords
from auction_platform.settings import Settings

PASSWORD = "a long enough passphrase"
START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def identity(tmp_path: Path, clock: Clock) -> AsyncIterator[Identity]:
    """The identity context on a fresh SQLite file, with cheap password hashing."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/identity.sqlite3", pool_size=2)
    await migrate(db, "identity")
    settings = Settings(_env_file=None, data_dir=tmp_path, login_failures_per_account=2)
    keys = KeyRing(db, secret="unit-test-secret", token_lifetime=timedelta(minutes=15), clock=clock)
    await keys.load()
    cache = MemoryCache()
    yield Identity(
        uow=UnitOfWork(db, outbox=store.TABLES.outbox, producer="identity"),
        keys=keys,
        passwords=Passwords(time_cost=1, memory_cost=8 * 1024),
        cache=cache,
        revocations=Revocations(cache),
        settings=settings,
        clock=clock,
    )
    await db.dispose()


async def refused(kind: type[DomainError], code: str, call: Awaitable[Any]) -> DomainError:
    """The error ``call`` raised, checked for its kind and code."""
    with pytest.raises(kind) as caught:
        await call
    assert caught.value.code == code
    return caught.value


async def events(identity: Identity) -> list[str]:
    """The types of the events in the outbox, in order, but the audit trail's records
    (``AuditRecorded``, checked by the audit trail's own tests)."""
    outbox = store.TABLES.outbox
    query = (
        select(outbox.c.event_type)
        .where(outbox.c.event_type != "AuditRecorded")
        .order_by(outbox.c.seq)
    )
    async with identity.uow.db.read() as conn:
        return [row.event_type for row in await conn.execute(query)]


async def marked(identity: Identity) -> dict[str, bytes]:
    """The token marks in the cache, as every process reads them: ``jti`` -> mark."""
    assert isinstance(identity.cache, MemoryCache)
    return {mark.name: mark.value for mark in await identity.cache.marks(MARK_SET)}


async def ann(identity: Identity, email: str = "ann@example.com") -> store.User:
    return await handlers.register(Register(email, PASSWORD, "Ann"), ctx=identity)


async def test_registering_opens_a_bidder_account_and_announces_it(identity: Identity) -> None:
    user = await handlers.register(
        Register(" Ann@Example.COM ", PASSWORD, " Ann ", phone="+49 151 1234 5678"),
        ctx=identity,
    )
    assert (user.email, user.display_name, user.phone) == (
        "ann@example.com",
        "Ann",
        "+4915112345678",
    )
    assert user.roles == ("bidder",)
    assert await events(identity) == ["UserRegistered"]


async def test_an_email_in_another_case_is_taken(identity: Identity) -> None:
    await ann(identity)
    await refused(Conflict, "email_taken", ann(identity, "ANN@example.com"))


@pytest.mark.parametrize(
    ("password", "phone", "code"),
    [
        ("short", None, "password_too_short"),
        ("qwertyuiop", None, "password_too_common"),
        ("annabel's own secret", None, "password_too_personal"),
        (PASSWORD, "0151 1234", "invalid_phone"),
    ],
)
async def test_a_registration_breaking_a_rule_is_invalid(
    identity: Identity, password: str, phone: str | None, code: str
) -> None:
    command = Register("annabel@example.com", password, "Annabel", phone=phone)
    await refused(Invalid, code, handlers.register(command, ctx=identity))
    assert await events(identity) == []


async def test_a_login_gives_a_token_pair(identity: Identity) -> None:
    await ann(identity)
    pair = await handlers.login(Login("ANN@example.com", PASSWORD, "10.0.0.1"), ctx=identity)
    assert pair.public(identity.clock())["expires_in"] == 15 * 60
    assert pair.refresh_expires_at == START + timedelta(days=30)


async def test_a_wrong_password_and_an_unknown_email_are_refused_alike(
    identity: Identity,
) -> None:
    await ann(identity)
    wrong = await refused(
        Unauthenticated,
        "invalid_credentials",
        handlers.login(Login("ann@example.com", "not the password", "a"), ctx=identity),
    )
    nobody = await refused(
        Unauthenticated,
        "invalid_credentials",
        handlers.login(Login("bob@example.com", "not the password", "b"), ctx=identity),
    )
    assert wrong.message == nobody.message


async def test_failed_logins_lock_the_account_for_a_while(identity: Identity) -> None:
    await ann(identity)
    for _ in range(identity.settings.login_failures_per_account):
        await refused(
            Unauthenticated,
            "invalid_credentials",
            handlers.login(Login("ann@example.com", "wrong", "a"), ctx=identity),
        )
    locked = await refused(
        RateLimited,
        "too_many_attempts",
        handlers.login(Login("ann@example.com", PASSWORD, "a"), ctx=identity),
    )
    assert locked.retry_after is not None and locked.retry_after >= 1
    assert f"try again in {locked.retry_after} seconds" in locked.message


async def test_a_refresh_rotates_and_a_replay_revokes_the_family(identity: Identity) -> None:
    await ann(identity)
    first = await handlers.login(Login("ann@example.com", PASSWORD, "a"), ctx=identity)
    second = await handlers.refresh(Refresh(first.refresh_token), ctx=identity)
    assert second.refresh_token != first.refresh_token
    await refused(
        Unauthenticated,
        "refresh_token_reused",
        handlers.refresh(Refresh(first.refresh_token), ctx=identity),
    )
    revoked = await refused(
        Unauthenticated,
        "invalid_refresh_token",
        handlers.refresh(Refresh(second.refresh_token), ctx=identity),
    )
    assert revoked.message == "the refresh token is revoked"
    assert await events(identity) == ["UserRegistered", "RefreshTokenReused"]


async def test_an_unknown_or_expired_refresh_token_is_refused(
    identity: Identity, clock: Clock
) -> None:
    await refused(
        Unauthenticated,
        "invalid_refresh_token",
        handlers.refresh(Refresh("made-up"), ctx=identity),
    )
    await ann(identity)
    pair = await handlers.login(Login("ann@example.com", PASSWORD, "a"), ctx=identity)
    clock.now = START + timedelta(days=31)
    expired = await refused(
        Unauthenticated,
        "invalid_refresh_token",
        handlers.refresh(Refresh(pair.refresh_token), ctx=identity),
    )
    assert expired.message == "the refresh token is expired"


async def test_a_logout_ends_the_family_and_marks_the_access_token(identity: Identity) -> None:
    user = await ann(identity)
    pair = await handlers.login(Login("ann@example.com", PASSWORD, "a"), ctx=identity)
    command = Logout(
        user.id,
        token_id="jti-1",
        token_expires_at=pair.access_expires_at,
        refresh_token=pair.refresh_token,
    )
    await handlers.logout(command, ctx=identity)
    assert await marked(identity) == {"jti-1": REVOKED_MARK}
    assert identity.revocations.mark_of("jti-1") == REVOKED_MARK  # held here at once
    await refused(
        Unauthenticated,
        "invalid_refresh_token",
        handlers.refresh(Refresh(pair.refresh_token), ctx=identity),
    )


async def test_a_profile_change_sets_or_clears_the_phone(identity: Identity) -> None:
    user = await ann(identity)
    changed = await handlers.change_profile(
        ChangeProfile(user.id, display_name=" Annie ", phone="+44 20 7946 0000"), ctx=identity
    )
    assert (changed.display_name, changed.phone) == ("Annie", "+442079460000")
    cleared = await handlers.change_profile(ChangeProfile(user.id, clear_phone=True), ctx=identity)
    assert cleared.phone is None
    await refused(
        Invalid,
        "invalid_phone",
        handlers.change_profile(ChangeProfile(user.id, phone="12"), ctx=identity),
    )
    await refused(
        NotFound,
        "user_not_found",
        handlers.change_profile(ChangeProfile("nobody"), ctx=identity),
    )


async def test_preferences_change_per_channel_and_refuse_unknown_keys(identity: Identity) -> None:
    user = await ann(identity)
    merged = await handlers.set_preferences(
        SetPreferences(user.id, {"sms": {"outbid": False}}), ctx=identity
    )
    assert merged["sms"]["outbid"] is False
    assert merged["email"]["outbid"] is True
    assert (await handlers.user(user.id, ctx=identity)).preferences == merged
    for changes, code in [
        ({"pigeon": {"outbid": True}}, "unknown_channel"),
        ({"sms": {"gossip": True}}, "unknown_notice"),
    ]:
        command = SetPreferences(user.id, changes)
        await refused(Invalid, code, handlers.set_preferences(command, ctx=identity))


async def test_roles_are_known_ones_and_always_include_bidder(identity: Identity) -> None:
    user = await ann(identity)
    changed = await handlers.set_roles(SetRoles(user.id, ("seller",)), ctx=identity)
    assert changed.roles == ("bidder", "seller")
    await refused(
        Invalid,
        "unknown_role",
        handlers.set_roles(SetRoles(user.id, ("root",)), ctx=identity),
    )
    await refused(
        NotFound,
        "user_not_found",
        handlers.set_roles(SetRoles("nobody", ("seller",)), ctx=identity),
    )
    assert (await events(identity))[-1] == "UserRolesChanged"


def claims(token: str) -> dict[str, Any]:
    found: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return found


async def test_a_bidder_becomes_a_seller_with_tokens_that_carry_the_role(
    identity: Identity,
) -> None:
    user = await ann(identity)
    before = await handlers.login(Login("ann@example.com", PASSWORD, "a"), ctx=identity)
    granted = await handlers.become_seller(BecomeSeller(user.id), ctx=identity)
    assert granted.user.roles == ("bidder", "seller")
    assert claims(granted.tokens.access_token)["roles"] == ["bidder", "seller"]
    assert (await events(identity))[-1] == "UserRolesChanged"
    # The access token held before is stale (refreshed, it carries the role); the new is not.
    assert await marked(identity) == {claims(before.access_token)["jti"]: STALE_MARK}
    # A new session, as a login starts: its refresh token works, and so does the old one.
    again = await handlers.refresh(Refresh(granted.tokens.refresh_token), ctx=identity)
    assert claims(again.access_token)["roles"] == ["bidder", "seller"]
    older = await handlers.refresh(Refresh(before.refresh_token), ctx=identity)
    assert claims(older.access_token)["roles"] == ["bidder", "seller"]
    # Asking twice changes nothing more, and still gives tokens.
    twice = await handlers.become_seller(BecomeSeller(user.id), ctx=identity)
    assert twice.user.roles == ("bidder", "seller")
    assert (await events(identity)).count("UserRolesChanged") == 1
    await refused(
        NotFound,
        "user_not_found",
        handlers.become_seller(BecomeSeller("nobody"), ctx=identity),
    )


async def test_a_change_of_roles_marks_the_accounts_live_access_tokens_stale(
    identity: Identity, clock: Clock
) -> None:
    user = await ann(identity)
    await ann(identity, "bob@example.com")
    first = await handlers.login(Login("ann@example.com", PASSWORD, "a"), ctx=identity)
    await handlers.refresh(Refresh(first.refresh_token), ctx=identity)
    await handlers.login(Login("bob@example.com", PASSWORD, "b"), ctx=identity)
    clock.now = START + timedelta(minutes=16)  # the first two have expired by now
    third = await handlers.login(Login("ann@example.com", PASSWORD, "a"), ctx=identity)

    await handlers.set_roles(SetRoles(user.id, ("seller",)), ctx=identity)

    # Only Ann's live token: her first two have expired, Bob's roles did not change.
    assert await marked(identity) == {claims(third.access_token)["jti"]: STALE_MARK}
    # The refresh gives a token with the new roles, and it is not stale.
    fresh = await handlers.refresh(Refresh(third.refresh_token), ctx=identity)
    assert claims(fresh.access_token)["roles"] == ["bidder", "seller"]
    assert claims(fresh.access_token)["jti"] not in await marked(identity)


async def test_a_role_change_that_cannot_mark_the_tokens_changes_nothing(
    identity: Identity,
) -> None:
    user = await ann(identity)
    await handlers.login(Login("ann@example.com", PASSWORD, "a"), ctx=identity)
    await identity.cache.close()
    with pytest.raises(CacheUnavailable):
        await handlers.set_roles(SetRoles(user.id, ("seller", "admin")), ctx=identity)
    assert (await handlers.user(user.id, ctx=identity)).roles == ("bidder",)
    assert "UserRolesChanged" not in await events(identity)


async def test_accounts_are_listed_newest_first_found_by_text_and_role(
    identity: Identity, clock: Clock
) -> None:
    names = ["Ann Lee", "Bob Stone", "Cleo Lee", "Dan Ng", "Eve Leeds"]
    made = []
    for minute, name in enumerate(names):
        clock.now = START + timedelta(minutes=minute)
        email = f"{name.split()[0].lower()}@example.com"
        made.append(await handlers.register(Register(email, PASSWORD, name), ctx=identity))
    await handlers.set_roles(SetRoles(made[2].id, ("seller",)), ctx=identity)

    def listed(page: handlers.UserPage) -> list[str]:
        return [user.display_name for user in page.items]

    everyone = await handlers.list_users(ListUsers(), ctx=identity)
    assert listed(everyone) == list(reversed(names))
    assert everyone.next_cursor is None
    lees = await handlers.list_users(ListUsers(text="LEE"), ctx=identity)
    assert listed(lees) == ["Eve Leeds", "Cleo Lee", "Ann Lee"]
    by_email = await handlers.list_users(ListUsers(text="bob@EXAMPLE"), ctx=identity)
    assert listed(by_email) == ["Bob Stone"]
    sellers = await handlers.list_users(ListUsers(role=Role.SELLER), ctx=identity)
    assert listed(sellers) == ["Cleo Lee"]
    assert listed(await handlers.list_users(ListUsers(text="%"), ctx=identity)) == []

    first = await handlers.list_users(ListUsers(limit=2), ctx=identity)
    assert listed(first) == ["Eve Leeds", "Dan Ng"]
    second = await handlers.list_users(ListUsers(cursor=first.next_cursor, limit=2), ctx=identity)
    assert listed(second) == ["Cleo Lee", "Bob Stone"]
    last = await handlers.list_users(ListUsers(cursor=second.next_cursor, limit=2), ctx=identity)
    assert (listed(last), last.next_cursor) == (["Ann Lee"], None)
    await refused(
        Invalid, "invalid_cursor", handlers.list_users(ListUsers(cursor="nonsense"), ctx=identity)
    )


def test_only_the_owner_or_an_admin_may_see_an_account() -> None:
    handlers.may_see(Actor("u1", frozenset({"bidder"})), "u1")
    handlers.may_see(Actor("u2", frozenset({"bidder", "admin"})), "u1")
    with pytest.raises(Forbidden) as caught:
        handlers.may_see(Actor("u2", frozenset({"bidder", "seller"})), "u1")
    assert caught.value.code == "forbidden"


async def test_a_service_token_needs_the_services_secret(identity: Identity) -> None:
    from auction_platform.core.auth import service_client_secret

    secret = service_client_secret(identity.settings.secret_key.get_secret_value(), "payment")
    token = await handlers.issue_service_token(
        IssueServiceToken("service:payment", secret), ctx=identity
    )
    assert token.expires_at == START + timedelta(minutes=15)
    for client_id, client_secret in [("payment", "guess"), ("printer", secret)]:
        command = IssueServiceToken(client_id, client_secret)
        await refused(
            Unauthenticated,
            "invalid_client",
            handlers.issue_service_token(command, ctx=identity),
        )


async def test_create_admin_makes_or_promotes_an_admin(identity: Identity) -> None:
    admin, created = await handlers.create_admin(
        CreateAdmin("root@example.com", PASSWORD, "Root"), ctx=identity
    )
    assert created
    assert admin.roles == ("bidder", "seller", "admin")
    again, created = await handlers.create_admin(
        CreateAdmin("ROOT@example.com", "ignored as it exists", "Root"), ctx=identity
    )
    assert (again.id, created) == (admin.id, False)


async def registrations(identity: Identity) -> list[dict[str, Any]]:
    """The data of every ``UserRegistered`` in the outbox."""
    outbox = store.TABLES.outbox
    query = select(outbox.c.payload).where(outbox.c.event_type == "UserRegistered")
    async with identity.uow.db.read() as conn:
        return [json.loads(row.payload)["data"] for row in await conn.execute(query)]


async def test_every_registration_names_the_roles_it_was_made_with(identity: Identity) -> None:
    bidder = await ann(identity)
    admin, _ = await handlers.create_admin(
        CreateAdmin("root@example.com", PASSWORD, "Root"), ctx=identity
    )
    named = [
        {key: data[key] for key in ("user_id", "display_name", "roles")}
        for data in await registrations(identity)
    ]
    assert named == [
        {"user_id": bidder.id, "display_name": "Ann", "roles": ["bidder"]},
        {"user_id": admin.id, "display_name": "Root", "roles": ["bidder", "seller", "admin"]},
    ]
    # Made an admin in one go: never a bidder first, so no change of roles follows.
    assert await events(identity) == ["UserRegistered", "UserRegistered"]


def test_refused_sign_ins_carry_no_bearer_challenge() -> None:
    for code in ("invalid_credentials", "invalid_refresh_token", "invalid_client"):
        error = Unauthenticated(code, "no")
        assert api.ERRORS.status_of(error) == 401
        assert api.ERRORS.headers_of(error) is None
    limited = RateLimited("too_many_attempts", "later", retry_after=42)
    assert api.ERRORS.status_of(limited) == 429
    assert api.ERRORS.headers_of(limited) == {"Retry-After": "42"}
