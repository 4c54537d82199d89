"""Payout providers behind one interface: Stripe Connect (its official SDK) and the sandbox.

A seller connects an account once (``connect``): with Stripe, an Express connected
account and an onboarding link to finish it on Stripe's site; Stripe then reports
with ``account.updated`` when the account may receive payouts. The sandbox's
accounts may receive money at once. A payout is one transfer to the seller's
account (``transfer``), with an idempotency key per payout and attempt
(``tr-{payout_id}-{attempt}``): a transfer asked again after a lost answer is the
same transfer. Stripe reports a transfer it takes back as ``transfer.reversed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import stripe
from stripe.params import AccountCreateParams, AccountLinkCreateParams, TransferCreateParams

from auction_platform.services.payment.ledger import Payout
from auction_platform.services.payment.providers import translate


@dataclass(frozen=True, slots=True)
class Onboarding:
    """A seller's account with the provider, and where they finish setting it up."""

    account_id: str
    url: str
    payouts_enabled: bool


class PayoutProvider(Protocol):
    """What the payouts job and the seller's connect request ask of a provider."""

    name: str

    async def connect(
        self, seller_id: str, account_id: str | None, *, return_url: str, refresh_url: str
    ) -> Onboarding: ...

    async def transfer(self, payout: Payout, *, destination: str) -> str: ...


def transfer_key(payout: Payout) -> str:
    """The idempotency key of one attempt at sending a payout."""
    return f"tr-{payout.id}-{payout.attempts}"


class SandboxPayouts:
    """In-process and deterministic: accounts may receive money at once, transfers succeed."""

    name = "sandbox"

    async def connect(
        self, seller_id: str, account_id: str | None, *, return_url: str, refresh_url: str
    ) -> Onboarding:
        """The seller's sandbox account, enabled; the onboarding page is our own."""
        return Onboarding(account_id or f"acct_sandbox_{seller_id}", return_url, True)

    async def transfer(self, payout: Payout, *, destination: str) -> str:
        """The transfer's id, the same for the same attempt."""
        return f"tr_sandbox_{payout.id}_{payout.attempts}"


class StripeConnect:
    """Stripe Connect: Express accounts, onboarding links and transfers, via the SDK."""

    name = "stripe"

    def __init__(self, client: Callable[[], stripe.StripeClient]) -> None:
        # The payment provider's client: one connection pool, one API key.
        self._client = client

    async def connect(
        self, seller_id: str, account_id: str | None, *, return_url: str, refresh_url: str
    ) -> Onboarding:
        """The seller's Express account (made once) and a fresh onboarding link to it."""
        client = self._client()
        try:
            if account_id is None:
                params: AccountCreateParams = {
                    "type": "express",
                    "capabilities": {"transfers": {"requested": True}},
                    "metadata": {"seller_id": seller_id},
                }
                account = await client.v1.accounts.create_async(
                    params, options={"idempotency_key": f"acct-{seller_id}"}
                )
                account_id = account.id
            link_params: AccountLinkCreateParams = {
                "account": account_id,
                "type": "account_onboarding",
                "return_url": return_url,
                "refresh_url": refresh_url,
            }
            link = await client.v1.account_links.create_async(link_params)
        except stripe.StripeError as error:
            raise translate(error) from error
        return Onboarding(account_id, link.url, False)

    async def transfer(self, payout: Payout, *, destination: str) -> str:
        """Move the payout to the seller's connected account (grouped by its order)."""
        params: TransferCreateParams = {
            "amount": payout.amount_cents,
            "currency": payout.currency.lower(),
            "destination": destination,
            "transfer_group": payout.order_id,
            "metadata": {"payout_id": payout.id, "order_id": payout.order_id},
        }
        try:
            done = await self._client().v1.transfers.create_async(
                params, options={"idempotency_key": transfer_key(payout)}
            )
        except stripe.StripeError as error:
            raise translate(error) from error
        return done.id
