"""The seller ledger and payouts: pure rules (standard library only, the time is an argument).

The ledger is append-only. A paid order credits its seller the hammer price less
the seller fee plus shipping (``sale``); money given back to the buyer debits the
seller's share of it (``refund``, never more than was credited); money sent to the
seller is a ``payout`` debit, and a transfer the provider reverses credits it back
(``payout_reversed``). So the ledger's sum is what the platform still owes its
sellers. Each entry is unique per (order, kind, ref), so a redelivered provider
event finds its entry there and adds nothing.

A payout is one row per order, released when the buyer confirms receipt. It is
``pending`` until the payouts job sends it (``sending`` while the provider is
asked), ``awaiting_account`` while the seller has no connected account that may
receive money, ``held`` while an admin holds it (or while its order's dispute is
open), then ``paid`` or ``failed``. A refund before it is sent shrinks it
(``cancelled`` when nothing is left).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Protocol


class EntryKind(StrEnum):
    """What a ledger entry records."""

    SALE = "sale"  # credit: a paid order
    REFUND = "refund"  # debit: the seller's share of money given back to the buyer
    PAYOUT = "payout"  # debit: money sent to the seller
    PAYOUT_REVERSED = "payout_reversed"  # credit: the provider took a transfer back


CREDITS = frozenset({EntryKind.SALE, EntryKind.PAYOUT_REVERSED})


class PayoutStatus(StrEnum):
    """Where a payout stands."""

    PENDING = "pending"
    AWAITING_ACCOUNT = "awaiting_account"
    HELD = "held"
    SENDING = "sending"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"


# Released but not (yet) in the seller's account: shown as "available / being paid".
UNSENT = frozenset(
    {
        PayoutStatus.PENDING,
        PayoutStatus.AWAITING_ACCOUNT,
        PayoutStatus.HELD,
        PayoutStatus.SENDING,
        PayoutStatus.FAILED,
    }
)


# The ``hold_reason`` of a payout held because its order's dispute is open: the dispute's
# end releases it; any other reason is an admin's hold, which only an admin releases.
DISPUTE_HOLD = "held while the order's dispute is open"


class Refused(Exception):
    """A payout request the rules refuse: a machine-readable code and a sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Sale(Protocol):
    """What the ledger reads of an order."""

    @property
    def id(self) -> str: ...

    @property
    def seller_id(self) -> str: ...

    @property
    def currency(self) -> str: ...

    @property
    def hammer_cents(self) -> int: ...

    @property
    def seller_fee_cents(self) -> int: ...

    @property
    def total_cents(self) -> int: ...

    @property
    def shipping_cents(self) -> int: ...

    @property
    def paid_cents(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a seller's ledger; ``amount_cents`` is positive, ``kind`` gives its sign."""

    order_id: str
    seller_id: str
    kind: EntryKind
    amount_cents: int
    currency: str
    created_at: datetime
    ref: str = ""

    @property
    def signed_cents(self) -> int:
        """The entry as it moves what the platform owes the seller."""
        return self.amount_cents if self.kind in CREDITS else -self.amount_cents


@dataclass(frozen=True, slots=True)
class Payout:
    """The money of one order on its way to the seller."""

    id: str
    order_id: str
    seller_id: str
    currency: str
    amount_cents: int
    created_at: datetime
    updated_at: datetime
    status: PayoutStatus = PayoutStatus.PENDING
    attempts: int = 0
    hold_reason: str | None = None
    transfer_id: str | None = None
    failure: str | None = None
    paid_at: datetime | None = None


def sale_credit(order: Sale) -> int:
    """What a paid order credits its seller: hammer less the seller fee, plus shipping."""
    return order.hammer_cents - order.seller_fee_cents + order.shipping_cents


def net_cents(entries: Iterable[Entry]) -> int:
    """The sum of entries, credits less debits."""
    return sum(e.signed_cents for e in entries)


def _of(entries: Iterable[Entry], *kinds: EntryKind) -> int:
    return sum(e.amount_cents for e in entries if e.kind in kinds)


def earned(entries: Iterable[Entry]) -> int:
    """What an order's sale left the seller after refunds (before any payout)."""
    listed = list(entries)
    return _of(listed, EntryKind.SALE) - _of(listed, EntryKind.REFUND)


def credit_sale(order: Sale, entries: Iterable[Entry], *, now: datetime) -> Entry | None:
    """The ``sale`` credit of a paid order; None when it is recorded already."""
    if any(e.kind is EntryKind.SALE for e in entries):
        return None
    return Entry(order.id, order.seller_id, EntryKind.SALE, sale_credit(order), order.currency, now)


def refund_share(credit: int, *, refunded_cents: int, paid_cents: int) -> int:
    """The seller's part of a refund: the credit in the proportion refunded, at most all of it."""
    if refunded_cents <= 0 or credit <= 0:
        return 0
    if paid_cents <= 0 or refunded_cents >= paid_cents:
        return credit
    exact = Decimal(credit) * Decimal(refunded_cents) / Decimal(paid_cents)
    return min(credit, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def debit_refund(
    order: Sale, entries: Iterable[Entry], *, refunded_cents: int, now: datetime
) -> Entry | None:
    """The debit that brings an order's refund debits to its share of ``refunded_cents``.

    ``refunded_cents`` is everything given back so far (refunds are full today, but
    partial ones add up): only what is not debited yet is debited, keyed by that
    total, so the same refund reported twice debits once. An order never credited
    (paid after it expired) debits nothing.
    """
    listed = list(entries)
    credit = _of(listed, EntryKind.SALE)
    paid = order.paid_cents if order.paid_cents else order.total_cents
    due = refund_share(credit, refunded_cents=refunded_cents, paid_cents=paid)
    missing = due - _of(listed, EntryKind.REFUND)
    if missing <= 0:
        return None
    return Entry(
        order.id,
        order.seller_id,
        EntryKind.REFUND,
        missing,
        order.currency,
        now,
        ref=str(refunded_cents),
    )


def release(
    order: Sale,
    entries: Iterable[Entry],
    *,
    payout_id: str,
    account_ready: bool,
    now: datetime,
) -> Payout | None:
    """The payout of an order whose receipt is confirmed: what the sale left, if anything."""
    amount = earned(entries)
    if amount <= 0:
        return None
    status = PayoutStatus.PENDING if account_ready else PayoutStatus.AWAITING_ACCOUNT
    return Payout(
        payout_id, order.id, order.seller_id, order.currency, amount, now, now, status=status
    )


def after_refund(payout: Payout, entries: Iterable[Entry], *, now: datetime) -> Payout:
    """A payout not yet sent shrinks to what a refund left (cancelled when nothing is)."""
    if payout.status not in UNSENT or payout.status is PayoutStatus.SENDING:
        return payout  # sent (or being sent): the debit stays owed in the ledger
    left = max(0, earned(entries))
    if left == payout.amount_cents:
        return payout
    if left == 0:
        return replace(payout, amount_cents=0, status=PayoutStatus.CANCELLED, updated_at=now)
    return replace(payout, amount_cents=left, updated_at=now)


def hold(payout: Payout, *, reason: str, now: datetime) -> Payout:
    """An admin (or an open dispute) stops a payout from being sent until released.

    An admin's hold takes over a dispute's, so it outlasts the dispute.
    """
    if payout.status is PayoutStatus.HELD and payout.hold_reason != DISPUTE_HOLD:
        raise Refused("payout_held", "the payout is held already")
    if payout.status not in UNSENT or payout.status is PayoutStatus.SENDING:
        raise Refused(
            f"payout_{payout.status.value}", f"a {payout.status.value} payout is not held"
        )
    return replace(payout, status=PayoutStatus.HELD, hold_reason=reason, updated_at=now)


def unhold(payout: Payout, *, account_ready: bool, now: datetime) -> Payout:
    """An admin lets a held (or failed) payout go again: it is sent by the next run."""
    if payout.status not in (PayoutStatus.HELD, PayoutStatus.FAILED):
        raise Refused("payout_not_held", "only a held or failed payout is released")
    status = PayoutStatus.PENDING if account_ready else PayoutStatus.AWAITING_ACCOUNT
    return replace(payout, status=status, hold_reason=None, failure=None, updated_at=now)


def account_connected(payout: Payout, *, now: datetime) -> Payout:
    """The seller's account may now receive money: a waiting payout is pending."""
    if payout.status is not PayoutStatus.AWAITING_ACCOUNT:
        return payout
    return replace(payout, status=PayoutStatus.PENDING, updated_at=now)


def await_account(payout: Payout, *, now: datetime) -> Payout:
    """A pending payout whose seller has no account that may receive money waits for one."""
    return replace(payout, status=PayoutStatus.AWAITING_ACCOUNT, updated_at=now)


def start_sending(payout: Payout, *, now: datetime) -> Payout:
    """The job claims a pending payout; each attempt has its own idempotency key."""
    if payout.status is PayoutStatus.SENDING:
        # Left sending by a process that stopped: asked again with the same key.
        return replace(payout, updated_at=now)
    if payout.status is not PayoutStatus.PENDING:
        raise Refused("payout_not_pending", "only a pending payout is sent")
    return replace(
        payout, status=PayoutStatus.SENDING, attempts=payout.attempts + 1, updated_at=now
    )


def sent(payout: Payout, *, transfer_id: str, now: datetime) -> tuple[Payout, Entry]:
    """The provider took the transfer: the payout is paid and the ledger debited."""
    paid = replace(
        payout, status=PayoutStatus.PAID, transfer_id=transfer_id, paid_at=now, updated_at=now
    )
    debit = Entry(
        payout.order_id,
        payout.seller_id,
        EntryKind.PAYOUT,
        payout.amount_cents,
        payout.currency,
        now,
        ref=transfer_id,
    )
    return paid, debit


def failed(payout: Payout, *, reason: str, now: datetime) -> Payout:
    """The provider refused the transfer: it waits for an admin to release it again."""
    return replace(payout, status=PayoutStatus.FAILED, failure=reason[:200], updated_at=now)


def reversed_transfer(payout: Payout, *, now: datetime) -> tuple[Payout, Entry] | None:
    """The provider took a paid transfer back: the payout failed and the ledger is credited."""
    if payout.status is not PayoutStatus.PAID or payout.transfer_id is None:
        return None
    back = Entry(
        payout.order_id,
        payout.seller_id,
        EntryKind.PAYOUT_REVERSED,
        payout.amount_cents,
        payout.currency,
        now,
        ref=payout.transfer_id,
    )
    return failed(payout, reason="the transfer was reversed", now=now), back


@dataclass(slots=True)
class Balance:
    """A seller's money in one currency."""

    currency: str
    pending_cents: int = 0  # credited for orders whose receipt is not confirmed yet
    available_cents: int = 0  # released, being paid (or held, or waiting for an account)
    paid_out_cents: int = 0  # in the seller's account
    owed_cents: int = 0  # refunded after it was paid out: the seller owes it back


@dataclass(slots=True)
class _Order:
    entries: list[Entry] = field(default_factory=list)
    payout: Payout | None = None


def balances(entries: Iterable[Entry], payouts: Iterable[Payout]) -> list[Balance]:
    """A seller's balance by currency, from their ledger entries and payouts."""
    by_order: dict[str, _Order] = {}
    for entry in entries:
        by_order.setdefault(entry.order_id, _Order()).entries.append(entry)
    for payout in payouts:
        by_order.setdefault(payout.order_id, _Order()).payout = payout
    found: dict[str, Balance] = {}
    for order in by_order.values():
        currency = order.payout.currency if order.payout else order.entries[0].currency
        balance = found.setdefault(currency, Balance(currency))
        balance.paid_out_cents += _of(order.entries, EntryKind.PAYOUT) - _of(
            order.entries, EntryKind.PAYOUT_REVERSED
        )
        owed = net_cents(order.entries)
        if order.payout is None:
            balance.pending_cents += max(0, owed)
        elif order.payout.status in UNSENT:
            balance.available_cents += order.payout.amount_cents
        if owed < 0:
            balance.owed_cents += -owed
    return sorted(found.values(), key=lambda b: b.currency)
