"""Fixtures of the integration tests: every service in this process, in both modes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from auction_platform.composition import Platform
from auction_platform.settings import Settings
from support.platforms import client, distributed_settings, embedded_settings, running
from support.tcp_proxy import TcpProxy

ALL = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")
MakeSettings = Callable[..., Settings]


@pytest.fixture(params=["embedded", "distributed"])
def make_settings(request: pytest.FixtureRequest, tmp_path: Path) -> MakeSettings:
    """Settings on SQLite and memory backends, or on PostgreSQL and Redis.

    Lots may be as short as a second and remind one minute before the end, so
    the scheduler's work shows within a test's patience.
    """
    servers: dict[str, str] = {}
    if request.param == "distributed":
        servers["postgres_url"] = request.getfixturevalue("postgres_url")
        servers["redis_url"] = request.getfixturevalue("redis_url")

    def make(**overrides: Any) -> Settings:
        values = {"auction_min_duration_seconds": 1, "ending_soon_minutes": [1], **overrides}
        if not servers:
            return embedded_settings(tmp_path, **values)
        return distributed_settings(**servers, rabbitmq_url="memory://", **values)

    return make


@pytest.fixture
async def platform(make_settings: MakeSettings) -> AsyncIterator[Platform]:
    """Every service in this process, on the chosen backends."""
    async with running(make_settings(), ALL, embedded=True) as started:
        yield started


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway."""
    async with client(platform.apps["gateway"]) as gateway:
        yield gateway


@pytest.fixture
async def redis_proxy() -> AsyncIterator[TcpProxy]:
    """The test Redis reached through a proxy the test can cut (``redis://127.0.0.1:<port>``)."""
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.cut()


@pytest.fixture
async def proxied_postgres(postgres_url: str) -> AsyncIterator[tuple[str, TcpProxy]]:
    """The test database reached through a proxy the test can cut."""
    parts = urlsplit(postgres_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
    try:
        yield urlunsplit(parts._replace(netloc=netloc)), proxy
    finally:
        await proxy.cut()
