"""The rules of disputes on paid orders: pure (standard library only, the time is an argument).

A buyer opens one dispute per order, within ``WINDOW`` of paying, while the order is
paid (not wholly refunded). Its buyer, its seller and admins write in its thread. The
seller may give back part or all of what is left of the payment; an admin decides,
giving back an amount (``0`` up to what is left) or closing it in the seller's favour.
A dispute is ``resolved`` by an admin's decision or once the buyer has had all their
money back; a partial refund leaves it open (the buyer may answer, an admin decides).

A refund is asked of the provider between two transactions: the first records it as
pending on the dispute (its number makes its idempotency key), the second records
what came of it. A second request while one is pending is refused, unless it is the
same amount (a retry, sent with the same key, so the provider refunds once).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from auction_platform.services.payment.domain import Caller, NotAllowed, Order, Status

WINDOW = timedelta(days=30)
BODY_MAX = 2000
REASON_MAX = 500


class Reason(StrEnum):
    """Why the buyer disputes the order."""

    NOT_RECEIVED = "not_received"
    NOT_AS_DESCRIBED = "not_as_described"


class DisputeStatus(StrEnum):
    """Where a dispute stands."""

    OPEN = "open"
    RESOLVED = "resolved"


class Outcome(StrEnum):
    """How a dispute ended."""

    REFUNDED = "refunded"  # the buyer has all their money back (the seller's refund)
    DECIDED_REFUND = "decided_refund"  # an admin decided for the buyer (with an amount)
    DECIDED_FOR_SELLER = "decided_for_seller"  # an admin closed it in the seller's favour


class Role(StrEnum):
    """Who writes in a dispute's thread."""

    BUYER = "buyer"
    SELLER = "seller"
    ADMIN = "admin"


class Entry(StrEnum):
    """What a line of the thread records."""

    MESSAGE = "message"
    REFUND = "refund"  # money given back (``amount_cents``)
    DECISION = "decision"  # an admin's decision (``body`` is its reason)


class Decision(StrEnum):
    """What an admin decides."""

    REFUND = "refund"  # give the buyer ``amount_cents`` (0 up to what is left) and close
    SELLER = "seller"  # close in the seller's favour, nothing given back


@dataclass(frozen=True, slots=True)
class Dispute:
    """A buyer's dispute on one paid order."""

    id: str
    order_id: str
    buyer_id: str
    seller_id: str
    reason: Reason
    opened_at: datetime
    updated_at: datetime
    status: DisputeStatus = DisputeStatus.OPEN
    outcome: Outcome | None = None
    resolved_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    refunds: int = 0  # refunds asked of the provider so far (the next one's number)
    pending_refund_cents: int | None = None  # a refund asked for and not yet recorded
    pending_refund_base: int | None = None  # the order's ``refunded_cents`` when it was asked

    @property
    def is_open(self) -> bool:
        """Whether the dispute still holds the order's payout."""
        return self.status is DisputeStatus.OPEN


@dataclass(frozen=True, slots=True)
class Message:
    """One line of a dispute's thread: words, a refund or a decision."""

    id: str
    dispute_id: str
    author_id: str
    author_role: Role
    kind: Entry
    body: str
    created_at: datetime
    amount_cents: int | None = None


def paid_cents(order: Order) -> int:
    """What the buyer paid for the order."""
    return order.paid_cents if order.paid_cents is not None else order.total_cents


def refundable_cents(order: Order) -> int:
    """What is left of the payment to give back."""
    return max(0, paid_cents(order) - order.refunded_cents)


def window_closes_at(order: Order) -> datetime | None:
    """When the buyer may no longer open a dispute (None while the order is unpaid)."""
    return order.paid_at + WINDOW if order.paid_at is not None else None


def clean_text(text: str, *, limit: int, code: str) -> str:
    """Words as kept: trimmed, 1 to ``limit`` characters (line breaks kept)."""
    kept = text.strip()
    if not kept or len(kept) > limit:
        raise NotAllowed(code, f"write 1 to {limit} characters")
    return kept


def check_can_open(
    order: Order, caller: Caller, existing: Dispute | None, *, now: datetime
) -> None:
    """Raise unless the caller may open a dispute on the order now."""
    if caller.user_id != order.buyer_id:
        raise NotAllowed("not_the_buyer", "only the buyer opens a dispute on an order")
    if existing is not None:
        raise NotAllowed("dispute_exists", "the order has a dispute already")
    if order.status is Status.REFUNDED:
        raise NotAllowed("order_refunded", "the order was refunded")
    closes = window_closes_at(order)
    if order.status is not Status.PAID or closes is None:
        raise NotAllowed("order_not_paid", "only a paid order is disputed")
    if now >= closes:
        raise NotAllowed(
            "dispute_window_closed", f"a dispute is opened within {WINDOW.days} days of paying"
        )


def open_dispute(
    order: Order,
    caller: Caller,
    existing: Dispute | None,
    *,
    dispute_id: str,
    message_id: str,
    reason: Reason,
    body: str,
    now: datetime,
) -> tuple[Dispute, Message]:
    """The buyer's dispute and its first message."""
    check_can_open(order, caller, existing, now=now)
    text = clean_text(body, limit=BODY_MAX, code="invalid_message")
    dispute = Dispute(dispute_id, order.id, order.buyer_id, order.seller_id, reason, now, now)
    return dispute, Message(
        message_id, dispute_id, caller.user_id, Role.BUYER, Entry.MESSAGE, text, now
    )


def role_of(dispute: Dispute, caller: Caller) -> Role | None:
    """The caller's part in the dispute (a party before an admin), None when they have none."""
    if caller.user_id == dispute.buyer_id:
        return Role.BUYER
    if caller.user_id == dispute.seller_id:
        return Role.SELLER
    return Role.ADMIN if caller.is_admin else None


def check_open(dispute: Dispute) -> None:
    """Raise unless the dispute is still open."""
    if not dispute.is_open:
        raise NotAllowed("dispute_resolved", "the dispute is resolved")


def write(
    dispute: Dispute, caller: Caller, *, message_id: str, body: str, now: datetime
) -> Message:
    """A message in the thread of an open dispute, by a party or an admin."""
    role = role_of(dispute, caller)
    if role is None:
        raise NotAllowed("not_a_party", "only the buyer, the seller and admins write here")
    check_open(dispute)
    text = clean_text(body, limit=BODY_MAX, code="invalid_message")
    return Message(message_id, dispute.id, caller.user_id, role, Entry.MESSAGE, text, now)


def ask_refund(dispute: Dispute, order: Order, *, amount_cents: int, now: datetime) -> Dispute:
    """Record a refund asked for: its number, amount and the total given back before it.

    A pending refund of the same amount is the same refund asked again (same number,
    same key); another amount waits until it is recorded.
    """
    check_open(dispute)
    if dispute.pending_refund_cents is not None:
        if dispute.pending_refund_cents == amount_cents:
            return dispute
        raise NotAllowed("refund_in_progress", "a refund of this dispute is being made")
    if amount_cents < 1:
        raise NotAllowed("invalid_amount", "a refund is at least one minor unit")
    if amount_cents > refundable_cents(order):
        raise NotAllowed(
            "refund_exceeds_payment",
            f"at most {refundable_cents(order)} is left of the payment to give back",
        )
    return replace(
        dispute,
        refunds=dispute.refunds + 1,
        pending_refund_cents=amount_cents,
        pending_refund_base=order.refunded_cents,
        updated_at=now,
    )


def refund_target(dispute: Dispute) -> int:
    """The order's ``refunded_cents`` once the pending refund is recorded."""
    assert dispute.pending_refund_cents is not None and dispute.pending_refund_base is not None
    return dispute.pending_refund_base + dispute.pending_refund_cents


def refund_settled(dispute: Dispute, *, now: datetime) -> Dispute:
    """The pending refund is recorded (or failed): another may be asked for."""
    return replace(dispute, pending_refund_cents=None, pending_refund_base=None, updated_at=now)


def resolve(
    dispute: Dispute,
    outcome: Outcome,
    *,
    now: datetime,
    decided_by: str | None = None,
    reason: str | None = None,
) -> Dispute:
    """The dispute ends with ``outcome``: the order's payout is no longer held for it."""
    return replace(
        dispute,
        status=DisputeStatus.RESOLVED,
        outcome=outcome,
        resolved_at=now,
        decided_by=decided_by,
        decision_reason=reason,
        updated_at=now,
    )


def check_decision(dispute: Dispute, decision: Decision, amount_cents: int) -> None:
    """Raise unless an admin may decide so (an amount only with ``refund``); a decision that
    gives nothing back needs an open dispute with no refund under way (one that gives money
    back is checked as any refund, ``ask_refund``)."""
    if amount_cents < 0 or (decision is Decision.SELLER and amount_cents != 0):
        raise NotAllowed("invalid_amount", "a decision for the seller gives nothing back")
    if amount_cents == 0:
        check_open(dispute)
        if dispute.pending_refund_cents is not None:
            raise NotAllowed("refund_in_progress", "a refund of this dispute is being made")
