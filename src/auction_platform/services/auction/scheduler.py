"""The scheduler: opens lots at their start time and sends ending-soon notices.

Every replica runs it. Each pass claims due rows in one transaction, ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL (SQLite's single writer serialises the same way), and
changes their state in that transaction with the events it emits, so each lot
opens once and each notice goes out once however many replicas poll. A cheap read
comes first, so an idle pass never takes SQLite's write lock; it also finds the next
start or notice, and the loop sleeps until then (``core.periodic``): at most 5 s, for
what another process schedules, and less when this process writes.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.contracts.auctions import AUCTION_ENDING_SOON
from auction_platform.core.periodic import run_passes_woken_by_writes, seconds_until
from auction_platform.core.sql import maybe_utc
from auction_platform.services.auction import domain, store, views
from auction_platform.services.auction.handlers import Auctions, announce_opened

log = logging.getLogger("auction_platform.auction.scheduler")

BATCH = 100


async def open_due_lots(ctx: Auctions, *, now: datetime) -> int:
    """Open the lots whose start has come; plan their notices; emit ``AuctionOpened``."""
    async with ctx.uow() as tx:
        due = await store.claim_due_lots(tx.conn, now=now, limit=BATCH)
        opened = [domain.open_lot(lot, now=now) for lot in due]
        await store.mark_opened(tx.conn, [lot.id for lot in opened], now=now)
        await announce_opened(tx, opened, ctx=ctx)
    for lot in opened:
        await ctx.lots.put(lot)
    return len(opened)


async def send_due_notices(ctx: Auctions, *, now: datetime) -> int:
    """Emit ``AuctionEndingSoon`` for due notices of open lots, to watchers and bidders."""
    async with ctx.uow() as tx:
        due = await store.claim_due_reminders(tx.conn, now=now, limit=BATCH)
        # A notice claimed after the end (the scheduler was down) is dropped.
        live = [(lot, m) for lot, m in due if not domain.reminder_is_stale(lot.ends_at, now=now)]
        recipients = await store.recipients(tx.conn, [lot.id for lot, _ in live])
        for lot, minutes in live:
            data = views.ending_soon(lot, minutes_left=minutes, recipient_ids=recipients[lot.id])
            tx.emit(AUCTION_ENDING_SOON, dict(data))
        await store.mark_reminders_sent(tx.conn, [(lot.id, m) for lot, m in due], now=now)
    return len(due)


async def next_due(conn: AsyncConnection) -> tuple[datetime | None, datetime | None]:
    """The earliest start of a scheduled lot, and the earliest unsent notice of an open lot."""
    start = select(func.min(store.lots.c.starts_at)).where(
        store.lots.c.status == domain.Status.SCHEDULED.value
    )
    notice = (
        select(func.min(store.reminders.c.due_at))
        .join(store.lots, store.lots.c.id == store.reminders.c.auction_id)
        # A notice of a lot no longer open is never sent: it must not look due forever.
        .where(store.reminders.c.sent_at.is_(None), store.lots.c.status == domain.Status.OPEN.value)
    )
    return maybe_utc(await conn.scalar(start)), maybe_utc(await conn.scalar(notice))


async def run_once(ctx: Auctions) -> float | None:
    """One pass; the seconds until the next should run (None: nothing is scheduled).

    At once again after a full batch; after other work, ``scheduler_interval_seconds``
    later, to find what falls due next; otherwise at the next start or notice.
    """
    now = ctx.clock()
    async with ctx.uow.db.read() as conn:
        start, notice = await next_due(conn)
    opening = start is not None and start <= now
    noticing = notice is not None and notice <= now
    opened = await open_due_lots(ctx, now=now) if opening else 0
    sent = await send_due_notices(ctx, now=now) if noticing else 0
    if BATCH in (opened, sent):
        return 0.0
    if opening or noticing:
        return ctx.settings.scheduler_interval_seconds
    return seconds_until(min((m for m in (start, notice) if m is not None), default=None), now=now)


async def run(ctx: Auctions) -> None:
    """Pass when a lot starts or a notice is due; a write of this service wakes it sooner."""
    await run_passes_woken_by_writes(
        ctx.uow.db.on_write,
        lambda: run_once(ctx),
        interval=ctx.settings.scheduler_interval_seconds,
        log=log,
        what="scheduler",
    )
