"""The ledger's side of an order's transitions, inside the transition's own transaction.

The order's transitions call these with the order row locked (``FOR UPDATE``), so
two deliveries of one provider event are applied one after the other, and the
second finds the entry the first made (and the unique (order, kind, ref) key
refuses a copy in any case).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from auction_platform.core.uow import Transaction
from auction_platform.services.payment import dispute_store, ledger, payout_store
from auction_platform.services.payment.ledger import Payout, PayoutStatus, Sale


async def credit_paid_order(tx: Transaction, order: Sale, *, now: datetime) -> None:
    """Credit the seller for a paid order (once)."""
    entries = await payout_store.entries_of_order(tx.conn, order.id)
    entry = ledger.credit_sale(order, entries, now=now)
    if entry is not None:
        await payout_store.add_entry(tx.conn, entry)


async def debit_refund(tx: Transaction, order: Sale, refunded_cents: int, *, now: datetime) -> None:
    """Debit the seller's share of what the buyer got back so far; shrink an unsent payout."""
    entries = await payout_store.entries_of_order(tx.conn, order.id)
    entry = ledger.debit_refund(order, entries, refunded_cents=refunded_cents, now=now)
    if entry is None or not await payout_store.add_entry(tx.conn, entry):
        return
    payout = await payout_store.payout_of_order(tx.conn, order.id, for_update=True)
    if payout is not None:
        changed = ledger.after_refund(payout, [*entries, entry], now=now)
        if changed is not payout:
            await payout_store.save_payout(tx.conn, changed)


async def release_payout(tx: Transaction, order: Sale, *, now: datetime) -> Payout | None:
    """The order's receipt is confirmed: its payout is due (None when nothing is left to pay)."""
    if await payout_store.payout_of_order(tx.conn, order.id) is not None:
        return None
    entries = await payout_store.entries_of_order(tx.conn, order.id)
    account = await payout_store.account_of(tx.conn, order.seller_id)
    payout = ledger.release(
        order,
        entries,
        payout_id=uuid.uuid4().hex,
        account_ready=account is not None and account.payouts_enabled,
        now=now,
    )
    if payout is None:
        return None
    if await dispute_store.has_open_dispute(tx.conn, order.id):
        payout = ledger.hold(payout, reason=ledger.DISPUTE_HOLD, now=now)
    if not await payout_store.add_payout(tx.conn, payout):
        return None
    return payout


async def hold_for_dispute(tx: Transaction, order_id: str, *, now: datetime) -> None:
    """A dispute opened: the order's payout, if released and not yet sent, is held."""
    payout = await payout_store.payout_of_order(tx.conn, order_id, for_update=True)
    if payout is None or payout.status not in ledger.UNSENT:
        return
    if payout.status in (PayoutStatus.HELD, PayoutStatus.SENDING, PayoutStatus.FAILED):
        return  # held by an admin, being sent, or waiting for an admin already
    await payout_store.save_payout(
        tx.conn, ledger.hold(payout, reason=ledger.DISPUTE_HOLD, now=now)
    )


async def release_dispute_hold(tx: Transaction, order_id: str, *, now: datetime) -> None:
    """A dispute ended: its hold on the order's payout goes (an admin's hold stays)."""
    payout = await payout_store.payout_of_order(tx.conn, order_id, for_update=True)
    if payout is None or payout.status is not PayoutStatus.HELD:
        return
    if payout.hold_reason != ledger.DISPUTE_HOLD:
        return
    account = await payout_store.account_of(tx.conn, payout.seller_id)
    ready = account is not None and account.payouts_enabled
    await payout_store.save_payout(tx.conn, ledger.unhold(payout, account_ready=ready, now=now))
