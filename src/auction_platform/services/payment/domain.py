"""The payment rules: fees, the order state machine and second-chance offers.

Pure: standard library only, the time is an argument. An order is
``awaiting_payment`` until it is paid or past due; a declined attempt keeps it
awaiting (the buyer may retry until the due date); a paid order may be refunded.

Provider events may arrive in any order and more than once, so every transition
is one that order cannot spoil: nothing leaves ``paid`` except a refund, nothing
leaves ``refunded``, and money that arrives for an expired order is recorded and
flagged for a refund instead of reviving the order (the lot may already be
offered to the runner-up).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class Status(StrEnum):
    """Where an order stands."""

    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    EXPIRED = "expired"
    REFUNDED = "refunded"


class SaleFormat(StrEnum):
    """How the lot was sold; every format settles alike, one order per sold lot."""

    ENGLISH = "english"
    SEALED_FIRST_PRICE = "sealed_first_price"
    SEALED_SECOND_PRICE = "sealed_second_price"
    DUTCH = "dutch"


class Fulfilment(StrEnum):
    """How far a paid order's lot has gone towards its buyer."""

    PENDING = "pending"
    SHIPPED = "shipped"  # the seller sent it (or handed it over)
    RECEIVED = "received"  # the buyer confirmed, or the confirmation period ran out


class DeliveryMethod(StrEnum):
    """How the lot reaches the buyer, as the buyer chose among the listing's ways."""

    SHIPPING = "shipping"  # the seller ships to the buyer's address at the listed rate
    BUYER_ARRANGES = "buyer_arranges"  # the buyer sends a courier to collect
    PICKUP = "pickup"  # the buyer collects in the listing's town


@dataclass(frozen=True, slots=True)
class ShippingRate:
    """A flat shipping cost to every country of a list (ISO 3166-1 alpha-2, upper case)."""

    countries: tuple[str, ...]
    cost_cents: int


@dataclass(frozen=True, slots=True)
class DeliveryTerms:
    """The ways a lot may reach its buyer, as its listing offered them."""

    shipping: tuple[ShippingRate, ...] = ()
    buyer_arranges: bool = True
    pickup_town: str | None = None


class OfferStatus(StrEnum):
    """Where a second-chance offer stands."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    EXPIRED = "expired"


class NotAllowed(Exception):
    """A request the rules refuse: a machine-readable code and a sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Terms:
    """What an order costs on top of its price, and how long the buyer has to pay."""

    buyers_premium_percent: Decimal
    seller_fee_percent: Decimal
    due_after: timedelta


@dataclass(frozen=True, slots=True)
class Order:
    """What a buyer owes a seller for one auction."""

    id: str
    auction_id: str
    title: str
    buyer_id: str
    seller_id: str
    currency: str
    hammer_cents: int
    buyers_premium_percent: Decimal
    buyers_premium_cents: int
    seller_fee_percent: Decimal
    seller_fee_cents: int
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    second_chance: bool = False
    status: Status = Status.AWAITING_PAYMENT
    # Kept from AuctionClosed: who gets a second chance if this order expires.
    runner_up_id: str | None = None
    runner_up_max_cents: int | None = None
    payment_intent_id: str | None = None
    attempts: int = 0
    last_failure: str | None = None
    paid_cents: int | None = None
    paid_at: datetime | None = None
    expired_at: datetime | None = None
    refunded_cents: int = 0
    refunded_at: datetime | None = None
    refund_due: bool = False  # money arrived after expiry: give it back
    # The listing's delivery terms when the order was made (None: not known yet, read
    # at checkout), the buyer's choice and what it costs, and how far delivery has gone.
    delivery_terms: DeliveryTerms | None = None
    delivery_method: DeliveryMethod | None = None
    shipping_cents: int = 0
    delivery_address: dict[str, str] | None = None
    fulfilment: Fulfilment = Fulfilment.PENDING
    shipped_at: datetime | None = None
    tracking_number: str | None = None
    carrier: str | None = None
    received_at: datetime | None = None
    format: SaleFormat = SaleFormat.ENGLISH

    @property
    def total_cents(self) -> int:
        """What the buyer pays: the hammer price, the buyer's premium and the shipping."""
        return self.hammer_cents + self.buyers_premium_cents + self.shipping_cents

    @property
    def payout_cents(self) -> int:
        """What the seller receives: the hammer price less the seller fee."""
        return self.hammer_cents - self.seller_fee_cents


@dataclass(frozen=True, slots=True)
class Offer:
    """The runner-up may buy at their maximum bid after the winner did not pay."""

    id: str
    auction_id: str
    from_order_id: str
    title: str
    user_id: str
    seller_id: str
    price_cents: int
    currency: str
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    status: OfferStatus = OfferStatus.OFFERED
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: an account, and whether it holds the admin role."""

    user_id: str
    is_admin: bool = False


def may_see(order: Order, caller: Caller) -> bool:
    """An order is for its buyer, its seller and admins."""
    return caller.user_id in (order.buyer_id, order.seller_id) or caller.is_admin


def sees_seller_side(order: Order, caller: Caller) -> bool:
    """Whether the caller sees the seller's side of an order (fee and payout)."""
    return caller.user_id == order.seller_id or caller.is_admin


@dataclass(frozen=True, slots=True)
class Transition:
    """An order after a provider's news, and what happened (``changed`` when an event is due)."""

    order: Order
    outcome: str
    changed: bool


def percent_of(amount_cents: int, percent: Decimal) -> int:
    """``percent`` of an amount in minor units, rounded half-up to a whole minor unit."""
    exact = Decimal(amount_cents) * percent / Decimal(100)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def new_order(
    *,
    order_id: str,
    auction_id: str,
    title: str,
    buyer_id: str,
    seller_id: str,
    currency: str,
    hammer_cents: int,
    terms: Terms,
    now: datetime,
    second_chance: bool = False,
    runner_up_id: str | None = None,
    runner_up_max_cents: int | None = None,
    delivery_terms: DeliveryTerms | None = None,
    sale_format: SaleFormat = SaleFormat.ENGLISH,
) -> Order:
    """An order awaiting payment, with its fees worked out and recorded."""
    if hammer_cents <= 0:
        raise NotAllowed("invalid_price", "an order needs a positive price")
    no_runner_up = runner_up_id is None or runner_up_id == buyer_id
    if no_runner_up or runner_up_max_cents is None or runner_up_max_cents <= 0:
        runner_up_id, runner_up_max_cents = None, None
    return Order(
        id=order_id,
        auction_id=auction_id,
        title=title,
        buyer_id=buyer_id,
        seller_id=seller_id,
        currency=currency,
        hammer_cents=hammer_cents,
        buyers_premium_percent=terms.buyers_premium_percent,
        buyers_premium_cents=percent_of(hammer_cents, terms.buyers_premium_percent),
        seller_fee_percent=terms.seller_fee_percent,
        seller_fee_cents=percent_of(hammer_cents, terms.seller_fee_percent),
        due_at=now + terms.due_after,
        created_at=now,
        updated_at=now,
        second_chance=second_chance,
        runner_up_id=runner_up_id,
        runner_up_max_cents=runner_up_max_cents,
        delivery_terms=delivery_terms,
        format=sale_format,
    )


def reminder_schedule(order: Order, hours: list[int]) -> list[tuple[int, datetime]]:
    """``(hours_after, due_at)`` of the reminders that fall before the order is due."""
    planned = {h: order.created_at + timedelta(hours=h) for h in hours if h > 0}
    return sorted((h, at) for h, at in planned.items() if at < order.due_at)


def reminder_is_live(order: Order, *, now: datetime) -> bool:
    """A reminder goes out only while the order awaits payment and is not yet due."""
    return order.status is Status.AWAITING_PAYMENT and now < order.due_at


def check_can_pay(order: Order, *, now: datetime) -> None:
    """Raise unless the buyer may (still) start a payment."""
    if order.status is Status.PAID:
        raise NotAllowed("order_paid", "the order is paid already")
    if order.status is Status.REFUNDED:
        raise NotAllowed("order_refunded", "the order was refunded")
    if order.status is Status.EXPIRED or now >= order.due_at:
        raise NotAllowed("order_expired", "the order was not paid by its due date")


def payment_succeeded(order: Order, *, amount_cents: int, now: datetime) -> Transition:
    """A charge succeeded: the order is paid (or, if expired, the money is flagged for refund).

    The success counts as an attempt and clears the failure of the attempts before.
    A success that arrives after the due date but before the expiry job reached
    the order still pays it: the buyer paid, and nobody else was offered the lot.
    """
    if order.status is Status.AWAITING_PAYMENT:
        paid = replace(_succeeded(order, amount_cents, now), status=Status.PAID)
        return Transition(paid, "paid", changed=True)
    if order.status is Status.EXPIRED and order.paid_at is None:
        flagged = replace(_succeeded(order, amount_cents, now), refund_due=True)
        return Transition(flagged, "late_payment_flagged_for_refund", changed=False)
    return Transition(order, f"ignored_{order.status.value}", changed=False)


def _succeeded(order: Order, amount_cents: int, now: datetime) -> Order:
    """The money recorded, one more attempt counted, and no failure left standing."""
    return replace(
        order,
        paid_cents=amount_cents,
        paid_at=now,
        attempts=order.attempts + 1,
        last_failure=None,
        updated_at=now,
    )


# Declines Stripe says to show the buyer as a generic decline: naming them would tell
# whoever holds a lost or stolen card that the bank knows.
CONCEALED_DECLINES = frozenset(
    {
        "fraudulent",
        "lost_card",
        "merchant_blacklist",
        "pickup_card",
        "restricted_card",
        "security_violation",
        "stolen_card",
    }
)


def refusal_code(code: str, decline_code: str | None) -> str:
    """The machine code a buyer is told for a declined card, from the provider's two.

    The provider's reason (``decline_code``: ``insufficient_funds``, ...) when it
    says more than its error code and may be shown; else the error code
    (``card_declined``, ``expired_card``, ``incorrect_cvc``, ``processing_error``, ...).
    """
    if not decline_code or decline_code == "generic_decline":
        return code
    return code if decline_code in CONCEALED_DECLINES else decline_code


def payment_failed(order: Order, *, reason: str, now: datetime) -> Transition:
    """A charge was declined: count the attempt while the order still awaits payment."""
    if order.status is not Status.AWAITING_PAYMENT:
        # A decline that arrives after the success (or the end) changes nothing.
        return Transition(order, f"ignored_{order.status.value}", changed=False)
    failed = replace(order, attempts=order.attempts + 1, last_failure=reason[:200], updated_at=now)
    return Transition(failed, "attempt_recorded", changed=True)


def check_can_refund(order: Order) -> None:
    """Raise unless there is money of this order to give back."""
    if order.status is Status.REFUNDED:
        raise NotAllowed("order_refunded", "the order was refunded already")
    if order.payment_intent_id is None or (
        order.status is not Status.PAID and not order.refund_due
    ):
        raise NotAllowed("order_not_paid", "the order has no payment to refund")


def refunded(order: Order, *, refunded_cents: int, full: bool, now: datetime) -> Transition:
    """The provider gave money back: a full refund ends the order as ``refunded``.

    A refund that arrives before the success it undoes still ends the order
    refunded (the later success then changes nothing). A partial refund (a
    dispute's, or one made outside the platform) is recorded in ``refunded_cents``
    and leaves the order ``paid``; news of an earlier, smaller total changes nothing.
    """
    if order.status is Status.REFUNDED:
        return Transition(order, "ignored_refunded", changed=False)
    if not full:
        if refunded_cents <= order.refunded_cents:
            return Transition(order, "ignored_partial_refund", changed=False)
        partial = replace(order, refunded_cents=refunded_cents, updated_at=now)
        return Transition(partial, "partial_refund_recorded", changed=False)
    done = replace(
        order,
        status=Status.REFUNDED,
        refunded_cents=refunded_cents,
        refunded_at=now,
        refund_due=False,
        paid_at=order.paid_at or now,
        updated_at=now,
    )
    return Transition(done, "refunded", changed=True)


def expire(order: Order, *, now: datetime) -> Order:
    """The due date passed without payment."""
    if order.status is not Status.AWAITING_PAYMENT or now < order.due_at:
        raise NotAllowed("not_due", "only an unpaid order past its due date expires")
    return replace(order, status=Status.EXPIRED, expired_at=now, updated_at=now)


def second_chance_offer(
    order: Order, *, offer_id: str, due_after: timedelta, now: datetime
) -> Offer | None:
    """The runner-up's offer at their maximum once ``order`` expired (no third chance)."""
    if order.status is not Status.EXPIRED or order.second_chance:
        return None
    if order.runner_up_id is None or not order.runner_up_max_cents:
        return None
    return Offer(
        id=offer_id,
        auction_id=order.auction_id,
        from_order_id=order.id,
        title=order.title,
        user_id=order.runner_up_id,
        seller_id=order.seller_id,
        price_cents=order.runner_up_max_cents,
        currency=order.currency,
        due_at=now + due_after,
        created_at=now,
        updated_at=now,
    )


def accept(offer: Offer, *, order_id: str, now: datetime) -> Offer:
    """The runner-up takes the offer before it lapses."""
    if offer.status is OfferStatus.ACCEPTED:
        raise NotAllowed("offer_accepted", "the offer was accepted already")
    if offer.status is OfferStatus.EXPIRED or now >= offer.due_at:
        raise NotAllowed("offer_expired", "the offer has lapsed")
    return replace(offer, status=OfferStatus.ACCEPTED, order_id=order_id, updated_at=now)


def lapse(offer: Offer, *, now: datetime) -> Offer:
    """An offer nobody accepted in time."""
    if offer.status is not OfferStatus.OFFERED or now < offer.due_at:
        raise NotAllowed("not_due", "only an open offer past its due date lapses")
    return replace(offer, status=OfferStatus.EXPIRED, updated_at=now)
