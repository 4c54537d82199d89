"""The deadlines job: payment reminders, expiry with second-chance offers, lapsed offers,
and receipts confirmed for buyers ``RECEIPT_CONFIRM_DAYS`` after shipment.

Every replica runs it. Each step claims due rows in one transaction, ``FOR
UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's single writer serialises the same
way), and changes them in that transaction together with the events it emits,
so each reminder goes out once and each order expires once however many
replicas poll. A webhook paying an order holds the same row lock, so an order
is either paid or expired, never both. A cheap read comes first, so an idle
pass never takes SQLite's write lock; it also finds the next deadline, and the loop
sleeps until then (``core.periodic``): at most 5 s, for what another process
schedules, and less when this process writes.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.contracts.payments import (
    ORDER_EXPIRED,
    PAYMENT_REMINDER,
    SECOND_CHANCE_OFFERED,
)
from auction_platform.core.periodic import run_passes_woken_by_writes, seconds_until
from auction_platform.core.sql import maybe_utc
from auction_platform.services.payment import domain, store, views
from auction_platform.services.payment.commands import ConfirmReceipt
from auction_platform.services.payment.handlers import Payments, confirm_receipt

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


async def confirm_due_receipts(ctx: Payments, *, now: datetime) -> int:
    """Confirm the receipts of orders shipped longer ago than the confirmation period.

    Each through ``confirm_receipt`` in its own transaction, which locks the order and
    checks again: a buyer or another replica that came first leaves nothing to do.
    """
    async with ctx.uow.db.read() as conn:
        due = await store.shipped_before(conn, now - ctx.receipt_period, limit=BATCH)
    for order_id in due:
        await confirm_receipt(ConfirmReceipt(order_id), ctx=ctx)
    return len(due)


async def next_due(conn: AsyncConnection, *, receipt_period: timedelta) -> datetime | None:
    """The earliest moment a reminder, an unpaid order, an open offer or a receipt falls due."""
    reminders, orders, offers = store.reminders, store.orders, store.offers
    probes = (
        select(func.min(reminders.c.due_at)).where(reminders.c.sent_at.is_(None)),
        select(func.min(orders.c.due_at)).where(orders.c.status == store.AWAITING),
        select(func.min(offers.c.due_at)).where(offers.c.status == store.OFFERED),
    )
    moments = [maybe_utc(await conn.scalar(probe)) for probe in probes]
    shipped = maybe_utc(await conn.scalar(store.first_shipment()))
    moments.append(shipped + receipt_period if shipped is not None else None)
    return min((m for m in moments if m is not None), default=None)


async def run_once(ctx: Payments, *, now: datetime | None = None) -> float | None:
    """One pass; the seconds until the next should run (None: nothing is scheduled).

    At once again after a full batch; after other work, ``scheduler_interval_seconds``
    later, to find what falls due next; otherwise at the next due moment.
    """
    now = now or ctx.clock()
    async with ctx.uow.db.read() as conn:
        due = await next_due(conn, receipt_period=ctx.receipt_period)
    if due is None or due > now:
        return seconds_until(due, now=now)
    sent = await send_due_reminders(ctx, now=now)
    expired = await expire_due_orders(ctx, now=now)
    lapsed = await lapse_due_offers(ctx, now=now)
    received = await confirm_due_receipts(ctx, now=now)
    busy = BATCH in (sent, expired, lapsed, received)
    return 0.0 if busy else ctx.settings.scheduler_interval_seconds


async def run(ctx: Payments) -> None:
    """Pass when a deadline falls due; a write of this service wakes it sooner."""
    await run_passes_woken_by_writes(
        ctx.uow.db.on_write,
        lambda: run_once(ctx),
        interval=ctx.settings.scheduler_interval_seconds,
        log=log,
        what="payment deadlines",
    )
