"""Event schemas of the payment service (the ``data`` of each envelope).

Money is integer minor units with an ISO 4217 currency; times are ISO 8601 in UTC.
"""

from __future__ import annotations

from typing import TypedDict


class OrderData(TypedDict):
    """An order as the other services need to know it."""

    order_id: str
    auction_id: str
    title: str
    buyer_id: str
    seller_id: str
    currency: str
    hammer_cents: int
    buyers_premium_cents: int
    seller_fee_cents: int
    total_cents: int  # what the buyer pays: hammer + premium
    due_at: str
    second_chance: bool


ORDER_CREATED = "OrderCreated"  # OrderData: the winner owes payment (the "payment due" notice)


class PaymentReminderData(OrderData):
    """A reminder ``hours_after`` hours after the order, while it is unpaid."""

    hours_after: int


PAYMENT_REMINDER = "PaymentReminderDue"
ORDER_PAID = "OrderPaid"  # OrderData: payment received (to buyer and seller)


class PaymentFailedData(OrderData):
    """A charge was declined; the buyer may try again until the due date."""

    reason: str


PAYMENT_FAILED = "PaymentFailed"
ORDER_EXPIRED = "OrderExpired"  # OrderData: unpaid past its due date


class OrderRefundedData(OrderData):
    """An admin refunded the order."""

    refunded_cents: int


ORDER_REFUNDED = "OrderRefunded"


class SecondChanceOfferData(TypedDict):
    """The runner-up may buy at their maximum after the winner did not pay."""

    offer_id: str
    auction_id: str
    title: str
    user_id: str
    seller_id: str
    price_cents: int
    currency: str
    due_at: str


SECOND_CHANCE_OFFERED = "SecondChanceOffered"
