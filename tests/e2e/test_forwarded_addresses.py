"""A client cannot choose the address it is limited under, served as in production.

The served processes resolve the client themselves: ``X-Forwarded-For`` is believed
only from ``TRUSTED_PROXIES``. The gateway (the edge here, trusting nobody) names the
client it saw to the services behind it, which trust the gateway's address.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from test_distributed_services import distributed_env

from support.http_server import free_port
from support.processes import child_env, run_command, started

FAILURES_PER_ADDRESS = 3


async def spoofed_wrong_logins(url: str) -> list[int]:
    """Eight failed sign-ins on eight emails, each claiming its own address."""
    statuses = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for i in range(8):
            response = await http.post(
                "/api/v1/auth/login",
                json={"email": f"nobody-{i}@example.com", "password": "not-the-password"},
                headers={"X-Forwarded-For": f"10.9.{i}.1"},
            )
            statuses.append(response.status_code)
    return statuses


def limited_as_one(statuses: list[int]) -> bool:
    return statuses[:FAILURES_PER_ADDRESS] == [401] * FAILURES_PER_ADDRESS and set(
        statuses[FAILURES_PER_ADDRESS:]
    ) == {429}


async def test_up_limits_a_spoofing_client_under_its_own_address(tmp_path: Path) -> None:
    env = child_env(LOGIN_FAILURES_PER_ADDRESS=str(FAILURES_PER_ADDRESS))
    data = str(tmp_path / "data")
    async with started("up", "--data-dir", data, port=free_port(), env=env, cwd=tmp_path) as up:
        statuses = await spoofed_wrong_logins(up.url)
    assert limited_as_one(statuses), statuses


@contextlib.asynccontextmanager
async def gateway_and_identity(env: dict[str, str], *, gateway_trusts: str) -> AsyncIterator[str]:
    """Identity and a gateway in front of it, one process each; the gateway's URL."""
    ports = {"identity": free_port(), "gateway": free_port()}
    env = {**env, "IDENTITY_URL": f"http://127.0.0.1:{ports['identity']}"}
    async with (
        # Identity believes the gateway (here on the loopback), and only it.
        started("serve", "identity", port=ports["identity"], env=env),
        started(
            "serve",
            "gateway",
            port=ports["gateway"],
            env={**env, "TRUSTED_PROXIES": gateway_trusts},
        ) as gateway,
    ):
        yield gateway.url


async def test_served_services_count_the_client_the_gateway_resolved(
    postgres_url: str, redis_url: str
) -> None:
    # No event matters here: each process keeps its own in-process broker.
    env = distributed_env(
        postgres_url,
        redis_url,
        "memory://",
        TRUSTED_PROXIES="127.0.0.1",
        LOGIN_FAILURES_PER_ADDRESS=str(FAILURES_PER_ADDRESS),
    )
    await run_command("migrate", "--service", "identity", env=env)
    # The gateway is the edge: every attempt is the connection's, and identity (which
    # throttles sign-ins by address) is told so.
    async with gateway_and_identity(env, gateway_trusts="") as url:
        assert limited_as_one(await spoofed_wrong_logins(url))
    # Behind a trusted proxy, the gateway names the client the proxy saw, and identity
    # counts each one apart.
    async with gateway_and_identity(env, gateway_trusts="127.0.0.1") as url:
        assert await spoofed_wrong_logins(url) == [401] * 8
