"""How a book closes: what ``AuctionClosed`` says, and when the closer looks again.

The bidding context of ``test_bidding_handlers``: SQLite on a file, the memory cache,
a clock the test moves by hand.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import test_bidding_handlers as handler_tests
from test_bidding_handlers import ANN, BOB, START, Clock, events, opened, rules

from auction_platform.services.bidding import handlers
from auction_platform.services.bidding.domain import (
    BookCancelled,
    BuyNow,
    CancelBook,
    CancelledBy,
    PlaceBid,
    Retract,
)
from auction_platform.services.bidding.handlers import Bidding

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
