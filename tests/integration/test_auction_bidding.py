"""Auction and bidding together: a lot opens, is bid on, closes, and is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from auction_platform.composition import Platform
from support.accounts import sign_up
from support.auctions import admin_token, create, open_lot, seller
from support.waiting import eventually


async def lot(http: httpx.AsyncClient, auction_id: str) -> dict[str, Any]:
    response = await http.get(f"/api/v1/auctions/{auction_id}")
    auction: dict[str, Any] = response.json()["auction"]
    return auction


async def test_a_lot_opens_takes_bids_closes_and_is_recorded_sold(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, ann, bob = (
        await seller(http),
        await sign_up(http, name="Ann"),
        await sign_up(http, name="Bob"),
    )
    start = datetime.now(UTC) + timedelta(seconds=1)
    listed = await create(
        http,
        sam,
        publish=True,
        reserve_cents=None,
        buy_now_cents=None,
        start_cents=1000,
        soft_close=None,
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(seconds=4)).isoformat(),
    )
    auction = listed["id"]

    async def opened() -> bool:
        return (await lot(http, auction))["status"] == "open"

    await eventually(opened)
    for who, cents in ((ann, 1500), (bob, 2000)):
        response = await http.post(
            f"/api/v1/auctions/{auction}/bids",
            json={"max_amount_cents": cents},
            headers=who.headers,
        )
        assert response.status_code == 201, response.text

    async def priced() -> bool:
        return (await lot(http, auction))["current_price_cents"] == 1550

    await eventually(priced)

    async def closed() -> dict[str, Any]:
        found = await http.get(f"/api/v1/auctions/{auction}", headers=sam.headers)
        body: dict[str, Any] = found.json()["auction"]
        return body if body["status"] == "closed" else {}

    result = await eventually(closed)
    assert result["outcome"] == "sold"
    assert result["winner_id"] == bob.id
    assert result["final_price_cents"] == 1550


async def test_the_seller_cannot_cancel_after_a_bid_an_admin_can(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, ann = await seller(http), await sign_up(http, name="Ann")
    auction = (await open_lot(http, sam, reserve_cents=None, buy_now_cents=None))["id"]
    placed = await http.post(
        f"/api/v1/auctions/{auction}/bids", json={"max_amount_cents": 20_000}, headers=ann.headers
    )
    assert placed.status_code == 201
    refused = await http.post(f"/api/v1/auctions/{auction}/cancel", headers=sam.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "has_bids"
    cancelled = await http.post(
        f"/api/v1/auctions/{auction}/cancel", headers=await admin_token(http, platform)
    )
    assert cancelled.status_code == 200, cancelled.text
    late = await http.post(
        f"/api/v1/auctions/{auction}/bids", json={"max_amount_cents": 30_000}, headers=ann.headers
    )
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "auction_cancelled"


async def test_a_seller_cancels_an_open_lot_without_bids(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, ann = await seller(http), await sign_up(http, name="Ann")
    auction = (await open_lot(http, sam, reserve_cents=None, buy_now_cents=None))["id"]
    cancelled = await http.post(f"/api/v1/auctions/{auction}/cancel", headers=sam.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert (await lot(http, auction))["status"] == "cancelled"
    late = await http.post(
        f"/api/v1/auctions/{auction}/bids", json={"max_amount_cents": 30_000}, headers=ann.headers
    )
    assert late.status_code == 409
