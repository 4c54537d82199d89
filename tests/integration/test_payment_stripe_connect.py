"""The Stripe Connect payout provider (the official SDK) against the local fake of Stripe's API.

The fake remembers idempotency keys as Stripe does, so these tests show that one
seller gets one connected account and one payout attempt one transfer, however
often (and however concurrently) it is asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from auction_platform.services.payment.ledger import Payout, PayoutStatus
from auction_platform.services.payment.payout_providers import SandboxPayouts, StripeConnect
from auction_platform.services.payment.providers import ProviderError, StripeProvider
from support.http_server import free_port, serving
from support.stripe_fake import API_KEY, StripeFake

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BACK = {"return_url": "https://example.com/account/payouts?connected=1"}


def a_payout(amount: int = 9_000, attempts: int = 1) -> Payout:
    return Payout(
        "p1", "o1", "sam", "EUR", amount, NOW, NOW, status=PayoutStatus.SENDING, attempts=attempts
    )


@pytest.fixture
async def fake() -> AsyncIterator[tuple[StripeFake, StripeConnect]]:
    stripe_fake = StripeFake()
    async with serving(stripe_fake.app) as url:
        payments = StripeProvider(api_key=API_KEY, api_base=url, timeout=5, webhook_secrets=1)
        try:
            yield stripe_fake, StripeConnect(payments.client)
        finally:
            await payments.close()


async def test_a_seller_gets_one_express_account_and_a_fresh_onboarding_link(
    fake: tuple[StripeFake, StripeConnect],
) -> None:
    stripe_fake, connect = fake
    first = await connect.connect(
        "sam", None, refresh_url="https://example.com/account/payouts", **BACK
    )
    assert first.account_id.startswith("acct_") and not first.payouts_enabled
    assert first.url.startswith("https://connect.stripe.com/")
    again = await asyncio.gather(
        *(connect.connect("sam", None, refresh_url="https://e.com/r", **BACK) for _ in range(3))
    )
    assert {o.account_id for o in again} == {first.account_id}
    assert list(stripe_fake.accounts) == [first.account_id]
    account = stripe_fake.accounts[first.account_id]
    assert (account["type"], account["metadata"]) == ("express", {"seller_id": "sam"})
    known = await connect.connect("sam", first.account_id, refresh_url="https://e.com/r", **BACK)
    assert known.account_id == first.account_id and known.url != first.url
    assert stripe_fake.calls.count("POST /v1/accounts") == 4  # three replayed by their key


async def test_one_attempt_is_one_transfer_whatever_the_retries(
    fake: tuple[StripeFake, StripeConnect],
) -> None:
    stripe_fake, connect = fake
    onboarding = await connect.connect("sam", None, refresh_url="https://e.com/r", **BACK)
    stripe_fake.finish_onboarding(onboarding.account_id)
    payout = a_payout()
    sent = await asyncio.gather(
        *(connect.transfer(payout, destination=onboarding.account_id) for _ in range(4))
    )
    assert len(set(sent)) == 1
    [transfer] = stripe_fake.transfers.values()
    assert (transfer["amount"], transfer["currency"], transfer["destination"]) == (
        9_000,
        "eur",
        onboarding.account_id,
    )
    assert transfer["transfer_group"] == "o1"
    assert transfer["metadata"] == {"payout_id": "p1", "order_id": "o1"}
    next_attempt = await connect.transfer(
        replace(payout, attempts=2), destination=onboarding.account_id
    )
    assert next_attempt != sent[0]


async def test_a_transfer_stripe_refuses_is_a_refusal_not_an_outage(
    fake: tuple[StripeFake, StripeConnect],
) -> None:
    stripe_fake, connect = fake
    onboarding = await connect.connect("sam", None, refresh_url="https://e.com/r", **BACK)
    with pytest.raises(ProviderError) as not_enabled:
        await connect.transfer(a_payout(), destination=onboarding.account_id)
    assert not not_enabled.value.unavailable
    stripe_fake.finish_onboarding(onboarding.account_id)
    stripe_fake.balance_cents = 100
    with pytest.raises(ProviderError) as broke:
        await connect.transfer(a_payout(attempts=2), destination=onboarding.account_id)
    assert not broke.value.unavailable
    assert "insufficient funds" in broke.value.message
    assert stripe_fake.transfers == {}


async def test_an_unreachable_stripe_is_unavailable_and_the_attempt_can_be_asked_again() -> None:
    away = StripeProvider(
        api_key=API_KEY,
        api_base=f"http://127.0.0.1:{free_port()}",
        timeout=2,
        max_network_retries=0,
    )
    try:
        with pytest.raises(ProviderError) as unreachable:
            await StripeConnect(away.client).transfer(a_payout(), destination="acct_x")
        assert unreachable.value.unavailable
    finally:
        await away.close()


async def test_the_sandbox_enables_accounts_at_once_and_names_transfers_by_attempt() -> None:
    sandbox = SandboxPayouts()
    onboarding = await sandbox.connect("sam", None, refresh_url="https://e.com/r", **BACK)
    assert (onboarding.account_id, onboarding.payouts_enabled) == ("acct_sandbox_sam", True)
    assert onboarding.url == BACK["return_url"]
    first = await sandbox.transfer(a_payout(), destination="acct_sandbox_sam")
    assert first == await sandbox.transfer(a_payout(), destination="acct_sandbox_sam")
    assert first != await sandbox.transfer(a_payout(attempts=2), destination="acct_sandbox_sam")
