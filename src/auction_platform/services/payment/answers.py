"""What the payment service's routes answer, as their OpenAPI document shows it.

Documentation only: the routes build their dicts (``views``) and are not checked
against these at run time; the API fuzz run checks every answer against its
documented schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from auction_platform.services.payment.domain import (
    DeliveryMethod,
    Fulfilment,
    OfferStatus,
    Status,
)

Cents = Annotated[int, Field(ge=0)]
Percent = Annotated[str, Field(description='A decimal number, e.g. `"5.0"`.', examples=["5.0"])]
SERVER_TIME = "The server's clock (UTC), to count down to a deadline."


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ShippingRate(_Answer):
    """A flat shipping cost to every country of a list."""

    countries: list[str] = Field(examples=[["DE", "AT"]])
    cost_cents: Cents


class DeliveryTerms(_Answer):
    """The ways the lot's listing offers (see the listing's `delivery`)."""

    shipping: list[ShippingRate]
    buyer_arranges: bool
    pickup_town: str | None


class Address(_Answer):
    """Where the lot goes (empty strings for fields not given)."""

    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str = Field(description="ISO 3166-1 alpha-2.", examples=["DE"])
    phone: str


class Delivery(_Answer):
    """How the lot reaches the buyer, and how far it has gone."""

    method: DeliveryMethod | None = Field(description="Null until the buyer chose (or paid).")
    address: Address | None = Field(
        description="The buyer's address: to the seller only once the order is paid."
    )
    terms: DeliveryTerms | None = Field(description="The ways offered.")
    tracking_number: str | None
    carrier: str | None


class Order(_Answer):
    """An order: what the buyer owes for a lot won. The seller's fee and payout are
    shown only to the seller and to admins."""

    id: str
    auction_id: str
    title: str
    buyer_id: str
    seller_id: str
    status: Status
    currency: str
    hammer_cents: Cents = Field(description="The price the lot sold at.")
    buyers_premium_percent: Percent
    buyers_premium_cents: Cents
    total_cents: Cents = Field(description="What the buyer pays: hammer, premium and shipping.")
    shipping_cents: Cents = Field(description="The shipping cost of the chosen method.")
    delivery: Delivery
    fulfilment: Fulfilment = Field(
        description="`pending` until shipped (or collected), `shipped`, then `received`."
    )
    shipped_at: datetime | None
    received_at: datetime | None = Field(
        description="The buyer confirmed receipt, or it was confirmed for them."
    )
    second_chance: bool = Field(description="Bought through a second-chance offer.")
    format: Literal["english", "sealed_first_price", "sealed_second_price", "dutch"] = Field(
        description="How the lot was sold; every format settles alike, one order per sold lot."
    )
    due_at: datetime
    created_at: datetime
    paid_at: datetime | None
    expired_at: datetime | None
    refunded_at: datetime | None
    refunded_cents: Cents
    payment_attempts: int = Field(description="Every try to pay, declined ones included.")
    last_payment_failure: str | None = Field(
        description="Why the last try was declined, until a payment succeeds."
    )
    refund_due: bool = Field(description="Paid after it expired: the money is to go back.")
    seller_fee_percent: Percent | None = Field(default=None, description="Seller and admins.")
    seller_fee_cents: Cents | None = Field(default=None, description="Seller and admins.")
    payout_cents: Cents | None = Field(default=None, description="Seller and admins.")


class OrderAnswer(_Answer):
    """One order."""

    order: Order
    server_time: datetime = Field(description=SERVER_TIME)


class OrderPage(_Answer):
    """A page of orders, newest first; `next_cursor` asks for the next (null on the last)."""

    items: list[Order]
    next_cursor: str | None
    server_time: datetime = Field(description=SERVER_TIME)


class Payment(_Answer):
    """The provider's payment intent, as the buyer's client needs it."""

    provider: str = Field(examples=["sandbox", "stripe"])
    payment_intent_id: str
    client_secret: str = Field(description="Confirmed in the browser with Stripe.js.")
    status: str = Field(examples=["succeeded", "requires_payment_method"])
    amount: Cents
    currency: str


class PaymentAnswer(OrderAnswer):
    """The order, and the payment started (or made) for it."""

    payment: Payment


class Offer(_Answer):
    """A second-chance offer: the lot at your last bid, after its winner did not pay."""

    id: str
    auction_id: str
    title: str
    user_id: str
    seller_id: str
    price_cents: Cents
    currency: str
    status: OfferStatus
    due_at: datetime
    order_id: str | None = Field(description="The order, once the offer is taken.")
    created_at: datetime


class OfferList(_Answer):
    """Your second-chance offers, newest first."""

    items: list[Offer]
    server_time: datetime = Field(description=SERVER_TIME)


class WebhookReceipt(_Answer):
    """What became of one delivery of a Stripe event."""

    received: bool
    event_id: str
    duplicate: bool = Field(description="Delivered before: nothing was done again.")
    outcome: str = Field(examples=["paid", "ignored_type", "unknown_order"])
