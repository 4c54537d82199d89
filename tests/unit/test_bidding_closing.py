"""How a book closes: what ``AuctionClosed`` says, and when the closer looks again.

The bidding context of ``test_bidding_handlers``: SQLite on a file, the memory cache,
a clock the test moves by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import test_bidding_handlers as handler_tests
from test_bidding_handlers import ANN, BOB, START, Clock, events, opened, rules

from auction_platform.services.bidding import closer, handlers
from auction_platform.services.bidding.domain import (
    BookCancelled,
    BuyNow,
    CancelBook,
    CancelledBy,
    PlaceBid,
    Retract,
)
from auction_platform.services.bidding.handlers import Bidding
from support.waiting import eventually

CLEO = "cleo"
# The fixtures of the handlers' tests, shared (assigned, so each test's argument names them).
auction, bidding, clock = handler_tests.auction, handler_tests.bidding, handler_tests.clock


async def closed_events(bidding: Bidding) -> list[dict[str, Any]]:
    return [data for kind, data in await events(bidding) if kind == "AuctionClosed"]


# --- what AuctionClosed says ------------------------------------------------------------------


async def test_a_close_below_the_reserve_names_the_top_bidder_and_each_bidder_once(
    bidding: Bidding, clock: Clock
) -> None:
    lot = await opened(bidding, rules(reserve_cents=50_000, lasts=timedelta(hours=1)))
    for who, cents in [(ANN, 1_500), (BOB, 2_000), (ANN, 3_000), (BOB, 4_000)]:
        await bidding.submit(lot, PlaceBid(who, cents))
    clock.now = START + timedelta(hours=1)
    assert await handlers.close_due_books(bidding) == 1
    [closed] = await closed_events(bidding)
    assert (closed["sold"], closed["reserve_met"], closed["winner_id"]) == (False, False, None)
    assert closed["leader_id"] == BOB
    assert closed["bidder_ids"] == [ANN, BOB]


async def test_a_sale_names_the_winner_as_the_top_bidder_and_a_retracted_bidder_too(
    bidding: Bidding, clock: Clock
) -> None:
    lot = await opened(bidding, rules(lasts=timedelta(days=2)))
    await bidding.submit(lot, PlaceBid(CLEO, 1_500))
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    await bidding.submit(lot, Retract(CLEO, 1))  # early: any bid may go
    await bidding.submit(lot, PlaceBid(BOB, 3_000))
    clock.now = START + timedelta(days=2)
    assert await handlers.close_due_books(bidding) == 1
    [closed] = await closed_events(bidding)
    assert (closed["winner_id"], closed["leader_id"]) == (BOB, BOB)
    assert closed["bidder_ids"] == [CLEO, ANN, BOB]


async def test_a_close_without_a_bid_names_nobody(bidding: Bidding, clock: Clock) -> None:
    lot = await opened(bidding, rules(lasts=timedelta(hours=1)))
    clock.now = START + timedelta(hours=1)
    assert await handlers.close_due_books(bidding) == 1
    [closed] = await closed_events(bidding)
    assert closed["auction_id"] == lot
    assert (closed["winner_id"], closed["leader_id"], closed["bidder_ids"]) == (None, None, [])


async def test_books_closed_in_one_pass_each_name_their_own_bidders_in_order(
    bidding: Bidding, clock: Clock
) -> None:
    lots = [await opened(bidding, rules(name, lasts=timedelta(hours=1))) for name in "abc"]
    for lot, bidders in zip(lots, [[BOB, ANN, BOB], [], [CLEO, ANN]], strict=True):
        for n, who in enumerate(bidders):
            await bidding.submit(lot, PlaceBid(who, 1_000 * (n + 2)))
    clock.now = START + timedelta(hours=1)
    assert await handlers.close_due_books(bidding) == 3
    named = {c["auction_id"]: c["bidder_ids"] for c in await closed_events(bidding)}
    assert named == {lots[0]: [BOB, ANN], lots[1]: [], lots[2]: [CLEO, ANN]}


async def test_buy_now_names_the_buyer_as_the_top_bidder(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(buy_now_cents=9_000))
    await bidding.submit(lot, BuyNow(ANN))
    [closed] = await closed_events(bidding)
    assert (closed["by_buy_now"], closed["winner_id"], closed["leader_id"]) == (True, ANN, ANN)
    assert closed["bidder_ids"] == []


async def test_a_cancel_in_the_batch_of_a_bid_names_that_bidder(bidding: Bidding) -> None:
    lot = await opened(bidding, rules())
    _, cancelled = await asyncio.gather(
        bidding.submit(lot, PlaceBid(ANN, 2_000)),
        bidding.submit(lot, CancelBook(CancelledBy.ADMIN)),
    )
    assert bidding.batcher.batches == 1
    assert cancelled == BookCancelled((ANN,), bids_voided=True)


# --- when the closer looks again ----------------------------------------------------------------

INTERVAL = 0.25
DEADLINE = 10.0  # for a loaded machine: how long to wait for a close that should come


class Overdue:
    """The overdue gauge: what each pass reported."""

    def __init__(self) -> None:
        self.reported: list[int] = []

    def __call__(self, count: int) -> None:
        self.reported.append(count)


async def next_pass(bidding: Bidding, overdue: Overdue, **options: Any) -> float | None:
    return await closer.run_once(bidding, interval=INTERVAL, report_overdue=overdue, **options)


async def test_the_closer_sleeps_until_the_next_end_and_looks_again_after_closing(
    bidding: Bidding, clock: Clock
) -> None:
    overdue = Overdue()
    assert await next_pass(bidding, overdue) is None  # no open book: nothing is due
    await opened(bidding, rules("soon", lasts=timedelta(hours=1)))
    await opened(bidding, rules("later", lasts=timedelta(hours=3)))
    writes = Overdue()
    stop = bidding.uow.db.on_write(lambda: writes(1))
    assert await next_pass(bidding, overdue) == 3_600.0
    clock.now = START + timedelta(minutes=59, seconds=59)
    assert await next_pass(bidding, overdue) == 1.0
    assert writes.reported == []  # a pass with nothing due writes nothing
    stop()
    clock.now = START + timedelta(hours=1)
    assert await next_pass(bidding, overdue) == 0.0  # closed "soon"; look again at once
    assert [c["auction_id"] for c in await closed_events(bidding)] == ["soon"]
    assert await next_pass(bidding, overdue) == 7_200.0
    assert overdue.reported == [0, 0, 0, 0, 0]


async def test_a_full_batch_closes_on_at_once_and_overdue_books_are_reported(
    bidding: Bidding, clock: Clock
) -> None:
    for lot in ("a", "b", "c"):
        await opened(bidding, rules(lot, lasts=timedelta(hours=1)))
    clock.now = START + timedelta(hours=1, seconds=6)
    overdue = Overdue()
    assert await next_pass(bidding, overdue, batch=2) == 0.0
    assert await next_pass(bidding, overdue, batch=2) == 0.0
    assert await next_pass(bidding, overdue, batch=2) is None
    assert overdue.reported == [3, 1, 0]
    assert len(await closed_events(bidding)) == 3


async def test_a_sleeping_closer_is_woken_by_a_book_of_this_process(
    bidding: Bidding, clock: Clock
) -> None:
    overdue = Overdue()

    async def reported() -> bool:
        return bool(overdue.reported)  # the first pass: no book, nothing scheduled

    # Asleep for an hour unless woken: only the write can bring the close in time.
    task = asyncio.create_task(
        closer.run(bidding, interval=INTERVAL, report_overdue=overdue, longest=3_600.0)
    )
    try:
        await eventually(reported, timeout=DEADLINE)
        clock.now = START + timedelta(hours=2)
        lot = await opened(bidding, rules(lasts=timedelta(hours=1)))  # ended an hour ago
        [closed] = await eventually(lambda: closed_events(bidding), timeout=DEADLINE)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert closed["auction_id"] == lot
