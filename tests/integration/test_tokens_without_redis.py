"""Signed-in traffic goes on while Redis is away, with its tokens still checked (issue 15, item 5).

Every process holds the token marks (revocations, role changes) in memory, fed by
Redis' pub/sub and read again in full when it reconnects; the gateway's rate limits
fall back to buckets of its own. The platform under test reaches Redis through a
proxy the test cuts; another identity replica, on the same databases and cache, still
reaches it, as a replica on another node would.
"""

from __future__ import annotations

import httpx

from auction_platform.composition import Platform
from auction_platform.settings import Settings
from support.accounts import Account, sign_up
from support.platforms import client, distributed_settings, running
from support.tcp_proxy import TcpProxy
from support.waiting import eventually

ALL = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")


def settings_through(proxy: TcpProxy, postgres_url: str, **overrides: int) -> Settings:
    return distributed_settings(
        postgres_url=postgres_url,
        redis_url=f"redis://127.0.0.1:{proxy.port}/0",
        rabbitmq_url="memory://",
        **overrides,
    )


async def me(http: httpx.AsyncClient, account: Account) -> httpx.Response:
    return await http.get("/api/v1/users/me", headers=account.headers)


async def cut_off(proxy: TcpProxy, platform: Platform) -> None:
    """Cut Redis off, and wait until the platform has noticed."""
    await proxy.cut()
    revocations = platform.revocations
    assert revocations is not None

    async def noticed() -> bool:
        return not revocations.following

    await eventually(noticed)


async def test_signed_in_requests_go_on_and_revocations_hold_while_redis_is_away(
    redis_proxy: TcpProxy, postgres_url: str, redis_url: str
) -> None:
    settings = settings_through(redis_proxy, postgres_url)
    replica_settings = settings.model_copy(update={"redis_url": redis_url})
    async with (
        running(settings, ALL, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        ann, bob, mallory = [await sign_up(http, name=name) for name in ("Ann", "Bob", "Mal")]
        signed_out = await http.post(
            "/api/v1/auth/logout",
            json={"refresh_token": mallory.refresh_token},
            headers=mallory.headers,
        )
        assert signed_out.status_code == 204, signed_out.text

        await cut_off(redis_proxy, platform)

        # A signed-in request still succeeds through the gateway, in every area...
        assert (await me(http, ann)).status_code == 200
        for path in ("/api/v1/orders", "/api/v1/bids", "/api/v1/watchlist"):
            answer = await http.get(path, headers=ann.headers)
            assert answer.status_code == 200, (path, answer.text)
        # ...and a token revoked before the cut is still refused.
        refused = await me(http, mallory)
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "token_revoked")

        # Bob signs out at another identity replica, which still reaches Redis.
        async with (
            running(replica_settings, ["identity"], embedded=True) as replica,
            client(replica.apps["identity"]) as identity,
        ):
            signed_out = await identity.post("/api/v1/auth/logout", json={}, headers=bob.headers)
            assert signed_out.status_code == 204, signed_out.text
        # Cut off from Redis, this platform cannot know yet (at most until the token expires).
        assert (await me(http, bob)).status_code == 200

        await redis_proxy.start()

        # Once Redis answers again the marks are read in full, and the revocation holds
        # here from then on.
        revocations = platform.revocations
        assert revocations is not None

        async def following() -> bool:
            return revocations.following

        await eventually(following)
        refused = await me(http, bob)
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "token_revoked")
        assert (await me(http, ann)).status_code == 200


async def test_rate_limits_hold_per_process_while_redis_is_away(
    redis_proxy: TcpProxy, postgres_url: str
) -> None:
    settings = settings_through(
        redis_proxy, postgres_url, rate_limit_per_user=3, rate_limit_window_seconds=600
    )
    async with (
        running(settings, ALL, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        # Signing in needs Redis (its throttles never fail open): before the cut.
        ann, bob = await sign_up(http, name="Ann"), await sign_up(http, name="Bob")
        await cut_off(redis_proxy, platform)

        answers = [(await me(http, ann)).status_code for _ in range(3)]
        limited = await me(http, ann)

        assert answers == [200, 200, 200]
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) > 0
        # Another caller has a bucket of its own.
        assert (await me(http, bob)).status_code == 200
