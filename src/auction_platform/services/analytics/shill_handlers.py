"""Use cases of the shill-bidding signals: the daily job, the flags and their review.

The job weighs the last ``window_days`` of bids and retractions with the rules of
``shill`` and records what they find for an admin to review; it never acts on an
account. A day's run is claimed in ``analytics_shill_runs`` in the transaction
that records its flags, so one replica runs it however many there are; a flag's
id is derived from its subject and day, so running the day again (``run_now``)
adds only what is new. A subject flagged within the window is not flagged again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from auction_platform.contracts import audit
from auction_platform.core.failures import NotFound
from auction_platform.core.uow import UnitOfWork
from auction_platform.services.analytics import shill, shill_store
from auction_platform.services.analytics.shill import FlagStatus, SignalKind


@dataclass(frozen=True)
class ShillSignals:
    """What the job and its routes need: the unit of work, the clock and the window."""

    uow: UnitOfWork
    clock: Callable[[], datetime]
    window_days: int = shill.DEFAULT_WINDOW_DAYS


@dataclass(frozen=True, slots=True)
class ListFlags:
    """Flags newest first, of one status or kind when given."""

    status: FlagStatus | None = None
    kind: SignalKind | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class ReviewFlag:
    """An admin's verdict on a flag: looked at (``reviewed``) or nothing in it (``dismissed``)."""

    flag_id: str
    status: FlagStatus
    note: str | None
    admin_id: str


async def run_job(ctx: ShillSignals, *, claim: bool) -> dict[str, Any] | None:
    """Weigh the window and flag what the rules find; None when the day was claimed already.

    ``claim``: the scheduled run, which runs once a day; without it (an admin's
    "run now") the day is run again whether or not it ran.
    """
    now = ctx.clock()
    day = now.date()
    async with ctx.uow() as tx:
        claimed = await shill_store.claim_day(tx.conn, day, at=now)
        if claim and not claimed:
            return None
        since = now - timedelta(days=ctx.window_days)
        placed, retracted = await shill_store.bid_facts(tx.conn, since=since, until=now)
        people = {fact.bidder_id for fact in placed} | {fact.seller_id for fact in placed}
        prints = await shill_store.fingerprints(tx.conn, people)
        flags = shill.flags_of(placed, retracted, prints)
        seen = await shill_store.recently_flagged(tx.conn, since=(since.date()))
        added = 0
        for flag in flags:
            if (flag.kind.value, flag.bidder_id, flag.seller_id or "") in seen:
                continue
            added += await shill_store.add_flag(tx.conn, flag, day=day, at=now)
    return {
        "day": day.isoformat(),
        "bids": len(placed),
        "retractions": len(retracted),
        "found": len(flags),
        "flagged": added,
    }


async def list_flags(command: ListFlags, *, ctx: ShillSignals) -> list[dict[str, Any]]:
    """Flags newest first."""
    async with ctx.uow.db.read() as conn:
        return await shill_store.list_flags(
            conn,
            status=command.status.value if command.status else None,
            kind=command.kind.value if command.kind else None,
            limit=command.limit,
        )


async def review_flag(command: ReviewFlag, *, ctx: ShillSignals) -> dict[str, Any]:
    """Record an admin's review of a flag (audited); the flag as it now stands."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        if not await shill_store.review_flag(
            tx.conn,
            command.flag_id,
            status=command.status.value,
            note=command.note,
            by=command.admin_id,
            at=now,
        ):
            raise NotFound("not_found", "there is no such shill-bidding signal")
        audit.record(
            tx,
            actor_id=command.admin_id,
            action=f"shill_signal.{command.status.value}",
            target=f"shill_signal:{command.flag_id}",
            at=now.isoformat(),
            reason=command.note,
        )
        flag = await shill_store.get_flag(tx.conn, command.flag_id)
    assert flag is not None
    return flag
