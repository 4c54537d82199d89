"""The payouts job: send the payouts that are due, on every replica.

Each pass claims due payouts ``FOR UPDATE SKIP LOCKED`` (``payout_handlers``), so
two replicas never send one payout at once. A cheap read comes first and finds the
next moment something falls due (a pending payout: now; one left ``sending``:
``STUCK_AFTER`` after its attempt); a write of this process (a payout released,
an account enabled) wakes the loop sooner.
"""

from __future__ import annotations

import logging
from datetime import datetime

from auction_platform.core.periodic import run_passes_woken_by_writes, seconds_until
from auction_platform.services.payment import payout_handlers, payout_store
from auction_platform.services.payment.handlers import Payments

log = logging.getLogger("auction_platform.payment.payouts")


async def run_once(ctx: Payments, *, now: datetime | None = None) -> float | None:
    """One pass; the seconds until the next should run (None: nothing is due)."""
    now = now or ctx.clock()
    async with ctx.uow.db.read() as conn:
        moments = await payout_store.next_payout_due(conn, stuck_after=payout_handlers.STUCK_AFTER)
    due = min((m for m in moments if m is not None), default=None)
    if due is None or due > now:
        return seconds_until(due, now=now)
    tried = await payout_handlers.send_due_payouts(ctx, now=now)
    return 0.0 if tried == payout_handlers.BATCH else ctx.settings.scheduler_interval_seconds


async def run(ctx: Payments) -> None:
    """Pass when a payout falls due; a write of this service wakes it sooner."""
    await run_passes_woken_by_writes(
        ctx.uow.db.on_write,
        lambda: run_once(ctx),
        interval=ctx.settings.scheduler_interval_seconds,
        log=log,
        what="payouts",
    )
