"""The live feed: a watcher sees every committed price, in order, over a WebSocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from auction_platform.composition import Platform
from auction_platform.settings import Settings
from support.accounts import Account, sign_up_all
from support.auctions import admin_token, open_lot, seller
from support.books import auction_rules, open_book
from support.http_server import serving
from support.platforms import client, distributed_settings, embedded_settings, running
from support.waiting import PATIENCE, eventually

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
                        json={"max_amount_cents": cents},
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


async def test_an_id_no_auction_can_have_is_refused_before_the_feed_opens(
    tmp_path: Path,
) -> None:
    async with (
        running(embedded_settings(tmp_path), ALL, embedded=True) as platform,
        serving(platform.apps["gateway"]) as url,
    ):
        base = url.replace("http://", "ws://")
        for bad in ("no.such.id", "x" * 65, "%20"):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(f"{base}/ws/auctions/{bad}"):
                    pass
            assert refused.value.response.status_code == 403
        # Other WebSocket paths are not the feed's: the framework refuses them.
        with pytest.raises(InvalidStatus):
            async with connect(f"{base}/ws/auctions/abc/more"):
                pass


# --- every change of a book reaches its watchers -------------------------------------------


@asynccontextmanager
async def watching(platform: Platform, auction_id: str) -> AsyncIterator[ClientConnection]:
    """A watcher's WebSocket on the auction's live feed."""
    async with serving(platform.apps["gateway"]) as url:
        ws_url = url.replace("http://", "ws://") + f"/ws/auctions/{auction_id}"
        async with connect(ws_url) as feed:
            yield feed


async def next_update(feed: ClientConnection) -> dict[str, Any]:
    update: dict[str, Any] = json.loads(await asyncio.wait_for(feed.recv(), timeout=PATIENCE))
    return update


async def fresh(http: httpx.AsyncClient, auction_id: str, *, at: str) -> dict[str, Any]:
    """The book as a reader who asks now sees it (with the update's ``server_time``)."""
    book: dict[str, Any] = (await http.get(f"/api/v1/auctions/{auction_id}/book")).json()
    return {**book, "server_time": at}


async def act(
    http: httpx.AsyncClient, auction_id: str, path: str, who: Account, body: dict[str, Any]
) -> None:
    response = await http.post(
        f"/api/v1/auctions/{auction_id}/{path}", json=body, headers=who.headers
    )
    assert response.status_code in (200, 201), response.text


async def test_a_retraction_reaches_watchers_and_the_next_bid_follows_it(
    settings: Settings,
) -> None:
    async with (
        running(settings, ALL, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        seller, ann, bob, cy = await sign_up_all(http, "Sam", "Ann", "Bob", "Cy")
        rules = auction_rules(seller.id, start_cents=100, lasts=timedelta(days=2))
        auction = await open_book(platform, rules)
        async with watching(platform, auction) as feed:
            versions = [(await next_update(feed))["version"]]
            seen = []
            for path, who, body in (
                ("bids", ann, {"max_amount_cents": 1000}),
                ("bids", bob, {"max_amount_cents": 3100}),
                ("retractions", bob, {"seq": 2}),  # no ledger row: seq stays 2
                ("bids", cy, {"max_amount_cents": 500}),
            ):
                await act(http, auction, path, who, body)
                update = await next_update(feed)
                assert update == await fresh(http, auction, at=update["server_time"])
                versions.append(update["version"])
                seen.append((update["price_cents"], update["leader"], update["seq"]))
        ann_name, bob_name = seen[0][1], seen[1][1]
        assert ann_name != bob_name
        assert seen == [
            (100, ann_name, 1),
            (1050, bob_name, 2),
            (100, ann_name, 2),  # the price falls back; Ann leads again
            (550, ann_name, 3),
        ]
        assert versions == sorted(set(versions))


async def test_an_extension_buy_now_and_the_close_reach_watchers(settings: Settings) -> None:
    async with (
        running(settings, ALL, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        seller, ann = await sign_up_all(http, "Sam", "Ann")
        soft = {"window_seconds": 120, "extend_seconds": 60, "max_extensions": 10}
        rules = auction_rules(seller.id, lasts=timedelta(seconds=60), soft_close=soft)
        extended = await open_book(platform, rules)
        async with watching(platform, extended) as feed:
            before = await next_update(feed)
            await act(http, extended, "bids", ann, {"max_amount_cents": 300})
            update = await next_update(feed)
            assert update["ends_at"] > before["ends_at"]
            assert update == await fresh(http, extended, at=update["server_time"])

        bought = await open_book(platform, auction_rules(seller.id, buy_now_cents=5_000))
        async with watching(platform, bought) as feed:
            await next_update(feed)
            await act(http, bought, "buy-now", ann, {})
            update = await next_update(feed)
            assert (update["status"], update["price_cents"]) == ("closed", 5_000)
            assert update == await fresh(http, bought, at=update["server_time"])

        ending = await open_book(platform, auction_rules(seller.id, lasts=timedelta(seconds=4)))
        async with watching(platform, ending) as feed:
            before = await next_update(feed)
            assert before["status"] == "open"
            update = await next_update(feed)  # the closer's, at the end
            assert update["status"] == "closed"
            assert update["version"] > before["version"]
            assert update["seq"] == before["seq"]
            assert update == await fresh(http, ending, at=update["server_time"])


async def test_a_cancel_reaches_watchers(settings: Settings) -> None:
    async with (
        running(settings, ALL, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        owner = await seller(http)
        (ann,) = await sign_up_all(http, "Ann")
        lot = await open_lot(http, owner, reserve_cents=None, buy_now_cents=None)

        async def book_opened() -> bool:  # on AuctionOpened, which may come a little later
            return (await http.get(f"/api/v1/auctions/{lot['id']}/book")).status_code == 200

        await eventually(book_opened)
        async with watching(platform, lot["id"]) as feed:
            await next_update(feed)
            await act(http, lot["id"], "bids", ann, {"max_amount_cents": 20_000})
            placed = await next_update(feed)
            # An admin withdraws the lot after its first bid: the auction service
            # cancels the book, and the watcher sees it.
            admin = await admin_token(http, platform)
            cancelled = await http.post(f"/api/v1/auctions/{lot['id']}/cancel", headers=admin)
            assert cancelled.status_code == 200, cancelled.text
            update = await next_update(feed)
            assert update["status"] == "cancelled"
            assert update["version"] > placed["version"]
            assert update == await fresh(http, lot["id"], at=update["server_time"])
