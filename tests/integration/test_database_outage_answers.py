"""A database that refuses or drops connections is a 503 with Retry-After, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from support.accounts import PASSWORD, sign_up
from support.platforms import client, distributed_settings, running
from support.tcp_proxy import TcpProxy


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


async def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"]
    assert response.json()["error"]["code"] in ("dependency_unavailable", "pool_exhausted")


async def test_connections_dropped_or_refused_answer_503(
    proxied_postgres: tuple[str, TcpProxy], redis_url: str
) -> None:
    url, proxy = proxied_postgres
    settings = distributed_settings(
        postgres_url=url,
        redis_url=redis_url,
        rabbitmq_url="memory://",
        db_pool_size=2,
        dependency_timeout=1.0,
        db_pool_timeout=1.0,
    )
    async with (
        running(settings, ["identity"]) as platform,
        client(platform.apps["identity"]) as http,
    ):
        ann = await sign_up(http, name="Ann")
        assert (await http.get("/api/v1/users/me", headers=ann.headers)).status_code == 200

        # The pooled connections are dropped under the service, mid-conversation.
        await proxy.cut()
        await _assert_unavailable(await http.get("/api/v1/users/me", headers=ann.headers))
        login = {"email": ann.email, "password": PASSWORD}
        await _assert_unavailable(await http.post("/api/v1/auth/login", json=login))

        # Back again: the same requests succeed.
        await proxy.start()
        assert (await http.get("/api/v1/users/me", headers=ann.headers)).status_code == 200
