"""Accounts and tokens through the gateway, on the embedded and the real backends."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest

from auction_platform.composition import Platform
from auction_platform.services.identity import store
from auction_platform.services.identity.handlers import Identity
from auction_platform.services.identity.passwords import Passwords
from auction_platform.settings import Settings
from support.accounts import PASSWORD, log_in, sign_up
from support.auctions import admin_token, create, lot_body, seller
from support.platforms import client, distributed_settings, embedded_settings, running

ALL = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")


@pytest.fixture(params=["embedded", "distributed"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """SQLite and memory backends, or PostgreSQL and Redis."""
    if request.param == "embedded":
        return embedded_settings(tmp_path)
    return distributed_settings(
        postgres_url=request.getfixturevalue("postgres_url"),
        redis_url=request.getfixturevalue("redis_url"),
        rabbitmq_url="memory://",
    )


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    """Every service in this process, on the chosen backends."""
    async with running(settings, ALL, embedded=True) as started:
        yield started


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway."""
    async with client(platform.apps["gateway"]) as gateway:
        yield gateway


def identity_of(platform: Platform) -> Identity:
    identity: Identity = platform.runtimes["identity"].context
    return identity


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_register_log_in_see_me_refresh_and_log_out(http: httpx.AsyncClient) -> None:
    ann = await sign_up(http, name="Ann")
    me = await http.get("/api/v1/users/me", headers=ann.headers)
    assert me.status_code == 200
    assert me.json()["user"] == {
        "id": ann.id,
        "email": ann.email,
        "display_name": "Ann",
        "phone": None,
        "roles": ["bidder"],
        "created_at": me.json()["user"]["created_at"],
    }
    refreshed = await http.post("/api/v1/auth/refresh", json={"refresh_token": ann.refresh_token})
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != ann.refresh_token
    assert (
        await http.get("/api/v1/users/me", headers=bearer(new["access_token"]))
    ).status_code == 200
    out = await http.post(
        "/api/v1/auth/logout",
        json={"refresh_token": new["refresh_token"]},
        headers=bearer(new["access_token"]),
    )
    assert out.status_code == 204
    after = await http.get("/api/v1/users/me", headers=bearer(new["access_token"]))
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "token_revoked"
    again = await http.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401


async def test_the_jwks_is_published_through_the_gateway(http: httpx.AsyncClient) -> None:
    keys = (await http.get("/.well-known/jwks.json")).json()["keys"]
    assert keys
    assert {k["kty"] for k in keys} == {"OKP"}
    assert all("d" not in k for k in keys)  # public halves only


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(
    http: httpx.AsyncClient,
) -> None:
    ann = await sign_up(http)
    first = await http.post("/api/v1/auth/refresh", json={"refresh_token": ann.refresh_token})
    successor = first.json()["refresh_token"]
    replay = await http.post("/api/v1/auth/refresh", json={"refresh_token": ann.refresh_token})
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "refresh_token_reused"
    # The thief's replay also ends the legitimate successor: the family is revoked.
    after = await http.post("/api/v1/auth/refresh", json={"refresh_token": successor})
    assert after.status_code == 401
    # Other sessions of the same person are not part of the family.
    other = await log_in(http, ann.email)
    fresh = await http.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert fresh.status_code == 200


async def test_a_bidder_calling_an_admin_endpoint_gets_403(http: httpx.AsyncClient) -> None:
    ann, bob = await sign_up(http, name="Ann"), await sign_up(http, name="Bob")
    response = await http.put(
        f"/api/v1/users/{bob.id}/roles", json={"roles": ["admin"]}, headers=ann.headers
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_an_admin_grants_roles(http: httpx.AsyncClient, platform: Platform) -> None:
    from auction_platform.services.identity import handlers
    from auction_platform.services.identity.domain import CreateAdmin

    admin, _ = await handlers.create_admin(
        CreateAdmin(
            email="root@example.com",
            password=PASSWORD,
            display_name="Root",
        ),
        ctx=identity_of(platform),
    )
    tokens = await log_in(http, admin.email)
    bob = await sign_up(http, name="Bob")
    response = await http.put(
        f"/api/v1/users/{bob.id}/roles",
        json={"roles": ["seller"]},
        headers=bearer(tokens["access_token"]),
    )
    assert response.status_code == 200
    assert response.json()["user"]["roles"] == ["bidder", "seller"]


async def test_registration_cannot_assign_itself_roles(http: httpx.AsyncClient) -> None:
    email = "mallory@example.com"
    response = await http.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": "M", "roles": ["admin"]},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    # Nothing was half-written: the email is still free.
    mallory = await sign_up(http, name="Mallory", email=email)
    me = await http.get("/api/v1/users/me", headers=mallory.headers)
    assert me.json()["user"]["roles"] == ["bidder"]


async def test_a_user_cannot_read_or_change_another_users_profile(http: httpx.AsyncClient) -> None:
    ann, bob = await sign_up(http, name="Ann"), await sign_up(http, name="Bob")
    read = await http.get(f"/api/v1/users/{bob.id}", headers=ann.headers)
    change = await http.patch(
        f"/api/v1/users/{bob.id}", json={"display_name": "Hacked"}, headers=ann.headers
    )
    assert read.status_code == 403
    assert change.status_code == 403
    own = await http.get(f"/api/v1/users/{bob.id}", headers=bob.headers)
    assert own.json()["user"]["display_name"] == "Bob"


async def test_a_user_changes_their_own_profile_and_preferences(http: httpx.AsyncClient) -> None:
    ann = await sign_up(http)
    changed = await http.patch(
        "/api/v1/users/me",
        json={"display_name": "Annie", "phone": "+49 151 1234 5678"},
        headers=ann.headers,
    )
    assert changed.json()["user"]["display_name"] == "Annie"
    assert changed.json()["user"]["phone"] == "+4915112345678"
    prefs = await http.patch(
        "/api/v1/users/me/preferences", json={"sms": {"outbid": False}}, headers=ann.headers
    )
    assert prefs.json()["preferences"]["sms"]["outbid"] is False
    stored = await http.get("/api/v1/users/me/preferences", headers=ann.headers)
    assert stored.json()["preferences"]["sms"]["outbid"] is False
    wrong = await http.patch(
        "/api/v1/users/me/preferences", json={"pigeon": {"outbid": True}}, headers=ann.headers
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "unknown_channel"


def roles_of(token: str) -> list[str]:
    roles: list[str] = jwt.decode(token, options={"verify_signature": False})["roles"]
    return roles


async def test_a_bidder_becomes_a_seller_and_lists_a_lot_with_the_answers_token_at_once(
    http: httpx.AsyncClient,
) -> None:
    ann = await sign_up(http)
    response = await http.post("/api/v1/users/me/seller", headers=ann.headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["user"]["roles"] == ["bidder", "seller"]
    # A token pair in the fields a login answers, beside the user.
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] > 0 and answer["refresh_expires_in"] > 0
    assert roles_of(answer["access_token"]) == ["bidder", "seller"]
    created = await http.post(
        "/api/v1/auctions", json=lot_body(), headers=bearer(answer["access_token"])
    )
    assert created.status_code == 201, created.text
    # The token in hand before is stale: refreshed, it carries the role too.
    stale = await http.get("/api/v1/users/me", headers=ann.headers)
    assert (stale.status_code, stale.json()["error"]["code"]) == (401, "token_stale")
    renewed = await http.post("/api/v1/auth/refresh", json={"refresh_token": ann.refresh_token})
    assert roles_of(renewed.json()["access_token"]) == ["bidder", "seller"]
    # The answer's refresh token works too.
    refreshed = await http.post(
        "/api/v1/auth/refresh", json={"refresh_token": answer["refresh_token"]}
    )
    assert roles_of(refreshed.json()["access_token"]) == ["bidder", "seller"]


async def test_tokens_issued_before_an_admin_changes_roles_are_refused_by_every_service(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_token(http, platform)
    sam = await seller(http, "Sam")
    before = await log_in(http, sam.email)  # a second session of Sam's
    assert (await http.post("/api/v1/auctions", json=lot_body(), headers=sam.headers)).is_success

    removed = await http.put(
        f"/api/v1/users/{sam.id}/roles", json={"roles": ["bidder"]}, headers=admin
    )
    assert removed.status_code == 200, removed.text

    # From the admin's answer on, each session's old token is refused with the code
    # that says "refresh": at the gateway, for every area, and by each service when
    # asked directly.
    stale = await http.post("/api/v1/auctions", json=lot_body(), headers=sam.headers)
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == "token_stale"
    assert stale.headers["www-authenticate"] == 'Bearer error="token_stale"'
    reads = {
        "identity": "/api/v1/users/me",
        "auction": "/api/v1/watchlist",
        "bidding": "/api/v1/bids",
        "payment": "/api/v1/orders",
    }
    for name, path in reads.items():
        for token in (sam.access_token, before["access_token"]):
            answer = await http.get(path, headers=bearer(token))
            assert answer.status_code == 401, (name, answer.text)
            assert answer.json()["error"]["code"] == "token_stale", name
            async with client(platform.apps[name]) as service:
                direct = await service.get(path, headers=bearer(token))
            assert direct.status_code == 401, (name, direct.text)
            assert direct.json()["error"]["code"] == "token_stale", name

    # The refresh gives a token with the roles as they are now: it works, without the role.
    refreshed = await http.post("/api/v1/auth/refresh", json={"refresh_token": sam.refresh_token})
    assert refreshed.status_code == 200, refreshed.text
    token = refreshed.json()["access_token"]
    assert roles_of(token) == ["bidder"]
    assert (await http.get("/api/v1/users/me", headers=bearer(token))).status_code == 200
    denied = await http.post("/api/v1/auctions", json=lot_body(), headers=bearer(token))
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "forbidden")

    # A grant takes effect the same way: the old token is stale, the next one sells.
    granted = await http.put(
        f"/api/v1/users/{sam.id}/roles", json={"roles": ["seller"]}, headers=admin
    )
    assert granted.status_code == 200
    assert (await http.get("/api/v1/users/me", headers=bearer(token))).status_code == 401
    again = await http.post(
        "/api/v1/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]}
    )
    listed = await http.post(
        "/api/v1/auctions", json=lot_body(), headers=bearer(again.json()["access_token"])
    )
    assert listed.status_code == 201, listed.text
    # Other accounts are not touched.
    assert (await http.get("/api/v1/users/me", headers=admin)).status_code == 200


async def test_an_admin_role_removed_is_refused_by_payment_analytics_and_auction(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    root = await admin_token(http, platform)
    deputy = await admin_token(http, platform)
    deputy_id = (await http.get("/api/v1/users/me", headers=deputy)).json()["user"]["id"]
    lot = await create(http, await seller(http))
    admin_only = {
        "analytics": ("GET", "/api/v1/analytics/summary"),
        "payment": ("POST", "/api/v1/orders/no-such-order/refund"),
        "auction": ("POST", f"/api/v1/auctions/{lot['id']}/cancel"),
    }
    for name, (method, path) in admin_only.items():
        async with client(platform.apps[name]) as service:
            allowed = await service.request(method, path, headers=deputy)
        assert allowed.status_code not in (401, 403), (name, allowed.text)

    removed = await http.put(
        f"/api/v1/users/{deputy_id}/roles", json={"roles": ["bidder"]}, headers=root
    )
    assert removed.status_code == 200, removed.text

    # The token the deputy held is refused at once by each service, asked directly too.
    for name, (method, path) in admin_only.items():
        answer = await http.request(method, path, headers=deputy)
        assert (answer.status_code, answer.json()["error"]["code"]) == (401, "token_stale"), name
        async with client(platform.apps[name]) as service:
            direct = await service.request(method, path, headers=deputy)
        assert (direct.status_code, direct.json()["error"]["code"]) == (401, "token_stale"), name


async def test_operators_list_and_search_accounts_newest_first_a_page_at_a_time(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_token(http, platform)
    tag = uuid.uuid4().hex[:6]
    ann = await sign_up(http, name=f"Ann {tag}", email=f"ann.{tag}@example.com")
    bob = await sign_up(http, name=f"Bob {tag}", email=f"bob.{tag}@example.com")
    cleo = await sign_up(http, name=f"Cleo {tag.upper()}", email=f"c.{tag}@example.com")
    await http.put(f"/api/v1/users/{bob.id}/roles", json={"roles": ["seller"]}, headers=admin)

    found = await http.get("/api/v1/users", params={"q": tag.upper()}, headers=admin)
    assert found.status_code == 200, found.text
    body = found.json()
    assert [u["id"] for u in body["items"]] == [cleo.id, bob.id, ann.id]
    assert body["next_cursor"] is None
    assert body["items"][1] == {
        "id": bob.id,
        "email": bob.email,
        "display_name": f"Bob {tag}",
        "roles": ["bidder", "seller"],
        "created_at": body["items"][1]["created_at"],
        "suspended": False,
        "suspended_until": None,
    }
    by_email = await http.get("/api/v1/users", params={"q": f"BOB.{tag}"}, headers=admin)
    assert [u["id"] for u in by_email.json()["items"]] == [bob.id]
    sellers = await http.get("/api/v1/users", params={"q": tag, "role": "seller"}, headers=admin)
    assert [u["id"] for u in sellers.json()["items"]] == [bob.id]

    seen: list[str] = []
    cursor = None
    while True:
        params = {"q": tag, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/api/v1/users", params=params, headers=admin)).json()
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [cleo.id, bob.id, ann.id]

    everyone = (await http.get("/api/v1/users", params={"limit": 100}, headers=admin)).json()
    created = [u["created_at"] for u in everyone["items"]]
    assert created == sorted(created, reverse=True)

    assert (await http.get("/api/v1/users", headers=ann.headers)).status_code == 403
    assert (await http.get("/api/v1/users")).status_code == 401
    for bad in ({"role": "emperor"}, {"limit": 0}, {"limit": 101}, {"cursor": "x"}):
        refused = await http.get("/api/v1/users", params=bad, headers=admin)
        assert refused.status_code == 422, bad


async def test_email_case_variants_are_one_account(http: httpx.AsyncClient) -> None:
    await sign_up(http, email="Ann.Lee@Example.com")
    clash = await http.post(
        "/api/v1/auth/register",
        json={"email": "ann.lee@EXAMPLE.COM", "password": PASSWORD, "display_name": "Other"},
    )
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "email_taken"
    assert (
        await http.post(
            "/api/v1/auth/login", json={"email": "ANN.LEE@example.com", "password": PASSWORD}
        )
    ).status_code == 200


@pytest.mark.parametrize(
    ("password", "code"),
    [("short", "password_too_short"), ("qwertyuiop", "password_too_common")],
)
async def test_weak_passwords_are_refused(
    http: httpx.AsyncClient, password: str, code: str
) -> None:
    response = await http.post(
        "/api/v1/auth/register",
        json={"email": "weak@example.com", "password": password, "display_name": "W"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


async def test_login_errors_do_not_reveal_whether_the_email_exists(http: httpx.AsyncClient) -> None:
    ann = await sign_up(http)
    wrong_password = await http.post(
        "/api/v1/auth/login", json={"email": ann.email, "password": "not-the-password-1"}
    )
    no_account = await http.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "not-the-password-1"}
    )
    assert wrong_password.status_code == no_account.status_code == 401
    assert wrong_password.json()["error"]["code"] == no_account.json()["error"]["code"]
    assert wrong_password.json()["error"]["message"] == no_account.json()["error"]["message"]


async def test_failed_logins_are_throttled_per_account(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    ann, bob = await sign_up(http, name="Ann"), await sign_up(http, name="Bob")
    limit = platform.settings.login_failures_per_account
    for _ in range(limit):
        failed = await http.post(
            "/api/v1/auth/login", json={"email": ann.email, "password": "wrong-password-123"}
        )
        assert failed.status_code == 401
    blocked = await http.post("/api/v1/auth/login", json={"email": ann.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_attempts"
    assert int(blocked.headers["retry-after"]) > 0
    # Another account from the same address still signs in.
    assert (
        await http.post("/api/v1/auth/login", json={"email": bob.email, "password": PASSWORD})
    ).status_code == 200


async def test_service_endpoints_refuse_user_tokens_and_accept_service_tokens(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    ann = await sign_up(http)
    as_user = await http.get(f"/api/v1/users/{ann.id}/contact", headers=ann.headers)
    assert as_user.status_code == 403
    notification = platform.runtimes["notification"]
    async with client(platform.apps["identity"]) as identity:
        as_service = await identity.get(
            f"/api/v1/users/{ann.id}/contact", headers=await notification.auth_headers()
        )
        wrong = await identity.post(
            "/api/v1/auth/service-token",
            json={"client_id": "notification", "client_secret": "guess"},
        )
    assert as_service.status_code == 200
    assert as_service.json()["email"] == ann.email
    assert wrong.status_code == 401


async def test_rotating_the_signing_key_logs_nobody_out(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    ann = await sign_up(http)
    keys = identity_of(platform).keys
    await keys.rotate()
    old_kid = jwt.get_unverified_header(ann.access_token)["kid"]
    new_tokens = await log_in(http, ann.email)
    new_kid = jwt.get_unverified_header(new_tokens["access_token"])["kid"]
    assert new_kid != old_kid
    for token in (ann.access_token, new_tokens["access_token"]):
        # The gateway learns the new key from the JWKS when it meets its kid.
        assert (await http.get("/api/v1/users/me", headers=bearer(token))).status_code == 200
    published = {k["kid"] for k in (await http.get("/.well-known/jwks.json")).json()["keys"]}
    assert {old_kid, new_kid} <= published


async def test_a_hash_made_with_old_parameters_is_upgraded_at_login(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    ann = await sign_up(http)
    identity = identity_of(platform)
    weak = Passwords(time_cost=1, memory_cost=8 * 1024)
    async with identity.uow() as tx:
        await store.update_user(
            tx.conn, ann.id, now=identity.clock(), password_hash=await weak.hash(PASSWORD)
        )
    await log_in(http, ann.email)
    async with identity.uow.db.read() as conn:
        user = await store.user_by_id(conn, ann.id)
    assert user is not None
    assert not identity.passwords.needs_rehash(user.password_hash)
    assert "m=19456,t=2,p=1" in user.password_hash


async def test_passwords_are_never_logged_or_returned(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        ann = await sign_up(http)
        me = await http.get("/api/v1/users/me", headers=ann.headers)
        await http.post("/api/v1/auth/login", json={"email": ann.email, "password": "wrong-pw-123"})
    assert PASSWORD not in caplog.text
    assert "wrong-pw-123" not in caplog.text
    assert "password" not in me.text
    assert "argon2" not in me.text


async def test_the_gateway_rate_limit_answers_429_then_recovers(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path, rate_limit_per_address=3, rate_limit_window_seconds=1)
    async with (
        running(settings, ALL, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        codes = [(await http.get("/api/v1/search/auctions")).status_code for _ in range(4)]
        assert codes[:3] == [200, 200, 200]
        assert codes[3] == 429
        limited = await http.get("/api/v1/search/auctions")
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        await asyncio.sleep(0.5)
        assert (await http.get("/api/v1/search/auctions")).status_code == 200


async def test_sign_in_routes_have_a_stricter_limit(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path, auth_rate_limit_per_address=2)
    async with (
        running(settings, ALL, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        body = {"email": "x@example.com", "password": "whatever-it-is"}
        codes = [(await http.post("/api/v1/auth/login", json=body)).status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        assert (await http.get("/api/v1/search/auctions")).status_code == 200
