"""Disputes on paid orders through the gateway, in the sandbox: open, talk, refund, decide.

Every test runs embedded (SQLite, in-process broker) and distributed (PostgreSQL).
Orders are made by publishing ``AuctionClosed`` and paid with the sandbox's test card
(100.00 EUR hammer, 105.00 paid, 90.00 credited to the seller); the 30 days are
reached by moving the payment service's clock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from test_payment_payouts import connect, ledger_of, paid, payout_scheduler_pass, payouts_of
from test_payment_sandbox import emitted

from auction_platform.composition import Platform
from auction_platform.services.payment import ledger
from auction_platform.services.payment.domain import Order
from support.accounts import Account, sign_up_all
from support.auctions import admin_token
from support.sales import shipped_and_received


def path(order: Order, rest: str = "") -> str:
    return f"/api/v1/orders/{order.id}/dispute{rest}"


async def open_dispute(
    http: httpx.AsyncClient, order: Order, who: Account, reason: str = "not_received"
) -> httpx.Response:
    body = {"reason": reason, "message": "  It never came.\nTracking says nothing.  "}
    return await http.post(path(order), json=body, headers=who.headers)


def refused(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


def ok(answer: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_the_buyer_opens_a_dispute_and_the_parties_talk(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob, eve = await sign_up_all(http, "Sam", "Bob", "Eve")
    order = await paid(http, platform, sam, bob)
    refused(await open_dispute(http, order, sam), 403, "not_the_buyer")
    refused(await open_dispute(http, order, eve), 404, "order_not_found")
    refused(await http.get(path(order), headers=bob.headers), 404, "dispute_not_found")
    opened = ok(await open_dispute(http, order, bob), 201)["dispute"]
    assert (opened["status"], opened["reason"], opened["order_status"]) == (
        "open",
        "not_received",
        "paid",
    )
    assert (opened["paid_cents"], opened["refunded_cents"], opened["refundable_cents"]) == (
        10_500,
        0,
        10_500,
    )
    [first] = opened["thread"]
    assert (first["author_role"], first["body"]) == (
        "buyer",
        "It never came.\nTracking says nothing.",
    )
    refused(await open_dispute(http, order, bob), 409, "dispute_exists")

    reply = await http.post(
        path(order, "/messages"), json={"body": "Sent on Monday"}, headers=sam.headers
    )
    assert ok(reply, 201)["message"]["author_role"] == "seller"
    admin = await admin_token(http, platform)
    note = await http.post(
        path(order, "/messages"), json={"body": "Looking into it"}, headers=admin
    )
    assert ok(note, 201)["message"]["author_role"] == "admin"
    refused(
        await http.post(path(order, "/messages"), json={"body": "me too"}, headers=eve.headers),
        404,
        "order_not_found",
    )
    refused(
        await http.post(path(order, "/messages"), json={"body": "   "}, headers=bob.headers),
        422,
        "invalid_message",
    )
    too_long = {"body": "x" * 2001}
    refused(
        await http.post(path(order, "/messages"), json=too_long, headers=bob.headers),
        422,
        "invalid_message",
    )
    thread = ok(await http.get(path(order), headers=sam.headers))["dispute"]["thread"]
    assert [m["author_role"] for m in thread] == ["buyer", "seller", "admin"]

    [news] = await emitted(platform, "DisputeOpened")
    assert (news["seller_id"], news["reason"]) == (sam.id, "not_received")
    messages = await emitted(platform, "DisputeMessage")
    assert sorted(m["author_role"] for m in messages) == ["admin", "seller"]
    queue = ok(await http.get("/api/v1/disputes", headers=admin))["items"]
    assert [d["order_id"] for d in queue] == [order.id]
    refused(await http.get("/api/v1/disputes", headers=bob.headers), 403, "forbidden")


async def test_a_dispute_is_opened_within_30_days_of_paying_a_paid_order(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await paid(http, platform, sam, bob)
    runtime = platform.runtimes["payment"]
    real = runtime.clock
    start = real()
    runtime.clock = lambda: start + timedelta(days=30, seconds=1)
    try:
        refused(await open_dispute(http, order, bob), 409, "dispute_window_closed")
        runtime.clock = lambda: start + timedelta(days=29, hours=23)
        ok(await open_dispute(http, order, bob, "not_as_described"), 201)
    finally:
        runtime.clock = real
    body = {"reason": "lost", "message": "where is it"}
    assert (await http.post(path(order), json=body, headers=bob.headers)).status_code == 422


async def test_a_partial_refund_by_the_seller_debits_the_ledger_and_leaves_the_order_paid(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await paid(http, platform, sam, bob)
    ok(await open_dispute(http, order, bob), 201)
    refund = path(order, "/refund")
    refused(
        await http.post(refund, json={"amount_cents": 100}, headers=bob.headers),
        403,
        "not_the_seller",
    )
    refused(
        await http.post(refund, json={"amount_cents": 10_501}, headers=sam.headers),
        409,
        "refund_exceeds_payment",
    )
    assert (
        await http.post(refund, json={"amount_cents": 0}, headers=sam.headers)
    ).status_code == 422

    half = ok(await http.post(refund, json={"amount_cents": 5_250}, headers=sam.headers))["dispute"]
    assert (half["status"], half["order_status"], half["refunded_cents"]) == ("open", "paid", 5_250)
    assert half["thread"][-1]["kind"] == "refund" and half["thread"][-1]["amount_cents"] == 5_250
    entries = await ledger_of(platform, order.id)
    assert [(e.kind, e.amount_cents) for e in entries] == [
        (ledger.EntryKind.SALE, 9_000),
        (ledger.EntryKind.REFUND, 4_500),  # half of the seller's 90.00
    ]
    audit = [a for a in await emitted(platform, "AuditRecorded") if a["action"] == "order.refunded"]
    assert [(a["actor_id"], a["details"]["amount_cents"]) for a in audit] == [(sam.id, 5_250)]

    rest = ok(await http.post(refund, json={"amount_cents": 5_250}, headers=sam.headers))["dispute"]
    assert (rest["status"], rest["outcome"], rest["order_status"]) == (
        "resolved",
        "refunded",
        "refunded",
    )
    assert rest["refunded_cents"] == 10_500
    assert (
        sum(
            e.amount_cents
            for e in await ledger_of(platform, order.id)
            if e.kind is ledger.EntryKind.REFUND
        )
        == 9_000
    )
    [resolved] = await emitted(platform, "DisputeResolved")
    assert (resolved["outcome"], resolved["refunded_cents"]) == ("refunded", 10_500)
    assert len(await emitted(platform, "OrderRefunded")) == 1
    refused(
        await http.post(refund, json={"amount_cents": 1}, headers=sam.headers),
        409,
        "dispute_resolved",
    )


async def test_the_payout_is_held_while_the_dispute_is_open_and_an_admin_decision_releases_it(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    await connect(http, sam)
    order = await paid(http, platform, sam, bob)
    ok(await open_dispute(http, order, bob, "not_as_described"), 201)
    await shipped_and_received(platform, order)  # a receipt does not end a dispute
    assert ok(await http.get(path(order), headers=bob.headers))["dispute"]["status"] == "open"
    [held] = await payouts_of(http, sam)
    assert (held["status"], held["amount_cents"]) == ("held", 9_000)
    await payout_scheduler_pass(platform)
    assert (await payouts_of(http, sam))[0]["status"] == "held"
    admin = await admin_token(http, platform)
    release = await http.post(f"/api/v1/payouts/{held['id']}/release", headers=admin)
    refused(release, 409, "payout_disputed")

    ok(await http.post(path(order, "/refund"), json={"amount_cents": 2_100}, headers=sam.headers))
    shrunk = (await payouts_of(http, sam))[0]
    assert (shrunk["status"], shrunk["amount_cents"]) == ("held", 7_200)  # 9000 less 1800

    decision = {
        "decision": "refund",
        "amount_cents": 1_050,
        "reason": "Chipped, as the photos show",
    }
    refused(
        await http.post(path(order, "/decision"), json=decision, headers=sam.headers),
        403,
        "forbidden",
    )
    too_much = {**decision, "amount_cents": 8_401}
    refused(
        await http.post(path(order, "/decision"), json=too_much, headers=admin),
        409,
        "refund_exceeds_payment",
    )
    decided = ok(await http.post(path(order, "/decision"), json=decision, headers=admin))["dispute"]
    assert (decided["status"], decided["outcome"], decided["refunded_cents"]) == (
        "resolved",
        "decided_refund",
        3_150,
    )
    assert decided["decision_reason"] == "Chipped, as the photos show"
    assert [m["kind"] for m in decided["thread"]][-2:] == ["refund", "decision"]
    released = (await payouts_of(http, sam))[0]
    assert (released["status"], released["amount_cents"]) in {("pending", 6_300), ("paid", 6_300)}
    actions = {a["action"]: a for a in await emitted(platform, "AuditRecorded")}
    assert actions["dispute.decided"]["reason"] == "Chipped, as the photos show"
    assert actions["dispute.decided"]["target"] == f"dispute:{decided['id']}"
    refused(
        await http.post(path(order, "/decision"), json=decision, headers=admin),
        409,
        "dispute_resolved",
    )


async def test_an_admin_closes_a_dispute_for_the_seller_and_an_admin_hold_outlasts_it(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await paid(http, platform, sam, bob)
    await shipped_and_received(platform, order)
    [payout] = await payouts_of(http, sam)
    assert payout["status"] == "awaiting_account"
    ok(await open_dispute(http, order, bob), 201)
    assert (await payouts_of(http, sam))[0]["status"] == "held"
    admin = await admin_token(http, platform)
    hold = await http.post(
        f"/api/v1/payouts/{payout['id']}/hold",
        json={"reason": "Checking the seller"},
        headers=admin,
    )
    assert hold.status_code == 200, hold.text
    bad = {"decision": "seller", "amount_cents": 5, "reason": "Delivered"}
    refused(
        await http.post(path(order, "/decision"), json=bad, headers=admin), 422, "invalid_amount"
    )
    body = {"decision": "seller", "reason": "Tracking shows it delivered"}
    decided = ok(await http.post(path(order, "/decision"), json=body, headers=admin))["dispute"]
    assert (decided["outcome"], decided["refunded_cents"]) == ("decided_for_seller", 0)
    still = (await payouts_of(http, sam))[0]
    assert (still["status"], still["hold_reason"]) == ("held", "Checking the seller")
    [resolved] = await emitted(platform, "DisputeResolved")
    assert resolved["outcome"] == "decided_for_seller"


async def test_a_refunded_or_unpaid_order_is_not_disputed(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await paid(http, platform, sam, bob)
    admin = await admin_token(http, platform)
    assert (await http.post(f"/api/v1/orders/{order.id}/refund", headers=admin)).status_code == 200
    refused(await open_dispute(http, order, bob), 409, "order_refunded")
