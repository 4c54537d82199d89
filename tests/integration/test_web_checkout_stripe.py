"""The site's checkout when Stripe takes the payments: Stripe's Payment Element, no card field."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from auction_platform.contracts.events import Envelope
from auction_platform.services.payment import store
from auction_platform.services.payment.domain import Order
from auction_platform.settings import SERVICES
from support.accounts import PASSWORD, Account, sign_up_all
from support.http_server import serving
from support.platforms import client, embedded_settings, running
from support.stripe_fake import API_KEY, StripeFake, payload, signature
from support.waiting import eventually

SECRET = "whsec_site_checkout"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def stripe_site(
    tmp_path: Path,
) -> AsyncIterator[tuple[object, httpx.AsyncClient, StripeFake]]:
    fake = StripeFake()
    async with serving(fake.app) as url:
        settings = embedded_settings(
            tmp_path,
            payment_provider="stripe",
            stripe_api_key=API_KEY,
            stripe_api_base=url,
            stripe_webhook_secrets=[SECRET],
            stripe_publishable_key="pk_test_site",
        )
        async with (
            running(settings, list(SERVICES), embedded=True) as platform,
            client(platform.apps["gateway"]) as http,
        ):
            yield platform, http, fake


async def _order_for(platform: object, seller: Account, buyer: Account) -> Order:
    closed = Envelope(
        type="AuctionClosed",
        producer="bidding",
        data={
            "auction_id": uuid.uuid4().hex,
            "seller_id": seller.id,
            "title": "A Leica M3",
            "winner_id": buyer.id,
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
    await platform.broker.publish([closed])  # type: ignore[attr-defined]
    db = platform.runtimes["payment"].db  # type: ignore[attr-defined]

    async def made() -> list[Order]:
        async with db.read() as conn:
            return await store.orders_of_auction(conn, closed.data["auction_id"])

    return (await eventually(made))[0]


async def _sign_in(http: httpx.AsyncClient, account: Account) -> None:
    form = CSRF.search((await http.get("/signin")).text)
    assert form is not None
    answer = await http.post(
        "/signin",
        data={"email": account.email, "password": PASSWORD, "next": "/", "csrf_token": form[1]},
    )
    assert answer.status_code == 303


async def test_the_buyer_pays_in_stripes_payment_element_and_sees_the_receipt(
    stripe_site: tuple[object, httpx.AsyncClient, StripeFake],
) -> None:
    platform, http, fake = stripe_site
    seller, buyer = await sign_up_all(http, "Sam", "Bob")
    order = await _order_for(platform, seller, buyer)
    await _sign_in(http, buyer)

    page = await http.get(f"/orders/{order.id}")
    assert page.status_code == 200
    assert 'name="card"' not in page.text  # card numbers never reach the platform
    assert "by card" in page.text
    assert "js.stripe.com" not in page.headers["content-security-policy"]

    token = CSRF.search(page.text)
    assert token is not None
    checkout = await http.post(f"/orders/{order.id}/pay", data={"csrf_token": token[1]})
    assert checkout.status_code == 200
    secret = re.search(r'data-client-secret="([^"]+)"', checkout.text)
    assert secret is not None and secret[1].startswith("pi_")
    assert 'data-stripe-key="pk_test_site"' in checkout.text
    assert '<script src="https://js.stripe.com/v3/">' in checkout.text
    policy = checkout.headers["content-security-policy"]
    assert "script-src 'self' https://js.stripe.com" in policy
    assert "frame-ancestors 'none'" in policy

    waiting = await http.get(f"/orders/{order.id}", params={"redirect_status": "succeeded"})
    assert "being confirmed" in waiting.text
    intent = secret[1].split("_secret_")[0]
    body = payload(fake.succeed(intent))
    delivered = await http.post(
        "/api/v1/payments/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": signature(body, SECRET)},
    )
    assert delivered.status_code == 200, delivered.text
    receipt = await http.get(f"/orders/{order.id}")
    assert "<h1>Receipt: A Leica M3</h1>" in receipt.text
    assert 'data-testid="order-status">Paid<' in receipt.text
