"""What the payout routes answer, as their OpenAPI document shows it (documentation only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from auction_platform.services.payment.answers import SERVER_TIME, Cents
from auction_platform.services.payment.ledger import PayoutStatus


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Payout(_Answer):
    """The money of one received order on its way to its seller."""

    id: str
    order_id: str
    seller_id: str
    amount_cents: Cents = Field(
        description="Hammer less the seller fee, plus shipping, less refunds."
    )
    currency: str
    status: PayoutStatus = Field(
        description=(
            "`pending` (sent by the next run of the payouts job), `awaiting_account` (connect "
            "an account that may receive payouts), `held` (by an admin), `sending`, `paid`, "
            "`failed` (refused or reversed by the provider), `cancelled` (refunded before it "
            "was sent)."
        )
    )
    attempts: int
    hold_reason: str | None
    failure: str | None
    transfer_id: str | None = Field(description="The provider's transfer, once paid.")
    created_at: datetime
    paid_at: datetime | None


class PayoutAnswer(_Answer):
    """One payout."""

    payout: Payout
    server_time: datetime = Field(description=SERVER_TIME)


class PayoutPage(_Answer):
    """A page of payouts, newest first; `next_cursor` asks for the next (null on the last)."""

    items: list[Payout]
    next_cursor: str | None
    server_time: datetime = Field(description=SERVER_TIME)


class Balance(_Answer):
    """A seller's money in one currency."""

    currency: str
    pending_cents: Cents = Field(description="Credited for paid orders not yet received.")
    available_cents: Cents = Field(
        description="Released on receipt and being paid (or held, or awaiting an account)."
    )
    paid_out_cents: Cents = Field(description="Sent to your account.")
    owed_cents: Cents = Field(description="Refunded to a buyer after it was paid out to you.")


class Account(_Answer):
    """The seller's account with the payout provider."""

    provider: str = Field(examples=["sandbox", "stripe"])
    account_id: str
    payouts_enabled: bool


class BalanceAnswer(_Answer):
    """Your balances by currency, and your payout account (null until connected)."""

    balances: list[Balance]
    account: Account | None
    server_time: datetime = Field(description=SERVER_TIME)


class Connection(_Answer):
    """Your payout account and where to finish setting it up."""

    account_id: str
    onboarding_url: str
    payouts_enabled: bool
    provider: str
