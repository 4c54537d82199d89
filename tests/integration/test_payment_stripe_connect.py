"""Stripe Connect payouts against the local fake of Stripe's API.

The provider (the official SDK) on its own: the fake remembers idempotency keys as
Stripe does, so one seller gets one connected account and one payout attempt one
transfer, however often (and however concurrently) it is asked. Then the payment
service in Stripe mode, embedded and distributed: connecting, Stripe's signed
``account.updated`` and ``transfer.reversed``, and the payouts job.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from test_payment_payouts import (
    balance,
    connect,
    ledger_of,
    paid_out,
    payments,
    payouts_of,
)
from test_payment_stripe_webhooks import World, stripe_world

from auction_platform.services.payment import payout_scheduler
from auction_platform.services.payment.domain import Order
from auction_platform.services.payment.ledger import Payout, PayoutStatus
from auction_platform.services.payment.payout_providers import (
    Onboarding,
    PayoutProvider,
    SandboxPayouts,
    StripeConnect,
)
from auction_platform.services.payment.providers import ProviderError, StripeProvider
from auction_platform.settings import Settings
from support.auctions import admin_token
from support.http_server import free_port, serving
from support.sales import shipped_and_received
from support.stripe_fake import API_KEY, StripeFake
from support.waiting import eventually

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


# --- the payment service in Stripe mode: connect, Stripe's webhooks, the payouts job ---------


@pytest.fixture
async def stripe_mode(make_settings: Callable[..., Settings]) -> AsyncIterator[World]:
    async with stripe_world(make_settings) as made:
        yield made


async def paid_in_stripe(stripe_mode: World) -> Order:
    order = await stripe_mode.order()
    answer = await stripe_mode.deliver(stripe_mode.stripe.succeed(await stripe_mode.intent(order)))
    assert answer.json()["outcome"] == "paid"
    return order


async def test_a_seller_connects_and_stripe_enabling_the_account_sends_the_payout(
    stripe_mode: World,
) -> None:
    order = await paid_in_stripe(stripe_mode)
    await shipped_and_received(stripe_mode.platform, order)
    [waiting] = await payouts_of(stripe_mode.http, stripe_mode.seller)
    assert waiting["status"] == "awaiting_account"
    connected = await connect(stripe_mode.http, stripe_mode.seller)
    assert connected["payouts_enabled"] is False
    assert connected["onboarding_url"].startswith("https://connect.stripe.com/")
    [account_id] = stripe_mode.stripe.accounts
    assert connected["account_id"] == account_id
    assert stripe_mode.stripe.accounts[account_id]["metadata"] == {
        "seller_id": stripe_mode.seller.id
    }
    again = await connect(stripe_mode.http, stripe_mode.seller)  # a fresh link to the same account
    assert again["account_id"] == account_id and len(stripe_mode.stripe.accounts) == 1
    await payout_scheduler.run_once(payments(stripe_mode.platform))
    assert stripe_mode.stripe.transfers == {}
    enabled = stripe_mode.stripe.finish_onboarding(account_id)
    forged = await stripe_mode.deliver(enabled, secret="whsec_someone_else")
    assert (forged.status_code, forged.json()["error"]["code"]) == (400, "invalid_signature")
    answer = await stripe_mode.deliver(enabled)
    assert answer.json()["outcome"] == "account_enabled"
    await paid_out(stripe_mode.http, stripe_mode.seller)
    [transfer] = stripe_mode.stripe.transfers.values()
    assert (transfer["amount"], transfer["destination"], transfer["transfer_group"]) == (
        9_000,
        account_id,
        order.id,
    )
    assert (await stripe_mode.deliver(enabled)).json()["duplicate"] is True


async def test_a_reversed_transfer_fails_the_payout_and_credits_the_ledger_once(
    stripe_mode: World,
) -> None:
    connected = await connect(stripe_mode.http, stripe_mode.seller)
    await stripe_mode.deliver(stripe_mode.stripe.finish_onboarding(connected["account_id"]))
    order = await paid_in_stripe(stripe_mode)
    await shipped_and_received(stripe_mode.platform, order)
    await paid_out(stripe_mode.http, stripe_mode.seller)
    [transfer_id] = stripe_mode.stripe.transfers
    reversed_event = stripe_mode.stripe.reverse(transfer_id)
    forged = await stripe_mode.deliver(reversed_event, secret="whsec_someone_else")
    assert forged.status_code == 400
    answer = await stripe_mode.deliver(reversed_event)
    assert answer.json()["outcome"] == "payout_reversed"
    again = dict(reversed_event, id=f"{reversed_event['id']}_again")  # another delivery
    assert (await stripe_mode.deliver(again)).json()["outcome"] == "ignored_failed"
    [payout] = await payouts_of(stripe_mode.http, stripe_mode.seller)
    assert (payout["status"], payout["failure"]) == ("failed", "the transfer was reversed")
    kinds = [e.kind.value for e in await ledger_of(stripe_mode.platform, order.id)]
    assert kinds == ["sale", "payout", "payout_reversed"]
    [eur] = (await balance(stripe_mode.http, stripe_mode.seller))["balances"]
    assert (eur["available_cents"], eur["paid_out_cents"]) == (9_000, 0)


async def test_a_transfer_stripe_refuses_fails_the_payout_until_an_admin_releases_it(
    stripe_mode: World,
) -> None:
    connected = await connect(stripe_mode.http, stripe_mode.seller)
    await stripe_mode.deliver(stripe_mode.stripe.finish_onboarding(connected["account_id"]))
    stripe_mode.stripe.balance_cents = 0
    order = await paid_in_stripe(stripe_mode)
    await shipped_and_received(stripe_mode.platform, order)

    async def failed() -> bool:
        return (await payouts_of(stripe_mode.http, stripe_mode.seller))[0]["status"] == "failed"

    await eventually(failed)
    [payout] = await payouts_of(stripe_mode.http, stripe_mode.seller)
    assert "insufficient funds" in payout["failure"]
    assert [e.kind.value for e in await ledger_of(stripe_mode.platform, order.id)] == ["sale"]
    stripe_mode.stripe.balance_cents = 1_000_000
    admin = await admin_token(stripe_mode.http, stripe_mode.platform)
    released = await stripe_mode.http.post(f"/api/v1/payouts/{payout['id']}/release", headers=admin)
    assert released.json()["payout"]["status"] == "pending"
    await paid_out(stripe_mode.http, stripe_mode.seller)
    [done] = await payouts_of(stripe_mode.http, stripe_mode.seller)
    assert done["attempts"] == 2 and len(stripe_mode.stripe.transfers) == 1


class LostAnswer:
    """Stripe makes the transfer, but its answer never arrives (the first time)."""

    name = "stripe"

    def __init__(self, real: PayoutProvider) -> None:
        self.real = real
        self.made: list[str] = []

    async def connect(
        self, seller_id: str, account_id: str | None, *, return_url: str, refresh_url: str
    ) -> Onboarding:
        return await self.real.connect(
            seller_id, account_id, return_url=return_url, refresh_url=refresh_url
        )

    async def transfer(self, payout: Payout, *, destination: str) -> str:
        made = await self.real.transfer(payout, destination=destination)
        if not self.made:
            self.made.append(made)
            raise ProviderError("payment_provider_unavailable", "timed out", unavailable=True)
        return made


async def test_a_payout_whose_answer_was_lost_is_asked_again_with_its_key_and_paid_once(
    stripe_mode: World,
) -> None:
    connected = await connect(stripe_mode.http, stripe_mode.seller)
    await stripe_mode.deliver(stripe_mode.stripe.finish_onboarding(connected["account_id"]))
    ctx = payments(stripe_mode.platform)
    lossy = LostAnswer(ctx.payout_provider)
    ctx.payout_provider = lossy
    order = await paid_in_stripe(stripe_mode)
    await shipped_and_received(stripe_mode.platform, order)

    async def lost() -> bool:
        return bool(lossy.made)

    await eventually(lost)
    [sending] = await payouts_of(stripe_mode.http, stripe_mode.seller)
    assert (sending["status"], sending["attempts"]) == ("sending", 1)
    await payout_scheduler.run_once(ctx)  # not yet: another pod may still be sending it
    assert (await payouts_of(stripe_mode.http, stripe_mode.seller))[0]["status"] == "sending"
    later = ctx.clock() + timedelta(minutes=11)
    stripe_mode.platform.runtimes["payment"].clock = lambda: later
    await payout_scheduler.run_once(ctx, now=later)
    [paid] = await payouts_of(stripe_mode.http, stripe_mode.seller)
    assert (paid["status"], paid["attempts"], paid["transfer_id"]) == ("paid", 1, lossy.made[0])
    assert list(stripe_mode.stripe.transfers) == lossy.made
