"""The payment service in Stripe mode: paying, Stripe's signed webhooks, refunds and health.

Stripe is the local fake (``support.stripe_fake``) over real HTTP; webhooks are
signed with the SDK's own helper and posted through the gateway, as Stripe would.
Every test runs embedded (SQLite) and distributed (PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from test_payment_delivery import listed

from auction_platform.composition import Platform
from auction_platform.contracts.events import Envelope
from auction_platform.services.payment import store
from auction_platform.services.payment.domain import Order
from auction_platform.settings import Settings
from support.accounts import Account, sign_up_all
from support.auctions import admin_token
from support.http_server import serving
from support.platforms import client, running
from support.stripe_fake import API_KEY, StripeFake, event, payload, signature
from support.waiting import eventually

SERVICES = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")
OLD, NEW = "whsec_before_rotation", "whsec_after_rotation"
HOOK = "/api/v1/payments/webhooks/stripe"


@dataclass
class World:
    platform: Platform
    http: httpx.AsyncClient
    stripe: StripeFake
    seller: Account
    buyer: Account

    async def order(self) -> Order:
        """A sold auction's order for ``buyer``."""
        closed = Envelope(
            type="AuctionClosed",
            producer="bidding",
            data={
                "auction_id": uuid.uuid4().hex,
                "seller_id": self.seller.id,
                "title": "A Leica M3",
                "winner_id": self.buyer.id,
                "price_cents": 10_000,
                "currency": "EUR",
                "sold": True,
                "reserve_met": True,
                "runner_up_id": None,
                "runner_up_max_cents": None,
                "bid_count": 1,
                "by_buy_now": False,
                "closed_at": "2025-03-01T12:00:00+00:00",
            },
        )
        assert self.platform.broker is not None
        await self.platform.broker.publish([closed])
        db = self.platform.runtimes["payment"].db
        assert db is not None

        async def made() -> list[Order]:
            async with db.read() as conn:
                return await store.orders_of_auction(conn, closed.data["auction_id"])

        return (await eventually(made))[0]

    async def intent(self, order: Order) -> str:
        """Start paying: the intent id Stripe made for the order."""
        paying = await self.http.post(f"/api/v1/orders/{order.id}/pay", headers=self.buyer.headers)
        assert paying.status_code == 200, paying.text
        return str(paying.json()["payment"]["payment_intent_id"])

    async def deliver(self, stripe_event: dict[str, Any], secret: str = NEW) -> httpx.Response:
        """Post an event as Stripe does: raw body, ``Stripe-Signature``."""
        body = payload(stripe_event)
        return await self.http.post(
            HOOK, content=body, headers={"Stripe-Signature": signature(body, secret)}
        )

    async def status(self, order: Order) -> dict[str, Any]:
        found = await self.http.get(f"/api/v1/orders/{order.id}", headers=self.buyer.headers)
        body: dict[str, Any] = found.json()["order"]
        return body

    async def emitted(self, event_type: str) -> int:
        runtime = self.platform.runtimes["payment"]
        assert runtime.db is not None and runtime.definition.tables is not None
        outbox = runtime.definition.tables.outbox
        query = select(func.count()).select_from(outbox).where(outbox.c.event_type == event_type)
        async with runtime.db.read() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def webhooks_recorded(self) -> int:
        db = self.platform.runtimes["payment"].db
        assert db is not None
        async with db.read() as conn:
            count = await conn.scalar(select(func.count()).select_from(store.webhook_events))
        return int(count or 0)


@asynccontextmanager
async def stripe_world(make_settings: Callable[..., Settings]) -> AsyncIterator[World]:
    """The platform with Stripe (the local fake) as its payment provider, a seller and a buyer."""
    fake = StripeFake()
    async with serving(fake.app) as url:
        settings = make_settings(
            payment_provider="stripe",
            stripe_api_key=API_KEY,
            stripe_api_base=url,
            stripe_webhook_secrets=[OLD, NEW],
        )
        async with (
            running(settings, SERVICES, embedded=True) as platform,
            client(platform.apps["gateway"]) as http,
        ):
            seller, buyer = await sign_up_all(http, "Sam", "Bob")
            yield World(platform, http, fake, seller, buyer)


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[World]:
    async with stripe_world(make_settings) as made:
        yield made


async def test_paying_gives_one_intent_and_a_signed_success_pays(world: World) -> None:
    order = await world.order()
    intent = await world.intent(order)
    assert await world.intent(order) == intent
    assert world.stripe.calls.count("POST /v1/payment_intents") == 1
    paying = await world.http.post(
        f"/api/v1/orders/{order.id}/pay",
        json={"card": "4242424242424242"},
        headers=world.buyer.headers,
    )
    assert (paying.status_code, paying.json()["error"]["code"]) == (422, "card_not_accepted")
    answer = await world.deliver(world.stripe.succeed(intent))
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "paid"
    assert (await world.status(order))["status"] == "paid"
    assert await world.emitted("OrderPaid") == 1


async def test_an_intent_follows_the_total_when_the_delivery_changes(world: World) -> None:
    terms = {
        "shipping": [{"countries": ["DE"], "cost_cents": 1_500}],
        "buyer_arranges": True,
        "pickup_town": None,
    }
    order = await world.order()
    await listed(world.platform, order.auction_id, terms)
    intent = await world.intent(order)  # the buyer arranges: hammer and premium only
    assert world.stripe.intents[intent]["amount"] == order.total_cents
    home = {"name": "Bob", "line1": "1 Hauptstraße", "city": "Berlin", "country": "DE"}
    chose = await world.http.put(
        f"/api/v1/orders/{order.id}/delivery",
        json={"method": "shipping", "address": home},
        headers=world.buyer.headers,
    )
    assert chose.status_code == 200, chose.text
    assert await world.intent(order) == intent
    assert world.stripe.intents[intent]["amount"] == order.total_cents + 1_500
    assert world.stripe.calls.count("POST /v1/payment_intents") == 1
    answer = await world.deliver(world.stripe.succeed(intent))
    assert answer.json()["outcome"] == "paid"
    assert (await world.status(order))["total_cents"] == order.total_cents + 1_500


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda body: signature(body, "whsec_someone_else"), id="wrong-secret"),
        pytest.param(lambda body: signature(body, NEW, at=time.time() - 301), id="stale"),
        pytest.param(
            lambda body: signature(body, NEW, at=time.time() + 10 * 86_400), id="ten-days-ahead"
        ),
        pytest.param(
            lambda body: signature(body.replace(b'"amount":10500', b'"amount":10501'), NEW),
            id="one-byte-changed",
        ),
        pytest.param(
            lambda body: signature(body, "whsec_sandbox_development_only"),
            id="sandbox-secret-in-stripe-mode",
        ),
        pytest.param(lambda body: "", id="no-signature"),
    ],
)
async def test_a_bad_signature_is_refused_and_changes_nothing(
    world: World, forge: Callable[[bytes], str]
) -> None:
    order = await world.order()
    body = payload(world.stripe.succeed(await world.intent(order)))
    assert b'"amount":10500' in body
    refused = await world.http.post(HOOK, content=body, headers={"Stripe-Signature": forge(body)})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_signature"
    assert refused.json()["error"]["request_id"]
    assert (await world.status(order))["status"] == "awaiting_payment"
    assert await world.webhooks_recorded() == 0
    assert await world.emitted("OrderPaid") == 0


async def test_while_rotating_the_previous_secret_still_verifies(world: World) -> None:
    order = await world.order()
    answer = await world.deliver(world.stripe.succeed(await world.intent(order)), secret=OLD)
    assert answer.json()["outcome"] == "paid"


async def test_a_redelivered_event_has_its_effect_once(world: World) -> None:
    order = await world.order()
    declined = world.stripe.decline(await world.intent(order))
    answers = await asyncio.gather(*(world.deliver(declined) for _ in range(4)))
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True, True, True]
    assert (await world.status(order))["payment_attempts"] == 1
    assert await world.emitted("PaymentFailed") == 1
    succeeded = world.stripe.succeed(declined["data"]["object"]["id"])
    for _ in range(3):
        assert (await world.deliver(succeeded)).status_code == 200
    assert await world.emitted("OrderPaid") == 1


async def test_a_decline_arriving_after_the_success_does_not_unpay(world: World) -> None:
    order = await world.order()
    intent = await world.intent(order)
    declined = world.stripe.decline(intent)  # happened first, delivered last
    await world.deliver(world.stripe.succeed(intent))
    late = await world.deliver(declined)
    assert late.json()["outcome"] == "ignored_paid"
    status = await world.status(order)
    assert (status["status"], status["payment_attempts"]) == ("paid", 1)
    assert await world.emitted("PaymentFailed") == 0


async def test_a_refund_arriving_before_its_success_ends_refunded(world: World) -> None:
    order = await world.order()
    intent = await world.intent(order)
    succeeded = world.stripe.succeed(intent)
    refunded = world.stripe.charge_refunded(intent)
    assert (await world.deliver(refunded)).json()["outcome"] == "refunded"
    assert (await world.deliver(succeeded)).json()["outcome"] == "ignored_refunded"
    assert (await world.status(order))["status"] == "refunded"
    assert (await world.emitted("OrderPaid"), await world.emitted("OrderRefunded")) == (0, 1)


async def test_an_admin_refund_goes_to_stripe_once(world: World) -> None:
    order = await world.order()
    intent = await world.intent(order)
    await world.deliver(world.stripe.succeed(intent))
    admin = await admin_token(world.http, world.platform)
    done = await world.http.post(f"/api/v1/orders/{order.id}/refund", headers=admin)
    assert done.status_code == 200, done.text
    assert done.json()["order"]["status"] == "refunded"
    [refund] = world.stripe.refunds.values()
    assert (refund["payment_intent"], refund["amount"]) == (intent, 10_500)
    confirmed = await world.deliver(world.stripe.charge_refunded(intent))
    assert confirmed.json()["outcome"] == "ignored_refunded"
    again = await world.http.post(f"/api/v1/orders/{order.id}/refund", headers=admin)
    assert again.status_code == 409
    assert len(world.stripe.refunds) == 1
    assert await world.emitted("OrderRefunded") == 1


async def test_events_for_unknown_orders_or_types_are_acknowledged(world: World) -> None:
    stranger = event("payment_intent.succeeded", {"id": "pi_nobody", "metadata": {}})
    assert (await world.deliver(stranger)).json()["outcome"] == "unknown_order"
    other = event("customer.created", {"id": "cus_1", "object": "customer"})
    assert (await world.deliver(other)).json()["outcome"] == "ignored_type"
    garbage = json.dumps({"hello": "stripe"}).encode()
    malformed = await world.http.post(
        HOOK, content=garbage, headers={"Stripe-Signature": signature(garbage, NEW)}
    )
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "malformed_event")


async def test_the_stripe_check_reports_configuration_without_calling_stripe(
    world: World,
) -> None:
    async with client(world.platform.apps["payment"]) as payment:
        detail = (await payment.get("/health/detail")).json()
    [check] = [c for c in detail["checks"] if c["name"] == "stripe"]
    assert check["status"] == "Healthy"
    assert check["data"]["configured"] is True
    assert "never calls Stripe" in check["description"]
    assert world.stripe.calls == []
