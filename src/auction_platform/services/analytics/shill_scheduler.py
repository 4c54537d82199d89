"""The daily shill-signals job (``shill-signals``): once a UTC day, on one replica.

Every replica looks, a few times an hour, whether today's run is done (one cheap
read); the first to find it missing claims the day in the transaction that records
its flags (``shill_handlers.run_job``), so the others find it done.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from auction_platform.core.periodic import run_passes, seconds_until
from auction_platform.services.analytics import shill_handlers, shill_store
from auction_platform.services.analytics.shill_handlers import ShillSignals

log = logging.getLogger("auction_platform.analytics.shill_signals")

JOB_NAME = "shill-signals"
# How often a replica looks whether the day's run is done.
LOOK_EVERY_SECONDS = 300.0


def _next_day(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo)


async def run_once(ctx: ShillSignals) -> float | None:
    """Run today's job unless it ran; the seconds until tomorrow's."""
    now = ctx.clock()
    async with ctx.uow.db.read() as conn:
        done = await shill_store.has_run(conn, now.date())
    if not done:
        result = await shill_handlers.run_job(ctx, claim=True)
        if result is not None:
            log.info("%s ran", JOB_NAME, extra={"shill_signals": result})
    return seconds_until(_next_day(now), now=now)


async def run(ctx: ShillSignals) -> None:
    """Run the job each UTC day, forever."""
    await run_passes(
        lambda: run_once(ctx),
        interval=LOOK_EVERY_SECONDS,
        log=log,
        what=JOB_NAME,
        longest=LOOK_EVERY_SECONDS,
    )
