"""Whose address a request is counted under, and who may read the operators' endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx

from auction_platform.composition import Platform
from conftest import ALL, MakeSettings
from support.platforms import running

PROXY = "10.0.0.2"  # the ingress in front of the gateway
OUTSIDER = "198.51.100.7"
FAILURES_PER_ADDRESS = 3


@asynccontextmanager
async def gateway_of(make_settings: MakeSettings) -> AsyncIterator[Platform]:
    settings = make_settings(
        trusted_proxies=["10.0.0.0/24"],
        internal_networks=["10.1.0.0/16"],
        login_failures_per_address=FAILURES_PER_ADDRESS,
    )
    async with running(settings, ALL, embedded=True) as platform:
        yield platform


def from_peer(platform: Platform, host: str) -> httpx.AsyncClient:
    """A client of the gateway whose connection comes from ``host``."""
    transport = httpx.ASGITransport(
        app=platform.apps["gateway"], raise_app_exceptions=False, client=(host, 40_000)
    )
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def wrong_logins(http: httpx.AsyncClient, forwarded_for: Callable[[int], str]) -> list[int]:
    """Eight failed sign-ins, each on its own email, each with its own forwarded address."""
    statuses = []
    for i in range(8):
        response = await http.post(
            "/api/v1/auth/login",
            json={"email": f"nobody-{i}@example.com", "password": "not-the-password"},
            headers={"X-Forwarded-For": forwarded_for(i)},
        )
        statuses.append(response.status_code)
    return statuses


async def test_a_client_cannot_choose_the_address_it_is_limited_under(
    make_settings: MakeSettings,
) -> None:
    async with gateway_of(make_settings) as platform, from_peer(platform, OUTSIDER) as http:
        statuses = await wrong_logins(http, lambda i: f"10.9.{i}.1")
    # Every attempt counts against the connection's own address.
    assert statuses[:FAILURES_PER_ADDRESS] == [401] * FAILURES_PER_ADDRESS
    assert set(statuses[FAILURES_PER_ADDRESS:]) == {429}


async def test_a_trusted_proxy_names_the_client(make_settings: MakeSettings) -> None:
    async with gateway_of(make_settings) as platform, from_peer(platform, PROXY) as http:
        # The proxy appended the address it saw; what the client wrote before it is not
        # believed, so one client is one address whatever it writes.
        spread = await wrong_logins(http, lambda i: f"10.9.{i}.1, 203.0.113.{i}")
        one_client = await wrong_logins(http, lambda i: f"10.9.{i}.1, 203.0.113.99")
    assert spread == [401] * 8
    assert one_client[:FAILURES_PER_ADDRESS] == [401] * FAILURES_PER_ADDRESS
    assert set(one_client[FAILURES_PER_ADDRESS:]) == {429}


async def test_metrics_and_health_detail_answer_only_inside(make_settings: MakeSettings) -> None:
    async with gateway_of(make_settings) as platform:
        for host, forwarded, status in (
            ("127.0.0.1", None, 200),  # kubectl exec ... curl localhost:8080
            ("10.1.4.5", None, 200),  # Prometheus
            (OUTSIDER, None, 404),
            (OUTSIDER, "10.1.4.5", 404),  # not believed from an outsider
            (PROXY, OUTSIDER, 404),  # a visitor through the ingress
        ):
            headers = {"X-Forwarded-For": forwarded} if forwarded else {}
            async with from_peer(platform, host) as http:
                for path in ("/metrics", "/health/detail"):
                    response = await http.get(path, headers=headers)
                    assert response.status_code == status, (host, forwarded, path)
                    if status == 404:
                        assert response.json()["error"]["code"] == "not_found"
                # What anyone may ask stays open: the deploy check and the probes.
                for path in ("/health", "/health/live", "/health/ready"):
                    assert (await http.get(path)).status_code == 200, (host, path)
