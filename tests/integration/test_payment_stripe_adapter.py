"""The Stripe provider (the official SDK) against the local fake of Stripe's API.

The fake remembers idempotency keys as Stripe does, so these tests show that the
adapter's keys (``pi-{order_id}``, ``re-{order_id}``) make repeated and concurrent
calls create one PaymentIntent and one refund per order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from auction_platform.services.payment import domain
from auction_platform.services.payment.providers import CardRefused, ProviderError, StripeProvider
from support.http_server import free_port, serving
from support.stripe_fake import API_KEY, StripeFake


def an_order(order_id: str = "o1", hammer_cents: int = 10_000) -> domain.Order:
    return domain.new_order(
        order_id=order_id,
        auction_id="a1",
        title="A Leica M3",
        buyer_id="bob",
        seller_id="sam",
        currency="EUR",
        hammer_cents=hammer_cents,
        terms=domain.Terms(Decimal(5), Decimal(10), timedelta(days=4)),
        now=datetime.now(UTC),
    )


@pytest.fixture
async def fake() -> AsyncIterator[tuple[StripeFake, StripeProvider]]:
    stripe_fake = StripeFake()
    async with serving(stripe_fake.app) as url:
        provider = StripeProvider(api_key=API_KEY, api_base=url, timeout=5, webhook_secrets=1)
        try:
            yield stripe_fake, provider
        finally:
            await provider.close()


async def test_one_payment_intent_per_order_however_often_it_is_asked_for(
    fake: tuple[StripeFake, StripeProvider],
) -> None:
    stripe_fake, provider = fake
    order = an_order()
    first = await provider.create_intent(order)
    again = await asyncio.gather(*(provider.create_intent(order) for _ in range(5)))
    assert {i.id for i in again} == {first.id}
    assert {i.client_secret for i in again} == {first.client_secret}
    assert list(stripe_fake.intents) == [first.id]
    intent = stripe_fake.intents[first.id]
    assert (intent["amount"], intent["currency"]) == (10_500, "eur")
    assert intent["metadata"] == {"order_id": "o1", "auction_id": "a1"}
    assert (first.amount_cents, first.currency, first.status) == (
        10_500,
        "EUR",
        "requires_payment_method",
    )
    other = await provider.create_intent(an_order("o2"))
    assert other.id != first.id


async def test_the_same_key_with_other_parameters_is_refused(
    fake: tuple[StripeFake, StripeProvider],
) -> None:
    _, provider = fake
    await provider.create_intent(an_order())
    with pytest.raises(ProviderError) as refused:
        await provider.create_intent(an_order(hammer_cents=20_000))
    assert refused.value.code == "payment_provider_error"
    assert "same parameters" in refused.value.message


async def test_an_intent_is_read_back_as_stripe_has_it(
    fake: tuple[StripeFake, StripeProvider],
) -> None:
    stripe_fake, provider = fake
    order = an_order()
    created = await provider.create_intent(order)
    stripe_fake.succeed(created.id)
    found = await provider.retrieve_intent(created.id, order)
    assert (found.id, found.status) == (created.id, "succeeded")
    with pytest.raises(ProviderError):
        await provider.retrieve_intent("pi_missing", order)


async def test_a_refund_is_made_once_whatever_the_retries(
    fake: tuple[StripeFake, StripeProvider],
) -> None:
    stripe_fake, provider = fake
    order = an_order()
    intent = await provider.create_intent(order)
    paid = replace(order, payment_intent_id=intent.id)
    with pytest.raises(ProviderError):
        await provider.refund(paid)  # nothing was charged yet
    stripe_fake.succeed(intent.id)
    # The refused attempt above used the key: Stripe replays that answer for it.
    retried = replace(paid, id="o1-retry")
    refunds = await asyncio.gather(*(provider.refund(retried) for _ in range(4)))
    assert len({r.id for r in refunds}) == 1
    assert len(stripe_fake.refunds) == 1
    assert (refunds[0].status, refunds[0].amount_cents) == ("succeeded", 10_500)


async def test_the_first_refused_answer_is_replayed_for_its_key(
    fake: tuple[StripeFake, StripeProvider],
) -> None:
    stripe_fake, provider = fake
    order = an_order()
    intent = await provider.create_intent(order)
    paid = replace(order, payment_intent_id=intent.id)
    with pytest.raises(ProviderError):
        await provider.refund(paid)
    stripe_fake.succeed(intent.id)
    with pytest.raises(ProviderError):
        await provider.refund(paid)
    assert stripe_fake.refunds == {}


async def test_cards_never_reach_the_stripe_provider(
    fake: tuple[StripeFake, StripeProvider],
) -> None:
    _, provider = fake
    order = an_order()
    with pytest.raises(CardRefused):
        await provider.confirm(await provider.create_intent(order), order, "4242424242424242")


async def test_a_missing_key_or_an_unreachable_stripe_is_unavailable() -> None:
    unconfigured = StripeProvider(api_key="", api_base="http://127.0.0.1:9")
    with pytest.raises(ProviderError) as missing:
        await unconfigured.create_intent(an_order())
    assert missing.value.unavailable
    with pytest.raises(RuntimeError):
        unconfigured.health()
    away = StripeProvider(
        api_key=API_KEY,
        api_base=f"http://127.0.0.1:{free_port()}",
        timeout=2,
        max_network_retries=0,
    )
    try:
        with pytest.raises(ProviderError) as unreachable:
            await away.create_intent(an_order())
        assert unreachable.value.unavailable
    finally:
        await away.close()
