"""The site's sessions over HTTP: signing out revokes the tokens, and the cookie's flags.

The session's tokens stay on the server (``services/web/sessions.py``): the browser
holds an opaque cookie, and the site keeps the access and refresh tokens in the cache
under a hash of it. These tests read that store to see what a session held.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from auction_platform.composition import Platform
from auction_platform.services.web.sessions import COOKIE, VISITOR_COOKIE, Session
from auction_platform.services.web.site import Web
from auction_platform.settings import SERVICES, Environment
from support.accounts import PASSWORD, Account, sign_up
from support.platforms import embedded_settings, running

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _client(platform: Platform) -> httpx.AsyncClient:
    """A browser-like client of the gateway over HTTPS (it sends back Secure cookies too)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=platform.apps["gateway"]),
        base_url="https://testserver",
        follow_redirects=False,
    )


async def _csrf(http: httpx.AsyncClient, path: str) -> str:
    page = await http.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def _sign_in(http: httpx.AsyncClient, account: Account) -> httpx.Response:
    """Sign in through the site's form; its answer."""
    signed_in = await http.post(
        "/signin",
        data={
            "email": account.email,
            "password": PASSWORD,
            "next": "/account",
            "csrf_token": await _csrf(http, "/signin"),
        },
    )
    assert signed_in.status_code == 303, signed_in.text
    return signed_in


async def _session(platform: Platform, http: httpx.AsyncClient) -> Session:
    """The session the client's cookie names, as the site keeps it."""
    web = platform.runtimes["web"].context
    assert isinstance(web, Web)
    cookie = http.cookies.get(COOKIE)
    assert cookie is not None
    session = await web.sessions.load(cookie)
    assert session is not None
    return session


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    async with running(embedded_settings(tmp_path), list(SERVICES), embedded=True) as started:
        yield started


async def test_signing_out_revokes_the_sessions_tokens_at_identity(platform: Platform) -> None:
    async with _client(platform) as http:
        ann = await sign_up(http, name="Ann")
        await _sign_in(http, ann)
        held = await _session(platform, http)
        bearer = {"Authorization": f"Bearer {held.access_token}"}
        assert (await http.get("/api/v1/users/me", headers=bearer)).status_code == 200

        signed_out = await http.post("/signout", data={"csrf_token": await _csrf(http, "/account")})
        assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/")
        assert http.cookies.get(COOKIE) is None
        gone = await http.get("/account")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/signin")

        # The tokens the session held are refused by identity, not merely forgotten.
        refreshed = await http.post(
            "/api/v1/auth/refresh", json={"refresh_token": held.refresh_token}
        )
        assert refreshed.status_code == 401, refreshed.text
        assert (await http.get("/api/v1/users/me", headers=bearer)).status_code == 401
        # The account itself is untouched: another sign-in works.
        await _sign_in(http, ann)
        assert (await http.get("/account")).status_code == 200


def _cookie_flags(answer: httpx.Response, name: str) -> set[str]:
    """The attributes of the ``Set-Cookie`` for ``name`` (lower case, without values)."""
    for header in answer.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return {part.split("=", 1)[0].strip().lower() for part in header.split(";")[1:]}
    raise AssertionError(f"no {name} cookie in {answer.headers.get_list('set-cookie')}")


@pytest.mark.parametrize(
    ("environment", "secure"),
    [
        (Environment.DEVELOPMENT, False),
        (Environment.TEST, True),
        (Environment.PRODUCTION, True),
    ],
)
async def test_the_session_cookie_is_secure_outside_development(
    tmp_path: Path, environment: Environment, secure: bool
) -> None:
    # Outside development the settings refuse the development secret and the sandbox
    # provider; the payment service is not started, so Stripe is named but never called.
    settings = embedded_settings(
        tmp_path,
        environment=environment,
        secret_key=SecretStr("a-secret-key-for-this-test-only-" + "x" * 16),
        payment_provider="stripe",
        stripe_api_key=SecretStr("sk_test_not_used"),
        stripe_webhook_secrets=["whsec_not_used"],
    )
    services = ("identity", "web", "gateway")
    async with running(settings, services, embedded=True) as platform, _client(platform) as http:
        form = await http.get("/signin")
        assert form.status_code == 200
        assert ("secure" in _cookie_flags(form, VISITOR_COOKIE)) is secure
        ann = await sign_up(http, name="Ann")
        signed_in = await _sign_in(http, ann)
        flags = _cookie_flags(signed_in, COOKIE)
        assert {"httponly", "samesite", "path", "max-age"} <= flags
        assert ("secure" in flags) is secure
