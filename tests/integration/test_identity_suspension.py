"""Suspension of an account through the gateway, on the embedded and the real backends.

From the admin's answer on, the account's live tokens are refused by every service,
it cannot sign in nor refresh, its listings are cancelled and its leads retracted;
reinstated, or once its end has passed, it signs in again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from auction_platform.composition import Platform
from auction_platform.settings import Settings
from support.accounts import PASSWORD, Account, sign_up
from support.auctions import admin_token, lot_body, open_lot, place_bid, seller
from support.platforms import client, distributed_settings, embedded_settings, running
from support.waiting import eventually

ALL = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")


@pytest.fixture(params=["embedded", "distributed"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """SQLite and memory backends, or PostgreSQL and Redis."""
    if request.param == "embedded":
        return embedded_settings(tmp_path)
    return distributed_settings(
        postgres_url=request.getfixturevalue("postgres_url"),
        redis_url=request.getfixturevalue("redis_url"),
        rabbitmq_url="memory://",
    )


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    async with running(settings, ALL, embedded=True) as started:
        yield started


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with client(platform.apps["gateway"]) as gateway:
        yield gateway


def code_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def sign_in(http: httpx.AsyncClient, email: str) -> httpx.Response:
    return await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})


async def suspend(
    http: httpx.AsyncClient, admin: dict[str, str], user_id: str, **body: Any
) -> httpx.Response:
    return await http.post(
        f"/api/v1/users/{user_id}/suspension",
        json={"reason": "Shill bidding", **body},
        headers=admin,
    )


async def standing(http: httpx.AsyncClient, lot_id: str, bidder: Account) -> dict[str, Any]:
    """Whether ``bidder`` leads the lot's book (and at what price, when leading)."""
    answer = (await http.get(f"/api/v1/auctions/{lot_id}/book", headers=bidder.headers)).json()
    leading = bool(answer["you"]["leading"])
    return {"leading": True, "price": answer["price_cents"]} if leading else {"leading": False}


async def test_a_suspended_bidders_live_token_is_refused_everywhere_within_a_second(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_token(http, platform)
    sam = await seller(http, "Sam")
    bea = await seller(http, "Bea")
    lot = await open_lot(http, sam)
    await place_bid(http, lot["id"], bea, 20_000)

    answer = await suspend(http, admin, bea.id)
    assert answer.status_code == 201, answer.text
    assert answer.json()["suspension"]["in_force"] is True

    async def refused() -> bool:
        bid = await http.post(
            f"/api/v1/auctions/{lot['id']}/bids",
            json={"max_amount_cents": 30_000},
            headers=bea.headers,
        )
        listing = await http.post("/api/v1/auctions", json=lot_body(), headers=bea.headers)
        payment = await http.get("/api/v1/orders", headers=bea.headers)
        return all(
            code_of(r) in {(403, "account_suspended"), (401, "account_suspended")}
            for r in (bid, listing, payment)
        )

    await eventually(refused, timeout=1.0, interval=0.05)
    # Each service refuses it when asked directly, too.
    for name, path in {"auction": "/api/v1/watchlist", "payment": "/api/v1/orders"}.items():
        async with client(platform.apps[name]) as service:
            direct = await service.get(path, headers=bea.headers)
        assert code_of(direct) == (403, "account_suspended"), name


async def test_a_suspension_refuses_sign_in_and_refresh_cancels_listings_and_retracts_leads(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_token(http, platform)
    sam = await seller(http, "Sam")
    bea = await seller(http, "Bea")
    carl = await sign_up(http, name="Carl")
    sams = await open_lot(http, sam)
    beas = await open_lot(http, bea)
    await place_bid(http, sams["id"], carl, 12_000)
    await place_bid(http, sams["id"], bea, 20_000)
    await place_bid(http, beas["id"], carl, 11_000)
    assert await standing(http, sams["id"], carl) == {"leading": False}

    until = datetime.now(UTC) + timedelta(days=7)
    answer = await suspend(http, admin, bea.id, until=until.isoformat())
    assert answer.status_code == 201, answer.text

    refused = await sign_in(http, bea.email)
    assert code_of(refused) == (403, "account_suspended")
    assert datetime.fromisoformat(refused.json()["error"]["details"]["until"]) == until
    renewed = await http.post("/api/v1/auth/refresh", json={"refresh_token": bea.refresh_token})
    assert code_of(renewed) == (403, "account_suspended")

    async def cancelled() -> bool:
        lot = (await http.get(f"/api/v1/auctions/{beas['id']}", headers=admin)).json()
        return bool(lot["auction"]["status"] == "cancelled")

    await eventually(cancelled)

    # Bea's lead is retracted, the book replayed: Carl leads at the start price.
    async def carl_leads() -> bool:
        return await standing(http, sams["id"], carl) == {"leading": True, "price": 10_000}

    await eventually(carl_leads)
    history = (await http.get(f"/api/v1/auctions/{sams['id']}/bids")).json()["bids"]
    assert [b["retracted"] for b in history] == [False, True]

    listed = await http.get("/api/v1/users", params={"q": bea.email}, headers=admin)
    assert listed.json()["items"][0]["suspended"] is True

    # Reinstated: sign-in works; the cancelled listing stays cancelled.
    lifted = await http.delete(f"/api/v1/users/{bea.id}/suspension", headers=admin)
    assert lifted.status_code == 204, lifted.text
    assert (await sign_in(http, bea.email)).status_code == 200
    again = await http.post("/api/v1/auth/refresh", json={"refresh_token": bea.refresh_token})
    assert again.status_code == 200, again.text
    lot = (await http.get(f"/api/v1/auctions/{beas['id']}", headers=admin)).json()
    assert lot["auction"]["status"] == "cancelled"
    twice = await http.delete(f"/api/v1/users/{bea.id}/suspension", headers=admin)
    assert code_of(twice) == (409, "not_suspended")


async def test_a_suspension_with_an_end_lapses_by_itself(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_token(http, platform)
    ann = await sign_up(http)
    until = datetime.now(UTC) + timedelta(seconds=2)
    assert (await suspend(http, admin, ann.id, until=until.isoformat())).status_code == 201
    assert code_of(await sign_in(http, ann.email)) == (403, "account_suspended")
    await asyncio.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.2)
    assert (await sign_in(http, ann.email)).status_code == 200
    shown = await http.get(f"/api/v1/users/{ann.id}/suspension", headers=admin)
    assert shown.json()["suspension"]["in_force"] is False


async def test_what_may_not_be_suspended_is_refused_with_a_code(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_token(http, platform)
    me = (await http.get("/api/v1/users/me", headers=admin)).json()["user"]["id"]
    ann = await sign_up(http)
    assert code_of(await suspend(http, admin, me)) == (409, "cannot_suspend_self")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert code_of(await suspend(http, admin, ann.id, until=past)) == (
        422,
        "invalid_suspension_end",
    )
    assert code_of(await suspend(http, admin, ann.id, reason=" ")) == (422, "invalid_reason")
    assert code_of(await suspend(http, admin, ann.id, reason="x" * 501)) == (422, "invalid_reason")
    # Only admins.
    refused = await http.post(
        f"/api/v1/users/{me}/suspension", json={"reason": "x"}, headers=ann.headers
    )
    assert code_of(refused) == (403, "forbidden")
    assert (await suspend(http, admin, ann.id)).status_code == 201
    assert code_of(await suspend(http, admin, ann.id)) == (409, "already_suspended")
    assert code_of(await suspend(http, admin, "nobody")) == (404, "user_not_found")
