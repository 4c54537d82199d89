"""Disputes in Stripe mode: each refund of a dispute goes to Stripe once, for its amount, with
its own idempotency key, and Stripe's ``charge.refunded`` (cumulative) changes nothing more.

Stripe is the local fake over real HTTP; both modes (embedded and distributed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from test_payment_payouts import ledger_of
from test_payment_stripe_webhooks import World, stripe_world

from auction_platform.services.payment import ledger
from auction_platform.settings import Settings
from support.auctions import admin_token


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[World]:
    async with stripe_world(make_settings) as made:
        yield made


async def test_dispute_refunds_reach_stripe_with_their_amounts_and_keys(world: World) -> None:
    order = await world.order()
    intent = await world.intent(order)
    assert (await world.deliver(world.stripe.succeed(intent))).json()["outcome"] == "paid"
    http, sam, bob = world.http, world.seller, world.buyer
    base = f"/api/v1/orders/{order.id}/dispute"
    body = {"reason": "not_as_described", "message": "The lens is scratched"}
    opened = await http.post(base, json=body, headers=bob.headers)
    assert opened.status_code == 201, opened.text

    part = await http.post(f"{base}/refund", json={"amount_cents": 3_000}, headers=sam.headers)
    assert part.status_code == 200, part.text
    assert (part.json()["dispute"]["refunded_cents"], part.json()["dispute"]["order_status"]) == (
        3_000,
        "paid",
    )
    [first] = world.stripe.refunds.values()
    assert (first["payment_intent"], first["amount"]) == (intent, 3_000)
    assert world.stripe.keys_of("refunds") == [f"re-{order.id}-1"]
    # Stripe's news of it (``amount_refunded`` 3000 of 10500) changes nothing more.
    news = await world.deliver(world.stripe.charge_refunded(intent))
    assert news.json()["outcome"] == "ignored_partial_refund"

    admin = await admin_token(http, world.platform)
    decision = {"decision": "refund", "amount_cents": 7_500, "reason": "Not as described"}
    decided = await http.post(f"{base}/decision", json=decision, headers=admin)
    assert decided.status_code == 200, decided.text
    shown = decided.json()["dispute"]
    assert (shown["status"], shown["order_status"], shown["refunded_cents"]) == (
        "resolved",
        "refunded",
        10_500,
    )
    assert [r["amount"] for r in world.stripe.refunds.values()] == [3_000, 7_500]
    assert world.stripe.keys_of("refunds") == [f"re-{order.id}-1", f"re-{order.id}-2"]
    late = await world.deliver(world.stripe.charge_refunded(intent))
    assert late.json()["outcome"] == "ignored_refunded"
    debits = [
        e.amount_cents
        for e in await ledger_of(world.platform, order.id)
        if e.kind is ledger.EntryKind.REFUND
    ]
    assert sum(debits) == 9_000 and len(debits) == 2
    assert await world.emitted("OrderRefunded") == 1
    assert await world.emitted("DisputeResolved") == 1


async def test_stripe_refusing_a_refund_leaves_the_dispute_free_for_another(world: World) -> None:
    order = await world.order()
    intent = await world.intent(order)
    await world.deliver(world.stripe.succeed(intent))
    http, sam, bob = world.http, world.seller, world.buyer
    base = f"/api/v1/orders/{order.id}/dispute"
    body = {"reason": "not_received", "message": "Nothing came"}
    assert (await http.post(base, json=body, headers=bob.headers)).status_code == 201
    world.stripe.intents[intent]["amount_received"] = 1_000  # Stripe holds less than we think
    refused = await http.post(f"{base}/refund", json={"amount_cents": 2_000}, headers=sam.headers)
    assert refused.status_code == 502, refused.text
    shown = (await http.get(base, headers=sam.headers)).json()["dispute"]
    assert (shown["refund_pending"], shown["refunded_cents"]) == (False, 0)
    again = await http.post(f"{base}/refund", json={"amount_cents": 500}, headers=sam.headers)
    assert again.status_code == 200, again.text
    assert world.stripe.keys_of("refunds")[-1] == f"re-{order.id}-2"
