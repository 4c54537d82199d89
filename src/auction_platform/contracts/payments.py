"""Event schemas of the payment service (the ``data`` of each envelope).

Money is integer minor units with an ISO 4217 currency; times are ISO 8601 in UTC.
"""

from __future__ import annotations

from typing import TypedDict

from auction_platform.contracts.auctions import AuctionFormat


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
    total_cents: int  # what the buyer pays: hammer + premium + shipping
    due_at: str
    second_chance: bool
    format: AuctionFormat  # how the lot was sold; every format settles alike
    shipping_cents: int  # 0 until the buyer chose shipping (and for other methods)
    delivery_method: str | None  # "shipping" | "buyer_arranges" | "pickup"; None: not chosen


class DeliveryAddressData(TypedDict):
    """Where the buyer wants the lot (every field present; empty when not given)."""

    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2, upper case
    phone: str


class OrderDeliveryData(OrderData):
    """An order with how it reaches its buyer: the address (None for a collection), the
    pickup town, and the shipment once the seller sent it."""

    delivery_address: DeliveryAddressData | None
    pickup_town: str | None
    tracking_number: str | None
    carrier: str | None
    shipped_at: str | None


ORDER_CREATED = "OrderCreated"  # OrderData: the winner owes payment (the "payment due" notice)


class PaymentReminderData(OrderData):
    """A reminder ``hours_after`` hours after the order, while it is unpaid."""

    hours_after: int


PAYMENT_REMINDER = "PaymentReminderDue"
# OrderDeliveryData: payment received (to buyer and seller; the seller learns how to deliver)
ORDER_PAID = "OrderPaid"
ORDER_SHIPPED = "OrderShipped"  # OrderDeliveryData: the seller sent (or handed over) the lot


class OrderReceivedData(OrderDeliveryData):
    """The buyer confirmed receipt, or the confirmation period ran out (``automatically``)."""

    received_at: str
    automatically: bool


ORDER_RECEIVED = "OrderReceived"


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


class PayoutData(TypedDict):
    """The money of one order sent to its seller's account."""

    payout_id: str
    order_id: str
    title: str  # the lot's
    seller_id: str
    amount_cents: int
    currency: str
    paid_at: str


PAYOUT_SENT = "PayoutSent"  # PayoutData: to the seller


class FeedbackData(TypedDict):
    """A party of an order rated the other (``edited``: changed what they said before)."""

    order_id: str
    auction_id: str
    title: str
    rater_id: str
    rater_role: str  # "buyer" or "seller": the side of the order the rater is on
    ratee_id: str
    rating: str  # "positive", "neutral" or "negative"
    comment: str
    edited: bool
    left_at: str  # when this version was left


FEEDBACK_LEFT = "FeedbackLeft"  # FeedbackData: to the rated party


class DisputeData(TypedDict):
    """A dispute on a paid order, as it stands after the news (the same shape for each event).

    ``DisputeOpened`` goes to the seller; ``DisputeMessage`` to the party (buyer or
    seller) who did not write it (``author_id``, ``author_role`` and ``body`` name the
    message; an admin's goes to both); ``DisputeResolved`` to both parties, with the
    ``outcome`` (``refunded``: the buyer has all their money back; ``decided_refund``:
    an admin had ``refunded_cents`` in all given back; ``decided_for_seller``).
    """

    dispute_id: str
    order_id: str
    auction_id: str
    title: str
    buyer_id: str
    seller_id: str
    currency: str
    reason: str  # "not_received" or "not_as_described"
    status: str  # "open" or "resolved"
    outcome: str | None
    paid_cents: int
    refunded_cents: int  # given back to the buyer so far, by any refund of the order
    author_id: str | None
    author_role: str | None  # "buyer", "seller" or "admin"
    body: str | None
    amount_cents: int | None  # what a refund this news is about gave back
    at: str


DISPUTE_OPENED = "DisputeOpened"  # DisputeData: to the seller
DISPUTE_MESSAGE = "DisputeMessage"  # DisputeData: to the other party
DISPUTE_RESOLVED = "DisputeResolved"  # DisputeData: to both parties
