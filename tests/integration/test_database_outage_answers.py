"""A database that refuses or drops connections is a 503 with Retry-After, never a 500."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from support.accounts import PASSWORD, sign_up
from support.platforms import client, distributed_settings, running
from support.tcp_proxy import TcpProxy
from support.waiting import eventually


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


async def test_a_connection_dropped_mid_transaction_answers_503(
    proxied_postgres: tuple[str, TcpProxy], postgres_url: str, redis_url: str
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
    holder = create_async_engine(postgres_url)  # straight to the server, not through the proxy
    try:
        async with (
            running(settings, ["identity"]) as platform,
            client(platform.apps["identity"]) as http,
        ):
            ann = await sign_up(http, name="Ann")
            async with holder.begin() as lock:
                # Ann's row is held elsewhere: her profile change waits inside its transaction.
                await lock.execute(
                    text("SELECT 1 FROM identity_users WHERE id = :id FOR UPDATE"), {"id": ann.id}
                )
                change = asyncio.create_task(
                    http.patch("/api/v1/users/me", json={"display_name": "A"}, headers=ann.headers)
                )

                async def waiting_on_the_lock() -> bool:
                    # A transaction of its own each time: the view is a snapshot per transaction.
                    async with holder.connect() as probe:
                        rows = await probe.execute(
                            text(
                                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                                "'Lock' AND datname = current_database()"
                            )
                        )
                        return bool(rows.scalar())

                await eventually(waiting_on_the_lock)
                # The connection drops mid-transaction: "connection was closed in the middle
                # of operation".
                await proxy.cut()
                await _assert_unavailable(await asyncio.wait_for(change, 30))
            await proxy.start()
            changed = await http.patch(
                "/api/v1/users/me", json={"display_name": "Ann B"}, headers=ann.headers
            )
            assert changed.status_code == 200, changed.text
    finally:
        await holder.dispose()
