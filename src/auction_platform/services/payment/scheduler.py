"""The deadlines job: payment reminders, expiry with second-chance offers, lapsed offers.

Every replica runs it. Each step claims due rows in one transaction, ``FOR
UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's single writer serialises the same
way), and changes them in that transaction together with the events it emits,
so each reminder goes out once and each order expires once however many
replicas poll. A webhook paying an order holds the same row lock, so an order
is either paid or expired, never both. A cheap read comes first, so an idle
pass never takes SQLite's write lock.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from auction_platform.contracts.payments import (
    ORDER_EXPIRED,
    PAYMENT_REMINDER,
    SECOND_CHANCE_OFFERED,
)
from auction_platform.core.periodic import run_passes
from auction_platform.services.payment import domain, store, views
from auction_platform.services.payment.handlers import Payments

log = logging.getLogger("auction_platform.payment.scheduler")

BATCH = 100


async def send_due_reminders(ctx: Payments, *, now: datetime) -> int:
    """Emit ``PaymentReminderDue`` for due reminders of orders still awaiting payment."""
    async with ctx.uow() as tx:
        due = await store.claim_due_reminders(tx.conn, now=now, limit=BATCH)
        for order, hours in due:
            # A reminder claimed after the order was paid or fell due is dropped.
            if domain.reminder_is_live(order, now=now):
                tx.emit(PAYMENT_REMINDER, dict(views.reminder_data(order, hours)))
        await store.mark_reminders_sent(tx.conn, [(o.id, h) for o, h in due], now=now)
    return len(due)


async def expire_due_orders(ctx: Payments, *, now: datetime) -> int:
    """Expire unpaid orders past due (``OrderExpired``); offer the runner-up a second chance."""
    offer_due = timedelta(days=ctx.settings.second_chance_due_days)
    async with ctx.uow() as tx:
        due = await store.claim_due_orders(tx.conn, now=now, limit=BATCH)
        for order in due:
            expired = domain.expire(order, now=now)
            await store.save_order(tx.conn, expired)
            await store.drop_unsent_reminders(tx.conn, order.id)
            tx.emit(ORDER_EXPIRED, dict(views.order_data(expired)))
            offer = domain.second_chance_offer(
                expired, offer_id=uuid.uuid4().hex, due_after=offer_due, now=now
            )
            if offer is not None and await store.add_offer(tx.conn, offer):
                tx.emit(SECOND_CHANCE_OFFERED, dict(views.offer_data(offer)))
    return len(due)


async def lapse_due_offers(ctx: Payments, *, now: datetime) -> int:
    """Close second-chance offers nobody accepted in time."""
    async with ctx.uow() as tx:
        due = await store.claim_due_offers(tx.conn, now=now, limit=BATCH)
        for offer in due:
            await store.save_offer(tx.conn, domain.lapse(offer, now=now))
    return len(due)


async def run_once(ctx: Payments, *, now: datetime | None = None) -> bool:
    """One pass; True when a batch was full (more may be waiting)."""
    now = now or ctx.clock()
    async with ctx.uow.db.read() as conn:
        if not await store.due_work(conn, now=now):
            return False
    sent = await send_due_reminders(ctx, now=now)
    expired = await expire_due_orders(ctx, now=now)
    lapsed = await lapse_due_offers(ctx, now=now)
    return BATCH in (sent, expired, lapsed)


async def run(ctx: Payments) -> None:
    """Pass every ``scheduler_interval_seconds`` (at once again after a full batch)."""
    await run_passes(
        lambda: run_once(ctx),
        interval=ctx.settings.scheduler_interval_seconds,
        log=log,
        what="payment deadlines",
    )
