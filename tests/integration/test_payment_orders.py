"""Orders from sold auctions: exactly one per auction whatever the redelivery, and who sees them.

Every test runs embedded (SQLite, in-process broker) and distributed (PostgreSQL);
the redelivery test also runs through a real RabbitMQ.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from auction_platform.composition import Platform
from auction_platform.contracts.events import Envelope
from auction_platform.services.payment import store
from auction_platform.services.payment.domain import Order
from support.accounts import sign_up, sign_up_all
from support.auctions import admin_token
from support.platforms import distributed_settings, running
from support.waiting import eventually


def auction_closed(
    *,
    seller_id: str,
    winner_id: str | None,
    price_cents: int = 10_050,
    runner_up_id: str | None = None,
    runner_up_max_cents: int | None = None,
    auction_id: str | None = None,
) -> Envelope:
    """What the bid book publishes when the hammer falls."""
    return Envelope(
        type="AuctionClosed",
        producer="bidding",
        data={
            "auction_id": auction_id or uuid.uuid4().hex,
            "seller_id": seller_id,
            "title": "A Leica M3",
            "winner_id": winner_id,
            "price_cents": price_cents,
            "currency": "EUR",
            "sold": winner_id is not None,
            "reserve_met": True,
            "runner_up_id": runner_up_id,
            "runner_up_max_cents": runner_up_max_cents,
            "bid_count": 3,
            "by_buy_now": False,
            "closed_at": "2025-03-01T12:00:00+00:00",
        },
    )


async def orders_of(platform: Platform, auction_id: str) -> list[Order]:
    db = platform.runtimes["payment"].db
    assert db is not None
    async with db.read() as conn:
        return await store.orders_of_auction(conn, auction_id)


async def emitted(platform: Platform, event_type: str) -> int:
    runtime = platform.runtimes["payment"]
    assert runtime.db is not None and runtime.definition.tables is not None
    outbox = runtime.definition.tables.outbox
    async with runtime.db.read() as conn:
        query = select(func.count()).select_from(outbox).where(outbox.c.event_type == event_type)
        return int((await conn.execute(query)).scalar_one())


async def sold(platform: Platform, envelope: Envelope) -> Order:
    assert platform.broker is not None
    await platform.broker.publish([envelope])
    [order] = await eventually(lambda: orders_of(platform, envelope.data["auction_id"]))
    return order


async def test_a_sold_auction_makes_an_order_for_its_winner(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up(http, name="Sam"), await sign_up(http, name="Bob")
    order = await sold(platform, auction_closed(seller_id=sam.id, winner_id=bob.id))
    found = await http.get("/api/v1/orders", headers=bob.headers)
    assert found.status_code == 200, found.text
    [mine] = found.json()["items"]
    assert mine["id"] == order.id
    assert mine["status"] == "awaiting_payment"
    assert (mine["hammer_cents"], mine["buyers_premium_cents"], mine["total_cents"]) == (
        10_050,
        503,  # 5 % of 100.50 is 5.025: half-up to 5.03
        10_553,
    )
    assert mine["buyers_premium_percent"] == "5.0"
    assert "seller_fee_cents" not in mine
    sold_by_sam = (await http.get("/api/v1/orders?role=seller", headers=sam.headers)).json()
    [theirs] = sold_by_sam["items"]
    assert (theirs["seller_fee_cents"], theirs["payout_cents"]) == (1_005, 9_045)
    assert (await http.get("/api/v1/orders", headers=sam.headers)).json()["items"] == []
    assert await eventually(lambda: emitted(platform, "OrderCreated")) == 1


async def test_an_unsold_auction_makes_no_order(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up(http, name="Sam"), await sign_up(http, name="Bob")
    unsold = auction_closed(seller_id=sam.id, winner_id=None)
    assert platform.broker is not None
    await platform.broker.publish([unsold])
    await sold(platform, auction_closed(seller_id=sam.id, winner_id=bob.id))  # a later one
    assert await orders_of(platform, unsold.data["auction_id"]) == []


async def redeliver_until_one_order(platform: Platform, seller_id: str, winner_id: str) -> None:
    """The same event five times, and five copies with new ids, all at once: one order."""
    first = auction_closed(
        seller_id=seller_id, winner_id=winner_id, runner_up_id="ann", runner_up_max_cents=9_000
    )
    copies = [Envelope(type=first.type, producer=first.producer, data=first.data) for _ in range(5)]
    assert platform.broker is not None
    await asyncio.gather(
        platform.broker.publish([first] * 5),
        *(platform.broker.publish([copy]) for copy in copies),
    )
    [order] = await eventually(lambda: orders_of(platform, first.data["auction_id"]))
    assert (order.buyer_id, order.runner_up_id, order.runner_up_max_cents) == (
        winner_id,
        "ann",
        9_000,
    )

    async def all_handled() -> bool:
        runtime = platform.runtimes["payment"]
        assert runtime.db is not None and runtime.definition.tables is not None
        inbox = runtime.definition.tables.inbox
        async with runtime.db.read() as conn:
            count = await conn.scalar(select(func.count()).select_from(inbox))
        return count == 6

    await eventually(all_handled)
    assert len(await orders_of(platform, first.data["auction_id"])) == 1
    assert await emitted(platform, "OrderCreated") == 1


async def test_redelivered_and_duplicated_results_make_exactly_one_order(
    platform: Platform,
) -> None:
    await redeliver_until_one_order(platform, "sam", "bob")


@pytest.fixture
async def payment_on_rabbitmq(postgres_url: str, rabbitmq_url: str) -> AsyncIterator[Platform]:
    settings = distributed_settings(
        postgres_url=postgres_url, redis_url="memory://", rabbitmq_url=rabbitmq_url
    )
    async with running(settings, ("payment",)) as platform:
        yield platform


async def test_redelivery_through_rabbitmq_makes_exactly_one_order(
    payment_on_rabbitmq: Platform,
) -> None:
    await redeliver_until_one_order(payment_on_rabbitmq, "sam", "bob")


async def test_only_the_buyer_the_seller_or_an_admin_sees_an_order(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob, eve = await sign_up_all(http, "Sam", "Bob", "Eve")
    order = await sold(platform, auction_closed(seller_id=sam.id, winner_id=bob.id))
    path = f"/api/v1/orders/{order.id}"
    assert (await http.get(path, headers=bob.headers)).status_code == 200
    seller_view = await http.get(path, headers=sam.headers)
    assert seller_view.json()["order"]["payout_cents"] == 9_045
    hidden = await http.get(path, headers=eve.headers)
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "order_not_found"
    assert (await http.get(path, headers=await admin_token(http, platform))).status_code == 200
    assert (await http.get(path)).status_code == 401
    assert (await http.post(f"{path}/pay", headers=eve.headers)).status_code == 404
    by_seller = await http.post(f"{path}/pay", headers=sam.headers)
    assert by_seller.status_code == 403
    assert (await http.post(f"{path}/refund", headers=bob.headers)).status_code == 403
    missing = await http.get("/api/v1/orders/nope", headers=bob.headers)
    assert missing.status_code == 404


async def test_orders_are_listed_newest_first_a_page_at_a_time(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    bob = await sign_up(http, name="Bob")
    made = [
        await sold(platform, auction_closed(seller_id="sam", winner_id=bob.id)) for _ in range(3)
    ]
    first: dict[str, Any] = (await http.get("/api/v1/orders?limit=2", headers=bob.headers)).json()
    assert [o["id"] for o in first["items"]] == [made[2].id, made[1].id]
    rest = await http.get(
        f"/api/v1/orders?limit=2&cursor={first['next_cursor']}", headers=bob.headers
    )
    assert [o["id"] for o in rest.json()["items"]] == [made[0].id]
    assert rest.json()["next_cursor"] is None
    bad = await http.get("/api/v1/orders?cursor=%25%25", headers=bob.headers)
    assert bad.status_code == 422


async def test_an_admin_lists_every_order_by_status_a_page_at_a_time(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    bob, eve = await sign_up_all(http, "Bob", "Eve")
    root = await admin_token(http, platform)
    made = [
        await sold(platform, auction_closed(seller_id="sam", winner_id=who.id))
        for who in (bob, eve, bob)
    ]
    paid = await http.post(
        f"/api/v1/orders/{made[1].id}/pay", json={"card": "4242424242424242"}, headers=eve.headers
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["order"]["status"] == "paid"

    first = (await http.get("/api/v1/orders?role=any&limit=2", headers=root)).json()
    assert [o["id"] for o in first["items"]] == [made[2].id, made[1].id]
    assert first["items"][0]["seller_fee_cents"] == 1_005  # admins see the seller's side
    rest = await http.get(
        "/api/v1/orders", params={"role": "any", "cursor": first["next_cursor"]}, headers=root
    )
    assert [o["id"] for o in rest.json()["items"]] == [made[0].id]
    assert rest.json()["next_cursor"] is None

    only_paid = (await http.get("/api/v1/orders?role=any&status=paid", headers=root)).json()
    assert [(o["id"], o["buyer_id"]) for o in only_paid["items"]] == [(made[1].id, eve.id)]
    awaiting = await http.get("/api/v1/orders?status=awaiting_payment", headers=bob.headers)
    assert [o["id"] for o in awaiting.json()["items"]] == [made[2].id, made[0].id]

    refused = await http.get("/api/v1/orders?role=any", headers=bob.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    unknown = await http.get("/api/v1/orders?role=any&status=lost", headers=root)
    assert unknown.status_code == 422
