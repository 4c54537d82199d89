"""Sellers and lots through the public API, as a client would."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from auction_platform.composition import Platform
from auction_platform.services.auction.listing import DEFAULT_INCREMENTS, Terms
from auction_platform.services.auction.store import TABLES
from auction_platform.services.identity import handlers as identity_handlers
from auction_platform.services.identity.domain import CreateAdmin
from support.accounts import PASSWORD, Account, log_in, sign_up
from support.waiting import eventually


async def seller(http: httpx.AsyncClient, name: str = "Sam") -> Account:
    """A new account with the seller role in its token."""
    account = await sign_up(http, name=name)
    granted = await http.post("/api/v1/users/me/seller", headers=account.headers)
    assert granted.status_code == 200, granted.text
    account.access_token = (await log_in(http, account.email))["access_token"]
    return account


def plain_terms(starts_at: datetime, ends_at: datetime, **overrides: Any) -> Terms:
    """The terms of a plain lot (no reserve, no Buy It Now), for the use cases directly."""
    terms = Terms(
        title="A plain lot",
        description="",
        category="misc",
        images=(),
        currency="EUR",
        start_cents=100,
        reserve_cents=None,
        buy_now_cents=None,
        increments=DEFAULT_INCREMENTS,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    return replace(terms, **overrides)


def lot_body(**overrides: Any) -> dict[str, Any]:
    """A valid listing, starting in an hour and running two days."""
    start = datetime.now(UTC) + timedelta(hours=1)
    body: dict[str, Any] = {
        "title": "A 1960s Leica M3",
        "description": "Works; light meter included.",
        "category": "cameras",
        "images": ["https://images.example.com/leica.jpg"],
        "currency": "EUR",
        "start_cents": 10_000,
        "reserve_cents": 50_000,
        "buy_now_cents": 90_000,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=2)).isoformat(),
    }
    body.update(overrides)
    return body


async def create(http: httpx.AsyncClient, owner: Account, **overrides: Any) -> dict[str, Any]:
    """List a lot; its answer."""
    response = await http.post(
        "/api/v1/auctions", json=lot_body(**overrides), headers=owner.headers
    )
    assert response.status_code == 201, response.text
    auction: dict[str, Any] = response.json()["auction"]
    return auction


async def open_lot(
    http: httpx.AsyncClient, owner: Account, *, with_book: bool = True, **overrides: Any
) -> dict[str, Any]:
    """A lot that starts in a second; returned once it is open and its bid book made.

    On a loaded machine the listing may reach the service after that second has
    passed: refused as ``start_in_past``, it is listed again to start a little later.
    """
    for lead in (1, 5, 15):
        start = datetime.now(UTC) + timedelta(seconds=lead)
        times = {
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
        }
        body = lot_body(publish=True, **{**times, **overrides})
        response = await http.post("/api/v1/auctions", json=body, headers=owner.headers)
        if response.status_code != 422 or response.json()["error"]["code"] != "start_in_past":
            break
    assert response.status_code == 201, response.text
    lot: dict[str, Any] = response.json()["auction"]

    async def opened() -> dict[str, Any]:
        auction: dict[str, Any] = (await http.get(f"/api/v1/auctions/{lot['id']}")).json()[
            "auction"
        ]
        if auction["status"] != "open":
            return {}
        if not with_book:  # a platform without the bidding service
            return auction
        # The bid book is made when bidding consumes AuctionOpened, a moment later.
        book = await http.get(f"/api/v1/auctions/{lot['id']}/book")
        return auction if book.status_code == 200 else {}

    return await eventually(opened)


async def unsold_lot(http: httpx.AsyncClient, owner: Account, **overrides: Any) -> dict[str, Any]:
    """A lot listed to start now and run two seconds, returned once it ended without a bid.

    The platform must allow lots that short (``auction_min_duration_seconds``).
    """
    body = lot_body(publish=True, duration_seconds=2, **overrides)
    del body["starts_at"], body["ends_at"]
    response = await http.post("/api/v1/auctions", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    path = f"/api/v1/auctions/{response.json()['auction']['id']}"

    async def ended() -> dict[str, Any]:
        lot: dict[str, Any] = (await http.get(path, headers=owner.headers)).json()["auction"]
        return lot if lot["status"] == "closed" else {}

    lot = await eventually(ended)
    assert lot["outcome"] == "unsold", lot
    return lot


async def place_bid(
    http: httpx.AsyncClient, lot_id: str, bidder: Account, cents: int
) -> dict[str, Any]:
    """A maximum bid through the API, once the lot's bid book takes bids; the answer."""
    path = f"/api/v1/auctions/{lot_id}/bids"

    async def placed() -> dict[str, Any]:
        answer = await http.post(path, json={"max_amount_cents": cents}, headers=bidder.headers)
        if answer.status_code in (200, 201):
            found: dict[str, Any] = answer.json()
            return found
        return {}

    return await eventually(placed, interval=0.25)


async def admin_token(http: httpx.AsyncClient, platform: Platform) -> dict[str, str]:
    """The Authorization header of a new admin."""
    admin, _ = await identity_handlers.create_admin(
        CreateAdmin(
            email=f"root-{uuid.uuid4().hex[:8]}@example.com",
            password=PASSWORD,
            display_name="Root",
        ),
        ctx=platform.runtimes["identity"].context,
    )
    return {"Authorization": f"Bearer {(await log_in(http, admin.email))['access_token']}"}


async def outbox(platform: Platform, event_type: str) -> list[dict[str, Any]]:
    """The data of every event of this type the auction service has emitted."""
    runtime = platform.runtimes["auction"]
    assert runtime.db is not None
    table = TABLES.outbox
    async with runtime.db.read() as conn:
        payloads = (
            await conn.execute(select(table.c.payload).where(table.c.event_type == event_type))
        ).scalars()
        return [json.loads(payload)["data"] for payload in payloads]
