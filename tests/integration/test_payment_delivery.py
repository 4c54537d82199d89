"""Delivery through the gateway: the buyer's choice and its cost, shipment and receipt.

Every test runs embedded (SQLite, in-process broker) and distributed (PostgreSQL).
A lot's delivery terms reach the payment service as the auction service publishes
them (``AuctionPublished``); the automatic receipt is reached by moving the
payment service's clock.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
from test_payment_sandbox import SUCCEEDS, auction_closed, emitted, pay, sold

from auction_platform.composition import Platform
from auction_platform.contracts.auctions import DeliveryData
from auction_platform.contracts.events import Envelope
from auction_platform.services.payment import scheduler, store
from auction_platform.services.payment.domain import Order
from support.accounts import Account, sign_up_all
from support.auctions import admin_token
from support.waiting import eventually

SHIPS_IN_EUROPE: DeliveryData = {
    "shipping": [{"countries": ["DE", "AT"], "cost_cents": 1_500}],
    "buyer_arranges": False,
    "pickup_town": None,
}
HOME = {
    "name": "Bob Buyer",
    "line1": "1 Hauptstraße",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
    "phone": "+4930123456",
}


async def listed(platform: Platform, auction_id: str, terms: DeliveryData) -> None:
    """The auction service's news of a listing, and the payment service has heard it."""
    assert platform.broker is not None
    data = {"auction_id": auction_id, "seller_id": "sam", "title": "A tea set", "delivery": terms}
    await platform.broker.publish(
        [Envelope(type="AuctionPublished", producer="auction", data=data)]
    )

    async def heard() -> bool:
        db = platform.runtimes["payment"].db
        assert db is not None
        async with db.read() as conn:
            return await store.lot_delivery_terms(conn, auction_id) is not None

    await eventually(heard)


async def an_order(
    platform: Platform, seller: Account, buyer: Account, terms: DeliveryData | None
) -> Order:
    closed = auction_closed(seller.id, buyer.id)
    if terms is not None:
        await listed(platform, closed.data["auction_id"], terms)
    return await sold(platform, closed)


async def choose(
    http: httpx.AsyncClient, order: Order, who: Account, method: str, **address: Any
) -> httpx.Response:
    body: dict[str, Any] = {"method": method}
    if address:
        body["address"] = address
    return await http.put(f"/api/v1/orders/{order.id}/delivery", json=body, headers=who.headers)


async def seen(http: httpx.AsyncClient, order: Order, who: Account) -> dict[str, Any]:
    found = await http.get(f"/api/v1/orders/{order.id}", headers=who.headers)
    assert found.status_code == 200, found.text
    document: dict[str, Any] = found.json()["order"]
    return document


def code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def test_the_buyer_chooses_shipping_pays_it_and_confirms_receipt(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await an_order(platform, sam, bob, SHIPS_IN_EUROPE)
    offered = (await seen(http, order, bob))["delivery"]
    assert offered["terms"] == SHIPS_IN_EUROPE and offered["method"] is None
    assert code(await pay(http, order, bob, SUCCEEDS)) == (409, "delivery_required")
    assert code(await choose(http, order, bob, "shipping", **{**HOME, "country": "JP"})) == (
        422,
        "no_shipping_to_country",
    )
    assert code(await choose(http, order, bob, "pickup")) == (422, "method_not_offered")
    assert code(await choose(http, order, bob, "shipping")) == (422, "address_required")
    assert (
        await choose(http, order, bob, "shipping", **{**HOME, "country": "Germany"})
    ).status_code == 422
    assert code(await choose(http, order, sam, "shipping", **HOME)) == (403, "forbidden")

    chosen = await choose(http, order, bob, "shipping", **HOME)
    assert chosen.status_code == 200, chosen.text
    mine = chosen.json()["order"]
    assert (mine["shipping_cents"], mine["total_cents"]) == (1_500, 10_000 + 500 + 1_500)
    assert mine["delivery"]["address"]["city"] == "Berlin"
    assert (await seen(http, order, sam))["delivery"]["address"] is None  # not paid yet

    paid = await pay(http, order, bob, SUCCEEDS)
    assert paid.status_code == 200, paid.text
    assert paid.json()["payment"]["amount"] == 12_000
    [news] = await emitted(platform, "OrderPaid")
    assert (news["total_cents"], news["shipping_cents"], news["delivery_method"]) == (
        12_000,
        1_500,
        "shipping",
    )
    assert news["delivery_address"]["line1"] == "1 Hauptstraße"
    assert (await seen(http, order, sam))["delivery"]["address"]["postal_code"] == "10115"
    assert code(await choose(http, order, bob, "shipping", **HOME)) == (409, "order_paid")

    receipt = f"/api/v1/orders/{order.id}/receipt"
    shipment = f"/api/v1/orders/{order.id}/shipment"
    assert code(await http.post(receipt, headers=bob.headers)) == (409, "not_shipped")
    assert code(await http.post(shipment, headers=bob.headers)) == (403, "forbidden")
    tracked = {"tracking_number": "1Z999AA10123456784", "carrier": "UPS"}
    shipped = await http.post(shipment, json=tracked, headers=sam.headers)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["order"]["fulfilment"] == "shipped"
    again = await http.post(shipment, json=tracked, headers=sam.headers)
    assert code(again) == (409, "already_shipped")
    [sent] = await emitted(platform, "OrderShipped")
    assert (sent["tracking_number"], sent["carrier"]) == ("1Z999AA10123456784", "UPS")

    assert code(await http.post(receipt, headers=sam.headers)) == (403, "forbidden")
    got = await http.post(receipt, headers=bob.headers)
    assert got.status_code == 200, got.text
    delivered = got.json()["order"]
    assert delivered["fulfilment"] == "received" and delivered["received_at"] is not None
    assert code(await http.post(receipt, headers=bob.headers)) == (409, "already_received")
    [confirmed] = await emitted(platform, "OrderReceived")
    assert (confirmed["order_id"], confirmed["automatically"]) == (order.id, False)


async def test_a_shipped_order_is_confirmed_once_its_period_runs_out(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await an_order(platform, sam, bob, SHIPS_IN_EUROPE)
    assert (await choose(http, order, bob, "shipping", **HOME)).status_code == 200
    assert (await pay(http, order, bob, SUCCEEDS)).status_code == 200
    shipment = f"/api/v1/orders/{order.id}/shipment"
    shipped = await http.post(shipment, headers=sam.headers)  # no tracking: a body is optional
    assert shipped.status_code == 200, shipped.text
    runtime = platform.runtimes["payment"]
    period = timedelta(days=runtime.settings.receipt_confirm_days)
    shipped_at = (await seen(http, order, bob))["shipped_at"]
    assert shipped_at is not None
    almost = runtime.clock() + period - timedelta(minutes=1)
    await scheduler.run_once(runtime.context, now=almost)
    assert (await seen(http, order, bob))["fulfilment"] == "shipped"
    later = runtime.clock() + period + timedelta(seconds=1)
    runtime.clock = lambda: later
    # Replicas racing over the same due order: the receipt is confirmed once.
    await asyncio.gather(*(scheduler.run_once(runtime.context, now=later) for _ in range(3)))
    assert (await seen(http, order, bob))["fulfilment"] == "received"
    [confirmed] = await emitted(platform, "OrderReceived")
    assert confirmed["automatically"] is True


async def test_terms_heard_after_the_order_are_read_at_checkout(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await an_order(platform, sam, bob, None)
    assert (await seen(http, order, bob))["delivery"]["terms"]["buyer_arranges"] is True
    pickup: DeliveryData = {"shipping": [], "buyer_arranges": False, "pickup_town": "Leipzig"}
    await listed(platform, order.auction_id, pickup)
    assert (await seen(http, order, bob))["delivery"]["terms"] == pickup
    paid = await pay(http, order, bob, SUCCEEDS)  # the only way needing no address: pickup
    assert paid.status_code == 200, paid.text
    assert paid.json()["order"]["delivery"]["method"] == "pickup"
    # A lot the buyer collects is confirmed without a shipment.
    got = await http.post(f"/api/v1/orders/{order.id}/receipt", headers=bob.headers)
    assert got.status_code == 200, got.text


async def test_an_order_of_a_lot_never_heard_of_is_paid_as_the_buyer_arranges(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await an_order(platform, sam, bob, None)
    paid = await pay(http, order, bob, SUCCEEDS)
    assert paid.status_code == 200, paid.text
    assert paid.json()["order"]["delivery"]["method"] == "buyer_arranges"
    assert paid.json()["order"]["total_cents"] == 10_500


async def test_a_refunded_order_is_neither_shipped_nor_received(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await an_order(platform, sam, bob, None)
    assert (await pay(http, order, bob, SUCCEEDS)).status_code == 200
    refund = await http.post(
        f"/api/v1/orders/{order.id}/refund", headers=await admin_token(http, platform)
    )
    assert refund.status_code == 200, refund.text
    shipment = await http.post(f"/api/v1/orders/{order.id}/shipment", headers=sam.headers)
    assert code(shipment) == (409, "order_refunded")
    receipt = await http.post(f"/api/v1/orders/{order.id}/receipt", headers=bob.headers)
    assert code(receipt) == (409, "order_refunded")
    stranger = f"/api/v1/orders/{uuid.uuid4().hex}/shipment"
    assert code(await http.post(stranger, headers=sam.headers)) == (404, "order_not_found")
