"""The closer: each book closes at its effective end, exactly once across replicas.

Every replica runs it. A pass closes the books past their end in one transaction
(``handlers.close_due_books``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, SQLite's
single writer serialises the same way). A cheap read comes first, the earliest end
of an open book, so an idle pass never takes SQLite's write lock; the loop then
sleeps until that end (``core.periodic``): at most 5 s, for a book another replica
opened or moved sooner, and less when this process writes (a book opened, its rules
edited). A soft-close extension moves an end later: the closer wakes at the old end,
finds nothing due and sleeps until the new one. After closing it looks again at once:
with thousands of ends a minute the next is often due already, and the pacing of
woken passes never holds a pass past the end it sleeps for (``core.periodic``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from auction_platform.core.periodic import LONGEST_SLEEP, run_passes_woken_by_writes, seconds_until
from auction_platform.services.bidding import handlers, store
from auction_platform.services.bidding.handlers import Bidding

log = logging.getLogger("auction_platform.bidding")

BATCH = 100  # books closed per transaction; a full batch goes on at once
# A book this long past its end is overdue: the closer lags (``bidding_overdue_books``).
OVERDUE_AFTER = timedelta(seconds=5)
# Due books all held by another transaction: look again this soon (or the interval).
HELD_RETRY = 0.05


async def run_once(
    bidding: Bidding,
    *,
    interval: float,
    report_overdue: Callable[[int], None],
    batch: int = BATCH,
) -> float | None:
    """One pass; the seconds until the next should run (None: no open book).

    At once again after closing any (the next end is read then); ``HELD_RETRY``
    later when every due book was held (skipped: another replica closes it);
    otherwise at the next end. ``report_overdue`` hears how many open books are
    overdue: counted only when the earliest end says some may be.
    """
    now = bidding.clock()
    async with bidding.uow.db.read() as conn:
        end = await store.next_end(conn)
        late = now - OVERDUE_AFTER
        overdue = 0 if end is None or end >= late else await store.count_overdue(conn, before=late)
    report_overdue(overdue)
    if end is None or end > now:
        return seconds_until(end, now=now)
    closed = await handlers.close_due_books(bidding, limit=batch)
    # Some closed: look again at once (one read), the next end may have come meanwhile.
    # None: what is due is held (another replica closes it, or a bid is on it): soon.
    return 0.0 if closed else min(interval, HELD_RETRY)


async def run(
    bidding: Bidding,
    *,
    interval: float,
    report_overdue: Callable[[int], None],
    longest: float = LONGEST_SLEEP,
) -> None:
    """Pass when the next book ends; a write of this service wakes it sooner.

    Passes start at most once per ``interval`` however often it is woken.
    """
    await run_passes_woken_by_writes(
        bidding.uow.db.on_write,
        lambda: run_once(bidding, interval=interval, report_overdue=report_overdue),
        interval=interval,
        log=log,
        what="closer",
        longest=longest,
    )
