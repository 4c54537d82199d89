"""The sandbox provider end to end: Stripe's test cards, deadlines, second chances, refunds.

Every test runs embedded (SQLite, in-process broker) and distributed (PostgreSQL).
Deadlines are reached by moving the payment service's clock (``runtime.clock``),
except one test that lets a two-second due date pass for real.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from auction_platform.composition import Platform
from auction_platform.contracts.events import Envelope
from auction_platform.services.payment import scheduler, store
from auction_platform.services.payment.domain import Order
from support.accounts import Account, sign_up_all
from support.auctions import admin_token
from support.platforms import client, running
from support.stripe_fake import event, payload, signature
from support.waiting import eventually

SANDBOX_SECRET = "whsec_sandbox_development_only"  # the settings' development default
SUCCEEDS, DECLINED, AUTHENTICATE = "4242 4242 4242 4242", "4000000000000002", "4000002760003184"
# Stripe's decline test cards and the code each is answered with (402).
DECLINES = {
    "4000 0000 0000 0002": "card_declined",
    "4000 0000 0000 9995": "insufficient_funds",
    "4000 0000 0000 9987": "card_declined",
    "4000 0000 0000 9979": "card_declined",
    "4000 0000 0000 0069": "expired_card",
    "4000 0000 0000 0127": "incorrect_cvc",
    "4000 0000 0000 0119": "processing_error",
    "4000 0027 6000 3184": "authentication_required",
    "4000 0000 0000 3220": "authentication_required",
    "4242 4242 4242 4241": "incorrect_number",
}


def auction_closed(seller: str, winner: str, runner_up: str | None = None) -> Envelope:
    """What the bid book publishes when the hammer falls (sold for 100.00 EUR)."""
    return Envelope(
        type="AuctionClosed",
        producer="bidding",
        data={
            "auction_id": uuid.uuid4().hex,
            "seller_id": seller,
            "title": "A Victorian tea set",
            "winner_id": winner,
            "price_cents": 10_000,
            "currency": "EUR",
            "sold": True,
            "reserve_met": True,
            "runner_up_id": runner_up,
            "runner_up_max_cents": 9_000 if runner_up else None,
            "bid_count": 4,
            "by_buy_now": False,
            "closed_at": "2025-03-01T12:00:00+00:00",
        },
    )


async def sold(platform: Platform, envelope: Envelope) -> Order:
    """Publish an auction's result; its order once the payment service has made it."""
    assert platform.broker is not None
    await platform.broker.publish([envelope])

    async def made() -> list[Order]:
        db = platform.runtimes["payment"].db
        assert db is not None
        async with db.read() as conn:
            return await store.orders_of_auction(conn, envelope.data["auction_id"])

    return (await eventually(made))[0]


async def emitted(platform: Platform, event_type: str) -> list[dict[str, Any]]:
    """The data of every event of this type in the payment service's outbox."""
    runtime = platform.runtimes["payment"]
    assert runtime.db is not None and runtime.definition.tables is not None
    outbox = runtime.definition.tables.outbox
    async with runtime.db.read() as conn:
        rows = await conn.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type))
        return [json.loads(row.payload)["data"] for row in rows]


async def pay(http: httpx.AsyncClient, order: Order, who: Account, card: str) -> httpx.Response:
    return await http.post(
        f"/api/v1/orders/{order.id}/pay", json={"card": card}, headers=who.headers
    )


async def status_of(http: httpx.AsyncClient, order: Order, who: Account) -> dict[str, Any]:
    body: dict[str, Any] = (
        await http.get(f"/api/v1/orders/{order.id}", headers=who.headers)
    ).json()["order"]
    return body


async def test_a_declined_card_is_a_402_and_a_later_success_pays(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await sold(platform, auction_closed(sam.id, bob.id))

    declined = await pay(http, order, bob, DECLINED)
    assert declined.status_code == 402, declined.text
    assert declined.json()["error"]["code"] == "card_declined"
    assert declined.json()["error"]["message"] == "Your card was declined."
    after = await status_of(http, order, bob)
    assert (after["status"], after["paid_at"], after["payment_attempts"]) == (
        "awaiting_payment",
        None,
        1,
    )
    assert after["last_payment_failure"] == "Your card was declined."
    [failure] = await emitted(platform, "PaymentFailed")
    assert failure["reason"] == "Your card was declined."

    challenged = await pay(http, order, bob, AUTHENTICATE)
    assert challenged.status_code == 402, challenged.text
    assert challenged.json()["error"]["code"] == "authentication_required"
    assert (await status_of(http, order, bob))["payment_attempts"] == 2

    paid = await pay(http, order, bob, SUCCEEDS)
    assert paid.status_code == 200, paid.text
    assert paid.json()["order"]["status"] == "paid"
    assert paid.json()["order"]["payment_attempts"] == 3
    assert paid.json()["order"]["last_payment_failure"] is None
    assert paid.json()["payment"] == {
        "provider": "sandbox",
        "payment_intent_id": f"pi_sandbox_{order.id}",
        "client_secret": paid.json()["payment"]["client_secret"],
        "status": "succeeded",
        "amount": 10_500,
        "currency": "EUR",
    }
    [receipt] = await emitted(platform, "OrderPaid")
    assert (receipt["order_id"], receipt["total_cents"]) == (order.id, 10_500)
    again = await pay(http, order, bob, SUCCEEDS)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "order_paid")


async def test_each_decline_card_answers_its_code_and_counts_an_attempt(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await sold(platform, auction_closed(sam.id, bob.id))
    for attempt, (card, code) in enumerate(DECLINES.items(), start=1):
        declined = await pay(http, order, bob, card)
        assert (declined.status_code, declined.json()["error"]["code"]) == (402, code), card
        now = await status_of(http, order, bob)
        assert (now["status"], now["payment_attempts"]) == ("awaiting_payment", attempt), card
        assert now["last_payment_failure"] == declined.json()["error"]["message"]
    assert len(await emitted(platform, "PaymentFailed")) == len(DECLINES)
    assert await emitted(platform, "OrderPaid") == []


async def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await sold(platform, auction_closed(sam.id, bob.id))
    other = await sold(platform, auction_closed(sam.id, bob.id))
    path = f"/api/v1/orders/{order.id}/pay"

    def keyed(key: str) -> dict[str, str]:
        return {**bob.headers, "Idempotency-Key": key}

    first = await http.post(path, json={"card": DECLINED}, headers=keyed("try-1"))
    again = await http.post(path, json={"card": "4000 0000 0000 0002"}, headers=keyed("try-1"))
    assert first.status_code == again.status_code == 402
    assert again.content == first.content  # the first answer, as it was sent
    assert (await status_of(http, order, bob))["payment_attempts"] == 1  # tried once

    for body, target in (
        ({"card": SUCCEEDS}, path),
        ({"card": DECLINED}, f"/api/v1/orders/{other.id}/pay"),
    ):
        reused = await http.post(target, json=body, headers=keyed("try-1"))
        assert reused.status_code == 422, reused.text
        assert reused.json()["error"]["code"] == "idempotency_key_reused"

    paid = await http.post(path, json={"card": SUCCEEDS}, headers=keyed("try-2"))
    replayed = await http.post(path, json={"card": SUCCEEDS}, headers=keyed("try-2"))
    assert paid.status_code == replayed.status_code == 200
    assert replayed.content == paid.content
    assert (await status_of(http, order, bob))["payment_attempts"] == 2
    assert len(await emitted(platform, "OrderPaid")) == 1
    # Without the key the order is known to be paid.
    late = await pay(http, order, bob, SUCCEEDS)
    assert (late.status_code, late.json()["error"]["code"]) == (409, "order_paid")
    # The same key is another key for another buyer.
    ann = (await sign_up_all(http, "Ann"))[0]
    hers = await sold(platform, auction_closed(sam.id, ann.id))
    mine = await http.post(
        f"/api/v1/orders/{hers.id}/pay",
        json={"card": SUCCEEDS},
        headers={**ann.headers, "Idempotency-Key": "try-1"},
    )
    assert mine.status_code == 200, mine.text
    stored = await idempotency_keys(platform)
    assert set(stored) == {(ann.id, "try-1"), (bob.id, "try-1"), (bob.id, "try-2")}
    assert all(
        SUCCEEDS not in fingerprint and DECLINED not in fingerprint
        for fingerprint in stored.values()
    )


async def idempotency_keys(platform: Platform) -> dict[tuple[str, str], str]:
    """The keys payment keeps, with the fingerprint of each one's request."""
    db = platform.runtimes["payment"].db
    assert db is not None
    async with db.read() as conn:
        rows = await conn.execute(select(store.idempotency))
        return {(row.user_id, row.key): row.request_hash for row in rows}


async def test_paying_without_a_card_gives_the_intent_to_confirm(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await sold(platform, auction_closed(sam.id, bob.id))
    first = await http.post(f"/api/v1/orders/{order.id}/pay", headers=bob.headers)
    second = await http.post(f"/api/v1/orders/{order.id}/pay", headers=bob.headers)
    assert first.status_code == 200, first.text
    assert first.json()["payment"] == second.json()["payment"]
    assert first.json()["payment"]["client_secret"].startswith(f"pi_sandbox_{order.id}_secret_")
    unknown = await pay(http, order, bob, "4111 1111 1111 1111")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "unknown_test_card")
    typed = await http.post(
        f"/api/v1/orders/{order.id}/pay", json={"card": 4242424242424242}, headers=bob.headers
    )
    assert typed.status_code == 422


async def test_concurrent_payments_charge_once(http: httpx.AsyncClient, platform: Platform) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await sold(platform, auction_closed(sam.id, bob.id))
    answers = await asyncio.gather(*(pay(http, order, bob, SUCCEEDS) for _ in range(6)))
    assert {a.status_code for a in answers} <= {200, 409}
    assert (await status_of(http, order, bob))["status"] == "paid"
    assert len(await emitted(platform, "OrderPaid")) == 1


async def test_reminders_go_out_once_24_and_48_hours_after_the_order(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await sold(platform, auction_closed(sam.id, bob.id))
    runtime = platform.runtimes["payment"]
    ctx = runtime.context

    async def reminded() -> list[int]:
        return sorted(e["hours_after"] for e in await emitted(platform, "PaymentReminderDue"))

    runtime.clock = lambda: order.created_at + timedelta(hours=24, seconds=1)
    assert await eventually(reminded) == [24]
    later = order.created_at + timedelta(hours=48, seconds=1)
    runtime.clock = lambda: later
    # Replicas racing over the same due rows: each reminder still goes out once.
    await asyncio.gather(*(scheduler.run_once(ctx, now=later) for _ in range(4)))
    assert await reminded() == [24, 48]
    paid = await pay(http, order, bob, SUCCEEDS)
    assert paid.json()["order"]["status"] == "paid"


async def test_an_unpaid_order_expires_and_the_runner_up_gets_a_second_chance(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob, ann, eve = await sign_up_all(http, "Sam", "Bob", "Ann", "Eve")
    order = await sold(platform, auction_closed(sam.id, bob.id, runner_up=ann.id))
    runtime = platform.runtimes["payment"]
    expiry = order.due_at + timedelta(seconds=1)
    runtime.clock = lambda: expiry
    await asyncio.gather(*(scheduler.run_once(runtime.context) for _ in range(3)))
    assert (await status_of(http, order, bob))["status"] == "expired"
    assert len(await emitted(platform, "OrderExpired")) == 1
    [offered] = await emitted(platform, "SecondChanceOffered")
    assert (offered["user_id"], offered["price_cents"]) == (ann.id, 9_000)
    late = await pay(http, order, bob, SUCCEEDS)
    assert (late.status_code, late.json()["error"]["code"]) == (409, "order_expired")

    [offer] = (await http.get("/api/v1/offers", headers=ann.headers)).json()["items"]
    assert offer["due_at"] == (expiry + timedelta(days=2)).isoformat()
    accept = f"/api/v1/offers/{offer['id']}/accept"
    assert (await http.post(accept, headers=eve.headers)).status_code == 404
    taken = await http.post(accept, headers=ann.headers)
    assert taken.status_code == 201, taken.text
    second = taken.json()["order"]
    assert (second["second_chance"], second["hammer_cents"], second["total_cents"]) == (
        True,
        9_000,
        9_450,
    )
    assert (await http.post(accept, headers=ann.headers)).json()["order"]["id"] == second["id"]
    paying = await http.post(
        f"/api/v1/orders/{second['id']}/pay", json={"card": SUCCEEDS}, headers=ann.headers
    )
    assert paying.json()["order"]["status"] == "paid"
    assert [e["second_chance"] for e in await emitted(platform, "OrderCreated")] == [False, True]


async def test_a_second_chance_offer_lapses(http: httpx.AsyncClient, platform: Platform) -> None:
    sam, bob, ann = await sign_up_all(http, "Sam", "Bob", "Ann")
    order = await sold(platform, auction_closed(sam.id, bob.id, runner_up=ann.id))
    runtime = platform.runtimes["payment"]
    runtime.clock = lambda: order.due_at + timedelta(seconds=1)
    [offer] = await eventually(lambda: _items(http.get("/api/v1/offers", headers=ann.headers)))
    runtime.clock = lambda: order.due_at + timedelta(days=2, seconds=2)

    async def lapsed() -> bool:
        [now] = await _items(http.get("/api/v1/offers", headers=ann.headers))
        return bool(now["status"] == "expired")

    await eventually(lapsed)
    late = await http.post(f"/api/v1/offers/{offer['id']}/accept", headers=ann.headers)
    assert (late.status_code, late.json()["error"]["code"]) == (409, "offer_expired")


async def _items(request: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await request).json()["items"]
    return items


async def test_a_two_second_due_date_passes_for_real(make_settings: Any) -> None:
    settings = make_settings(payment_due_days=2 / 86_400, second_chance_due_days=1)
    async with running(settings, ("payment",), embedded=True) as platform:
        order = await sold(platform, auction_closed("sam", "bob", runner_up="ann"))
        assert order.due_at - order.created_at == timedelta(seconds=2)
        [expired] = await eventually(lambda: emitted(platform, "OrderExpired"))
        assert expired["order_id"] == order.id
        [offered] = await eventually(lambda: emitted(platform, "SecondChanceOffered"))
        assert offered["user_id"] == "ann"
        assert await emitted(platform, "PaymentReminderDue") == []


async def test_money_arriving_after_expiry_is_flagged_then_refunded_by_an_admin(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await sold(platform, auction_closed(sam.id, bob.id))
    platform.runtimes["payment"].clock = lambda: order.due_at + timedelta(seconds=1)
    await eventually(lambda: emitted(platform, "OrderExpired"))
    # The buyer's bank confirmed just too late: Stripe reports the success anyway.
    intent = {
        "id": f"pi_sandbox_{order.id}",
        "object": "payment_intent",
        "amount": 10_500,
        "amount_received": 10_500,
        "metadata": {"order_id": order.id},
    }
    body = payload(event("payment_intent.succeeded", intent))
    answer = await http.post(
        "/api/v1/payments/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": signature(body, SANDBOX_SECRET)},
    )
    assert answer.json()["outcome"] == "late_payment_flagged_for_refund"
    flagged = await status_of(http, order, bob)
    assert (flagged["status"], flagged["refund_due"]) == ("expired", True)
    assert await emitted(platform, "OrderPaid") == []
    refunded = await http.post(
        f"/api/v1/orders/{order.id}/refund", headers=await admin_token(http, platform)
    )
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["order"]["status"] == "refunded"
    [event_data] = await emitted(platform, "OrderRefunded")
    assert event_data["refunded_cents"] == 10_500


async def test_an_admin_refunds_a_paid_order_once(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await sold(platform, auction_closed(sam.id, bob.id))
    admin = await admin_token(http, platform)
    unpaid = await http.post(f"/api/v1/orders/{order.id}/refund", headers=admin)
    assert (unpaid.status_code, unpaid.json()["error"]["code"]) == (409, "order_not_paid")
    await pay(http, order, bob, SUCCEEDS)
    done = await http.post(f"/api/v1/orders/{order.id}/refund", headers=admin)
    assert done.status_code == 200, done.text
    assert (done.json()["order"]["status"], done.json()["order"]["refunded_cents"]) == (
        "refunded",
        10_500,
    )
    twice = await http.post(f"/api/v1/orders/{order.id}/refund", headers=admin)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "order_refunded")
    assert len(await emitted(platform, "OrderRefunded")) == 1


async def test_the_stripe_check_is_healthy_in_the_sandbox(platform: Platform) -> None:
    async with client(platform.apps["payment"]) as payment:
        detail = (await payment.get("/health/detail")).json()
    [check] = [c for c in detail["checks"] if c["name"] == "stripe"]
    assert check["status"] == "Healthy"
    assert check["data"] == {"provider": "sandbox", "critical": False}


async def test_the_api_docs_give_the_sandbox_cards_and_the_402(http: httpx.AsyncClient) -> None:
    document = (await http.get("/api/openapi.json")).json()
    operation = document["paths"]["/api/v1/orders/{order_id}/pay"]["post"]
    for card, code in DECLINES.items():
        assert card in operation["description"]
        assert f"`{code}`" in operation["description"]
    assert "Idempotency-Key" in operation["description"]
    assert operation["responses"]["402"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
    assert headers == ["Idempotency-Key"]
