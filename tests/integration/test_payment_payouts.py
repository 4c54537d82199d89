"""Seller payouts in the sandbox: the ledger, receipt releasing payouts, holds, and balancing.

Every test runs embedded (SQLite, in-process broker) and distributed (PostgreSQL).
Orders are made by publishing ``AuctionClosed``, paid with the sandbox's test card,
shipped and received through the payment use cases; the payouts job is the
service's own background loop.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from test_payment_sandbox import SUCCEEDS, auction_closed, emitted, pay, sold

from auction_platform.composition import Platform
from auction_platform.services.payment import (
    handlers,
    ledger,
    payout_scheduler,
    payout_store,
    store,
)
from auction_platform.services.payment.domain import Order
from support.accounts import Account, sign_up_all
from support.auctions import admin_token
from support.sales import shipped_and_received
from support.stripe_fake import event, payload, signature
from support.waiting import eventually

SANDBOX_SECRET = "whsec_sandbox_development_only"


def payments(platform: Platform) -> handlers.Payments:
    context: handlers.Payments = platform.runtimes["payment"].context
    return context


async def paid(http: httpx.AsyncClient, platform: Platform, sam: Account, bob: Account) -> Order:
    """A sold lot, paid by ``bob`` with the sandbox's succeeding card."""
    order = await sold(platform, auction_closed(sam.id, bob.id))
    answer = await pay(http, order, bob, SUCCEEDS)
    assert answer.status_code == 200, answer.text
    return order


async def balance(http: httpx.AsyncClient, who: Account) -> dict[str, Any]:
    answer = await http.get("/api/v1/payouts/balance", headers=who.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def payouts_of(http: httpx.AsyncClient, who: Account) -> list[dict[str, Any]]:
    answer = await http.get("/api/v1/payouts", headers=who.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def paid_out(http: httpx.AsyncClient, seller: Account) -> None:
    """Wait for the payouts job to have paid the seller's newest payout."""

    async def sent() -> bool:
        return (await payouts_of(http, seller))[0]["status"] == "paid"

    await eventually(sent)


async def connect(http: httpx.AsyncClient, who: Account) -> dict[str, Any]:
    answer = await http.post("/api/v1/payouts/account", headers=who.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_received_order_is_paid_out_once_the_seller_connects(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await paid(http, platform, sam, bob)
    [eur] = (await balance(http, sam))["balances"]
    assert eur == {
        "currency": "EUR",
        "pending_cents": 9_000,  # 100.00 hammer less the 10% seller fee
        "available_cents": 0,
        "paid_out_cents": 0,
        "owed_cents": 0,
    }
    assert (await balance(http, bob))["balances"] == []
    await shipped_and_received(platform, order)
    [waiting] = await payouts_of(http, sam)
    assert (waiting["status"], waiting["amount_cents"]) == ("awaiting_account", 9_000)
    assert (await balance(http, sam))["balances"][0]["available_cents"] == 9_000
    connected = await connect(http, sam)
    assert connected["payouts_enabled"] is True
    assert connected["onboarding_url"].endswith("/account/payouts?connected=1")

    await paid_out(http, sam)
    [done] = await payouts_of(http, sam)
    assert done["transfer_id"].startswith("tr_sandbox_")
    [eur] = (await balance(http, sam))["balances"]
    assert (eur["pending_cents"], eur["available_cents"], eur["paid_out_cents"]) == (0, 0, 9_000)
    [mail] = await emitted(platform, "PayoutSent")
    assert (mail["seller_id"], mail["amount_cents"], mail["order_id"]) == (sam.id, 9_000, order.id)
    # Another run of the job pays nothing more.
    await payout_scheduler_pass(platform)
    assert len(await emitted(platform, "PayoutSent")) == 1


async def payout_scheduler_pass(platform: Platform) -> None:
    await payout_scheduler.run_once(payments(platform))


async def test_a_refund_before_receipt_leaves_nothing_to_pay_out(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    await connect(http, sam)
    order = await paid(http, platform, sam, bob)
    admin = await admin_token(http, platform)
    refunded = await http.post(f"/api/v1/orders/{order.id}/refund", headers=admin)
    assert refunded.status_code == 200, refunded.text
    assert (await balance(http, sam))["balances"][0]["pending_cents"] == 0
    assert await payouts_of(http, sam) == []
    entries = await ledger_of(platform, order.id)
    assert [(e.kind, e.amount_cents) for e in entries] == [
        (ledger.EntryKind.SALE, 9_000),
        (ledger.EntryKind.REFUND, 9_000),
    ]


async def test_a_redelivered_refund_event_debits_once(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await paid(http, platform, sam, bob)
    charge = {
        "id": f"ch_sandbox_{order.id}",
        "object": "charge",
        "amount": 10_500,
        "amount_refunded": 10_500,
        "refunded": True,
        "payment_intent": f"pi_sandbox_{order.id}",
        "metadata": {"order_id": order.id},
    }
    for _ in range(2):  # two deliveries with distinct ids: Stripe's retries, or two events
        body = payload(event("charge.refunded", charge))
        answer = await http.post(
            "/api/v1/payments/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": signature(body, SANDBOX_SECRET)},
        )
        assert answer.status_code == 200, answer.text
    kinds = [e.kind for e in await ledger_of(platform, order.id)]
    assert kinds == [ledger.EntryKind.SALE, ledger.EntryKind.REFUND]


async def test_an_admin_holds_a_payout_and_it_is_sent_only_when_released(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await paid(http, platform, sam, bob)
    await shipped_and_received(platform, order)
    [payout] = await payouts_of(http, sam)
    admin = await admin_token(http, platform)
    hold = f"/api/v1/payouts/{payout['id']}/hold"
    refused = await http.post(hold, json={"reason": "dispute"}, headers=sam.headers)
    assert refused.status_code == 403
    no_reason = await http.post(hold, json={}, headers=admin)
    assert no_reason.status_code == 422
    missing = await http.post(
        f"/api/v1/payouts/{uuid.uuid4().hex}/hold", json={"reason": "x"}, headers=admin
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "payout_not_found")
    held = await http.post(hold, json={"reason": "buyer reports damage"}, headers=admin)
    assert held.status_code == 200, held.text
    assert (held.json()["payout"]["status"], held.json()["payout"]["hold_reason"]) == (
        "held",
        "buyer reports damage",
    )
    twice = await http.post(hold, json={"reason": "again"}, headers=admin)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "payout_held")
    await connect(http, sam)
    await payout_scheduler_pass(platform)
    assert (await payouts_of(http, sam))[0]["status"] == "held"
    everyone = await http.get("/api/v1/payouts?role=any&status=held", headers=admin)
    assert [p["id"] for p in everyone.json()["items"]] == [payout["id"]]
    assert (await http.get("/api/v1/payouts?role=any", headers=sam.headers)).status_code == 403
    released = await http.post(f"/api/v1/payouts/{payout['id']}/release", headers=admin)
    assert released.status_code == 200, released.text
    again = await http.post(f"/api/v1/payouts/{payout['id']}/release", headers=admin)
    assert again.status_code == 409

    await paid_out(http, sam)


async def test_a_signed_account_update_enables_a_waiting_payout(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await paid(http, platform, sam, bob)
    await shipped_and_received(platform, order)
    db = platform.runtimes["payment"].db
    assert db is not None
    async with db.transaction() as conn:  # an account Stripe has not enabled yet
        account = payout_store.Account(sam.id, "stripe", "acct_waiting", False)
        await payout_store.add_account(conn, account, now=payments(platform).clock())
    body = payload(event("account.updated", {"id": "acct_waiting", "payouts_enabled": True}))
    forged = await http.post(
        "/api/v1/payments/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": signature(body, "whsec_someone_else")},
    )
    assert (forged.status_code, forged.json()["error"]["code"]) == (400, "invalid_signature")
    assert (await payouts_of(http, sam))[0]["status"] == "awaiting_account"
    answer = await http.post(
        "/api/v1/payments/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": signature(body, SANDBOX_SECRET)},
    )
    assert answer.json()["outcome"] == "account_enabled"

    await paid_out(http, sam)


async def ledger_of(platform: Platform, order_id: str) -> list[ledger.Entry]:
    db = platform.runtimes["payment"].db
    assert db is not None
    async with db.read() as conn:
        return await payout_store.entries_of_order(conn, order_id)


async def test_the_ledger_balances_against_the_orders_and_refunds(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, ann, bob = await sign_up_all(http, "Sam", "Ann", "Bob")
    admin = await admin_token(http, platform)
    await connect(http, sam)  # Ann connects no account: her payouts wait
    unpaid = await sold(platform, auction_closed(sam.id, bob.id))
    for seller in (sam, ann, sam):  # paid, never received: pending
        await paid(http, platform, seller, bob)
    refunded_early = await paid(http, platform, sam, bob)
    paid_out = [await paid(http, platform, sam, bob) for _ in range(2)]
    refunded_waiting = await paid(http, platform, ann, bob)
    waiting = await paid(http, platform, ann, bob)
    for order in (*paid_out, refunded_waiting, waiting):
        await shipped_and_received(platform, order)

    async def all_sent() -> bool:
        return [p["status"] for p in await payouts_of(http, sam)] == ["paid", "paid"]

    await eventually(all_sent)
    for order in (refunded_early, refunded_waiting, paid_out[0]):
        answer = await http.post(f"/api/v1/orders/{order.id}/refund", headers=admin)
        assert answer.status_code == 200, answer.text

    db = platform.runtimes["payment"].db
    assert db is not None
    async with db.read() as conn:
        orders = [store.order_from_row(r) for r in await conn.execute(select(store.orders))]
        entries = (await conn.execute(select(payout_store.ledger))).all()
        payouts = (await conn.execute(select(payout_store.payouts))).all()

    def total(kind: str, order_id: str | None = None) -> int:
        return sum(
            int(e.amount_cents)
            for e in entries
            if e.kind == kind and order_id in (None, e.order_id)
        )

    credited = [o for o in orders if o.paid_at is not None and o.expired_at is None]
    assert unpaid.id not in {o.id for o in credited} and len(credited) == 8
    refunds = [o for o in credited if o.refunded_cents]
    assert len(refunds) == 3
    sent = sum(int(p.amount_cents) for p in payouts if p.status == "paid")
    assert total("sale") == sum(ledger.sale_credit(o) for o in credited)
    assert total("refund") == sum(
        ledger.refund_share(
            ledger.sale_credit(o), refunded_cents=o.refunded_cents, paid_cents=o.paid_cents or 0
        )
        for o in refunds
    )
    assert total("refund") == sum(ledger.sale_credit(o) for o in refunds)  # refunds are full
    assert total("payout") == sent == 2 * 9_000
    assert total("payout_reversed") == 0
    signed = total("sale") + total("payout_reversed") - total("refund") - total("payout")
    assert signed == sum(ledger.sale_credit(o) for o in credited) - total("refund") - sent
    for order in credited:  # nobody is paid out more than their order credited them
        assert total("payout", order.id) <= ledger.sale_credit(order)
    # Each seller's statement is the same ledger seen by order.
    [sams] = (await balance(http, sam))["balances"]
    assert (sams["pending_cents"], sams["available_cents"]) == (2 * 9_000, 0)
    assert (sams["paid_out_cents"], sams["owed_cents"]) == (2 * 9_000, 9_000)
    [anns] = (await balance(http, ann))["balances"]
    # The refund cancelled one waiting payout; the other still waits for an account.
    assert (anns["pending_cents"], anns["available_cents"], anns["paid_out_cents"]) == (
        9_000,
        9_000,
        0,
    )
    statuses = sorted(p["status"] for p in await payouts_of(http, ann))
    assert statuses == ["awaiting_account", "cancelled"]


async def test_payout_requests_that_cannot_be_are_clear_4xx(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    [sam] = await sign_up_all(http, "Sam")
    anonymous = await http.get("/api/v1/payouts/balance")
    assert anonymous.status_code == 401
    bad_cursor = await http.get("/api/v1/payouts?cursor=not-ours", headers=sam.headers)
    assert (bad_cursor.status_code, bad_cursor.json()["error"]["code"]) == (422, "invalid_cursor")
    bad_status = await http.get("/api/v1/payouts?status=lost", headers=sam.headers)
    assert bad_status.status_code == 422
    admin = await admin_token(http, platform)
    long_reason = {"reason": "x" * 501}
    too_long = await http.post(
        f"/api/v1/payouts/{uuid.uuid4().hex}/hold", json=long_reason, headers=admin
    )
    assert too_long.status_code == 422
    release = await http.post(f"/api/v1/payouts/{uuid.uuid4().hex}/release", headers=admin)
    assert (release.status_code, release.json()["error"]["code"]) == (404, "payout_not_found")
