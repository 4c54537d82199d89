"""The scheduler on PostgreSQL: replicas open each lot and send each notice exactly once."""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from auction_platform.composition import Platform
from auction_platform.services.auction import handlers, scheduler, store
from auction_platform.services.auction.commands import CreateLot
from auction_platform.services.auction.handlers import Auctions
from support.auctions import plain_terms
from support.platforms import distributed_settings, running
from support.waiting import eventually

LOTS = 250


def context(platform: Platform) -> Auctions:
    auctions: Auctions = platform.runtimes["auction"].context
    return auctions


async def until(moment: datetime) -> None:
    """Sleep until the wall clock reaches ``moment``."""
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


async def emitted(platform: Platform, event_type: str) -> list[tuple[dict[str, Any], datetime]]:
    """Data and creation time of every event of this type in the shared outbox."""
    outbox = store.TABLES.outbox
    async with context(platform).uow.db.read() as conn:
        rows = await conn.execute(
            select(outbox.c.payload, outbox.c.created_at).where(outbox.c.event_type == event_type)
        )
        return [(json.loads(payload)["data"], at) for payload, at in rows]


async def test_two_replicas_open_lots_and_send_notices_exactly_once_and_on_time(
    postgres_url: str,
) -> None:
    settings = distributed_settings(
        postgres_url=postgres_url,
        redis_url="memory://",
        rabbitmq_url="memory://",
        auction_min_duration_seconds=1,
        ending_soon_minutes=[1],
    )
    async with (
        running(settings, ["auction"]) as first,
        running(settings, ["auction"]) as second,
    ):
        now = datetime.now(UTC)
        due = datetime.fromtimestamp(math.ceil(now.timestamp()) + 2, UTC)
        ends = due + timedelta(seconds=63)  # the one-minute notice is due 3 s after the start
        terms = plain_terms(due, ends)
        created = await asyncio.gather(
            *(
                handlers.create_lot(
                    CreateLot(seller_id="sam", terms=terms, publish=True), ctx=context(replica)
                )
                for replica in [first, second] * (LOTS // 2)
            )
        )
        ids = {lot.id for lot in created}
        # Besides both replicas' own loops, passes race each other at the due time.
        await until(due)
        await asyncio.gather(*(scheduler.run_once(context(r)) for r in [first, second] * 4))

        async def all_opened() -> list[tuple[dict[str, Any], datetime]]:
            found = await emitted(first, "AuctionOpened")
            return found if len(found) >= LOTS else []

        await eventually(all_opened)

        async def all_noticed() -> list[tuple[dict[str, Any], datetime]]:
            found = await emitted(first, "AuctionEndingSoon")
            return found if len(found) >= LOTS else []

        await until(ends - timedelta(minutes=1))
        await asyncio.gather(*(scheduler.run_once(context(r)) for r in [first, second] * 4))
        await eventually(all_noticed, timeout=15)
        await asyncio.sleep(1)  # time enough for a late duplicate to show
        opened = await emitted(second, "AuctionOpened")
        notices = await emitted(second, "AuctionEndingSoon")
        async with context(first).uow.db.read() as conn:
            lots = [await store.lot_by_id(conn, lot_id) for lot_id in ids]

    assert Counter(data["auction_id"] for data, _ in opened) == dict.fromkeys(ids, 1)
    assert Counter(data["auction_id"] for data, _ in notices) == dict.fromkeys(ids, 1)
    for lot in lots:
        assert lot is not None
        assert lot.opened_at is not None
        # Never early, and on time: the scheduler looks every 250 ms (5 s for a loaded machine).
        assert timedelta(0) <= lot.opened_at - due < timedelta(seconds=5)
    notice_due = ends - timedelta(minutes=1)
    for _, at in notices:
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        assert timedelta(0) <= at - notice_due < timedelta(seconds=5)
