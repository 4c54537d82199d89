"""The live feed's hub when Redis drops: the watchers stay, and catch up when it is back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest

from auction_platform.contracts.auctions import feed_channel
from auction_platform.core.cache import CacheUnavailable, RedisCache
from auction_platform.services.gateway.feed_hub import FeedHub
from support.servers import unique_name
from support.tcp_proxy import TcpProxy

PATIENCE = 30.0


def book(version: int) -> dict[str, Any]:
    return {"auction_id": "lot-1", "version": version, "price_cents": 100 * version}


async def test_watchers_catch_up_after_redis_comes_back(
    redis_proxy: TcpProxy, redis_url: str
) -> None:
    prefix = unique_name("feed_outage") + ":"
    current = {"book": book(1)}

    async def fetch(auction_id: str) -> Mapping[str, Any] | None:
        return current["book"]

    proxied = RedisCache(f"redis://127.0.0.1:{redis_proxy.port}/0", prefix=prefix, timeout=2.0)
    direct = RedisCache(redis_url, prefix=prefix, timeout=2.0)
    await proxied.start()
    await direct.start()
    hub = FeedHub(proxied, fetch=fetch, retry_first=0.05, retry_max=0.2)
    try:
        async with hub.watch("lot-1") as watcher:
            await direct.publish(feed_channel("lot-1"), json.dumps(book(2)).encode())
            update = await asyncio.wait_for(watcher.take(), timeout=PATIENCE)
            assert update is not None and update.version == 2

            await redis_proxy.cut()
            # Published while the gateway cannot hear it: only the catch-up tells.
            await direct.publish(feed_channel("lot-1"), json.dumps(book(3)).encode())
            current["book"] = book(4)
            await asyncio.sleep(0.3)
            await redis_proxy.restore()
            update = await asyncio.wait_for(watcher.take(), timeout=PATIENCE)
            assert update is not None and update.version == 4

            await direct.publish(feed_channel("lot-1"), json.dumps(book(5)).encode())
            update = await asyncio.wait_for(watcher.take(), timeout=PATIENCE)
            assert update is not None and update.version == 5
        assert hub.subscriptions == 0
    finally:
        await proxied.close()
        await direct.close()


async def test_a_watcher_is_refused_while_redis_is_out_of_reach(redis_proxy: TcpProxy) -> None:
    await redis_proxy.cut()
    cache = RedisCache(f"redis://127.0.0.1:{redis_proxy.port}/0", prefix="x:", timeout=0.5)
    await cache.start()

    async def fetch(auction_id: str) -> Mapping[str, Any] | None:
        return None

    hub = FeedHub(cache, fetch=fetch)
    try:
        with pytest.raises(CacheUnavailable):
            async with hub.watch("lot-1"):
                pass
        assert hub.subscriptions == 0
    finally:
        await cache.close()
