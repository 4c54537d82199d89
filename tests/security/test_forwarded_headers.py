"""A client cannot choose the address it is limited under, whatever forwarding header it writes.

The gateway counts a request under its peer's address unless the peer is a trusted
proxy (``TRUSTED_PROXIES``), and then believes only the right-most address of
``X-Forwarded-For`` that no trusted proxy added; ``Forwarded`` and ``X-Real-IP`` are
believed from nobody. Probed here on the three limits an address meets: the gateway's
rate limit, its stricter one on the sign-in routes, and identity's throttle of failed
sign-ins (how the ingress's own chain is read: ``tests/integration/test_client_address.py``).
Each spoofing client is its own peer, so each starts with full buckets.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from auction_platform.composition import Platform
from security.world import SERVICES, probe_settings
from support.platforms import running

LIMIT = 3
TRIES = 2 * LIMIT
PROXY = "10.0.0.2"  # the ingress in front of the gateway
Headers = Callable[[int], dict[str, str]]

# What a client may write to pass for another address on its i-th request.
SPOOFS: dict[str, Headers] = {
    "X-Forwarded-For": lambda i: {"X-Forwarded-For": f"10.9.{i}.1"},
    "X-Forwarded-For, a chain": lambda i: {"X-Forwarded-For": f"10.9.{i}.1, 203.0.113.{i}"},
    "X-Forwarded-For, IPv6": lambda i: {"X-Forwarded-For": f"2001:db8::{i + 1}"},
    "Forwarded": lambda i: {"Forwarded": f"for=10.9.{i}.1;proto=https;by=10.0.0.2"},
    "Forwarded, IPv6 quoted": lambda i: {"Forwarded": f'for="[2001:db8::{i + 1}]:4711"'},
    "X-Real-IP": lambda i: {"X-Real-IP": f"10.9.{i}.1"},
    "all of them": lambda i: {
        "X-Forwarded-For": f"10.9.{i}.1",
        "Forwarded": f"for=10.8.{i}.1",
        "X-Real-IP": f"10.7.{i}.1",
        "X-Client-IP": f"10.6.{i}.1",
        "True-Client-IP": f"10.5.{i}.1",
        "CF-Connecting-IP": f"10.4.{i}.1",
    },
}


@asynccontextmanager
async def gateway(tmp_path: Path, **limits: Any) -> AsyncIterator[Platform]:
    """A platform whose gateway trusts the ingress (``PROXY``) and nobody else."""
    settings = probe_settings(tmp_path, trusted_proxies=["10.0.0.0/24"], **limits)
    async with running(settings, SERVICES, embedded=True) as platform:
        yield platform


def from_peer(platform: Platform, host: str) -> httpx.AsyncClient:
    """A client of the gateway whose connection comes from ``host``."""
    transport = httpx.ASGITransport(
        app=platform.apps["gateway"], raise_app_exceptions=False, client=(host, 40_000)
    )
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def outsiders() -> dict[str, str]:
    """A peer address of its own for each spoof."""
    return {name: f"198.51.100.{i + 10}" for i, name in enumerate(SPOOFS)}


async def statuses(
    platform: Platform, peer: str, send: Callable[[httpx.AsyncClient, int], Any]
) -> list[int]:
    """The statuses of ``TRIES`` requests from ``peer``, each claiming another address."""
    found = []
    async with from_peer(platform, peer) as http:
        for i in range(TRIES):
            response: httpx.Response = await send(http, i)
            found.append(response.status_code)
    return found


def limited_as_one(found: list[int], allowed: int, code: int = 429) -> bool:
    return found[:LIMIT] == [allowed] * LIMIT and set(found[LIMIT:]) == {code}


async def test_failed_sign_ins_count_against_the_peer_whatever_it_claims(tmp_path: Path) -> None:
    async with gateway(tmp_path, login_failures_per_address=LIMIT) as platform:
        failures = {}
        for name, peer in outsiders().items():
            spoof = SPOOFS[name]

            def wrong_login(http: httpx.AsyncClient, i: int, spoof: Headers = spoof) -> Any:
                email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
                body = {"email": email, "password": "not-the-password"}
                return http.post("/api/v1/auth/login", json=body, headers=spoof(i))

            found = await statuses(platform, peer, wrong_login)
            if not limited_as_one(found, 401):
                failures[name] = found
    assert not failures, f"spoofed addresses escaped the sign-in throttle: {failures}"


async def test_the_rate_limits_count_the_peer_whatever_it_claims(tmp_path: Path) -> None:
    limits = {"rate_limit_per_address": LIMIT, "auth_rate_limit_per_address": LIMIT}
    async with gateway(tmp_path, **limits) as platform:
        failures = {}
        for name, peer in outsiders().items():
            spoof = SPOOFS[name]

            def browse(http: httpx.AsyncClient, i: int, spoof: Headers = spoof) -> Any:
                return http.get("/api/v1/auctions", headers=spoof(i))

            found = await statuses(platform, peer, browse)
            if not limited_as_one(found, 200):
                failures[f"{name}, browsing"] = found
        for name, peer in outsiders().items():
            spoof = SPOOFS[name]

            def refresh(http: httpx.AsyncClient, i: int, spoof: Headers = spoof) -> Any:
                body = {"refresh_token": f"not-a-token-{i}"}
                return http.post("/api/v1/auth/refresh", json=body, headers=spoof(i))

            # Another peer per spoof: the buckets of the first round stay empty a while.
            found = await statuses(platform, peer.replace("100.", "101."), refresh)
            if not limited_as_one(found, 401):
                failures[f"{name}, refreshing"] = found
    assert not failures, f"spoofed addresses escaped the rate limits: {failures}"


async def test_through_the_ingress_only_its_x_forwarded_for_names_the_client(
    tmp_path: Path,
) -> None:
    async with gateway(tmp_path, rate_limit_per_address=LIMIT) as platform:

        def browse(http: httpx.AsyncClient, i: int) -> Any:
            # One client behind the ingress, writing other headers on every request.
            headers = {
                "X-Forwarded-For": "203.0.113.9",
                "Forwarded": f"for=10.9.{i}.1",
                "X-Real-IP": f"10.8.{i}.1",
            }
            return http.get("/api/v1/auctions", headers=headers)

        found = await statuses(platform, PROXY, browse)
    assert limited_as_one(found, 200), found
