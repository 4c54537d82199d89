"""The live feed: a watcher sees every committed price, in order, over a WebSocket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from auction_platform.settings import Settings
from support.accounts import sign_up_all
from support.books import auction_rules, open_book
from support.http_server import serving
from support.platforms import client, distributed_settings, embedded_settings, running
from support.waiting import PATIENCE

ALL = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")


@pytest.fixture(params=["embedded", "distributed"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "embedded":
        return embedded_settings(tmp_path)
    return distributed_settings(
        postgres_url=request.getfixturevalue("postgres_url"),
        redis_url=request.getfixturevalue("redis_url"),
        rabbitmq_url="memory://",
    )


async def test_a_watcher_sees_each_price_after_its_commit(settings: Settings) -> None:
    async with (
        running(settings, ALL, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        seller, ann, bob = await sign_up_all(http, "Sam", "Ann", "Bob")
        auction = await open_book(platform, auction_rules(seller.id, start_cents=100))
        async with serving(platform.apps["gateway"]) as url:
            ws_url = url.replace("http://", "ws://") + f"/ws/auctions/{auction}"
            async with connect(ws_url) as feed:
                snapshot = json.loads(await feed.recv())
                assert snapshot["price_cents"] == 100
                assert snapshot["bid_count"] == 0
                assert "server_time" in snapshot
                prices = []
                for who, cents in ((ann, 150), (bob, 300), (ann, 1000)):
                    response = await http.post(
                        f"/api/v1/auctions/{auction}/bids",
                        json={"max_amount": cents},
                        headers=who.headers,
                    )
                    assert response.status_code == 201
                    update: dict[str, Any] = json.loads(
                        await asyncio.wait_for(feed.recv(), timeout=PATIENCE)
                    )
                    prices.append(update["price_cents"])
                    assert update["leader"].startswith("bidder-")
                    assert ann.id not in json.dumps(update)
                assert prices == [100, 175, 325]
                assert update["bid_count"] == 3


async def test_an_unknown_auction_closes_the_feed(tmp_path: Path) -> None:
    async with (
        running(embedded_settings(tmp_path), ALL, embedded=True) as platform,
        serving(platform.apps["gateway"]) as url,
        connect(url.replace("http://", "ws://") + "/ws/auctions/nope") as feed,
    ):
        await feed.wait_closed()
        assert feed.close_code == 4404
