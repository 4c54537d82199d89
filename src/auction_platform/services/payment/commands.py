"""The commands of the payment use cases: what each is asked to do, as the HTTP edge parsed it.

Standard library only, like ``domain``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from auction_platform.services.payment.domain import Caller, DeliveryMethod, Status


class Party(StrEnum):
    """Whose orders a list shows: the caller's as buyer or as seller, or everyone's."""

    BUYER = "buyer"
    SELLER = "seller"
    ANY = "any"  # every order: admins only


@dataclass(frozen=True, slots=True)
class ListOrders:
    """One page of orders, newest first, after ``cursor``; only ``status`` when given."""

    caller: Caller
    party: Party = Party.BUYER
    status: Status | None = None
    cursor: str | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class Idempotency:
    """The client's Idempotency-Key and a fingerprint of the request that came with it."""

    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class Pay:
    """Start (or resume) paying an order; ``card`` is a test card, for the sandbox only.

    With ``idempotency``, the first answer is recorded and given again to the same
    request with the same key (nothing is charged twice).
    """

    order_id: str
    buyer: Caller
    card: str | None = None
    idempotency: Idempotency | None = None


@dataclass(frozen=True, slots=True)
class ChooseDelivery:
    """The buyer's way of delivery; ``address`` fields as ``delivery.ADDRESS_FIELDS``."""

    order_id: str
    buyer: Caller
    method: DeliveryMethod
    address: dict[str, str | None] | None = None


@dataclass(frozen=True, slots=True)
class MarkShipped:
    """The seller sent (or handed over) a paid order's lot."""

    order_id: str
    seller: Caller
    tracking_number: str | None = None
    carrier: str | None = None


@dataclass(frozen=True, slots=True)
class ConfirmReceipt:
    """The buyer has the lot; ``buyer`` None when the confirmation period ran out."""

    order_id: str
    buyer: Caller | None = None


@dataclass(frozen=True, slots=True)
class RefundOrder:
    """Give a paid order's money back (an admin's decision: ``actor_id``, for ``reason``)."""

    order_id: str
    actor_id: str = "system"
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AcceptOffer:
    """Take a second-chance offer made to ``user_id``."""

    offer_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class ReceiveWebhook:
    """A provider's delivery: the raw body and its ``Stripe-Signature`` header."""

    payload: bytes
    signature: str | None
