"""From hammer to payment: real auctions close, their winners get orders and pay in the sandbox.

Every service runs in this process (embedded on SQLite, distributed on PostgreSQL);
the lots are listed, bid on and closed through the public API.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from auction_platform.composition import Platform
from auction_platform.services.payment import store
from support.accounts import Account, sign_up_all
from support.auctions import create, open_lot, seller
from support.waiting import eventually


async def orders(
    http: httpx.AsyncClient, who: Account, role: str = "buyer"
) -> list[dict[str, Any]]:
    found = await http.get(f"/api/v1/orders?role={role}", headers=who.headers)
    assert found.status_code == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items


async def outbox(platform: Platform, event_type: str) -> list[dict[str, Any]]:
    runtime = platform.runtimes["payment"]
    assert runtime.db is not None and runtime.definition.tables is not None
    table = runtime.definition.tables.outbox
    async with runtime.db.read() as conn:
        rows = await conn.execute(select(table.c.payload).where(table.c.event_type == event_type))
        return [json.loads(row.payload)["data"] for row in rows]


async def test_a_closed_auction_makes_an_order_its_winner_pays_with_a_test_card(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    ann, bob = await sign_up_all(http, "Ann", "Bob")
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
        ends_at=(start + timedelta(seconds=3)).isoformat(),
    )

    async def opened() -> bool:
        lot = (await http.get(f"/api/v1/auctions/{listed['id']}")).json()["auction"]
        return bool(lot["status"] == "open")

    await eventually(opened)
    for who, cents in ((ann, 1500), (bob, 2000)):
        bid = await http.post(
            f"/api/v1/auctions/{listed['id']}/bids", json={"max_amount": cents}, headers=who.headers
        )
        assert bid.status_code == 201, bid.text

    [order] = await eventually(lambda: orders(http, bob), timeout=15)
    assert (order["auction_id"], order["seller_id"], order["status"]) == (
        listed["id"],
        sam.id,
        "awaiting_payment",
    )
    # 1550 hammer; 5 % premium is 77.5, rounded half-up.
    assert (order["hammer_cents"], order["buyers_premium_cents"], order["total_cents"]) == (
        1_550,
        78,
        1_628,
    )
    db = platform.runtimes["payment"].db
    assert db is not None
    async with db.read() as conn:
        [kept] = await store.orders_of_auction(conn, listed["id"])
    assert (kept.runner_up_id, kept.runner_up_max_cents) == (ann.id, 1500)

    paid = await http.post(
        f"/api/v1/orders/{order['id']}/pay", json={"card": "4242424242424242"}, headers=bob.headers
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["order"]["status"] == "paid"
    assert paid.json()["payment"]["amount"] == 1_628
    [receipt] = await outbox(platform, "OrderPaid")
    assert (receipt["order_id"], receipt["buyer_id"]) == (order["id"], bob.id)
    [sold] = await orders(http, sam, role="seller")
    assert (sold["status"], sold["payout_cents"]) == ("paid", 1_395)


async def test_buy_it_now_makes_the_buyers_order(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    [bob] = await sign_up_all(http, "Bob")
    lot = await open_lot(http, sam, reserve_cents=None, buy_now_cents=50_000)
    bought = await http.post(f"/api/v1/auctions/{lot['id']}/buy-now", headers=bob.headers)
    assert bought.status_code == 201, bought.text
    [order] = await eventually(lambda: orders(http, bob), timeout=15)
    assert (order["auction_id"], order["hammer_cents"], order["total_cents"]) == (
        lot["id"],
        50_000,
        52_500,
    )
    [created] = await outbox(platform, "OrderCreated")
    assert created["order_id"] == order["id"]
