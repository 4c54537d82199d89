"""A batch's Idempotency-Keys, claimed in one statement, on SQLite and on PostgreSQL.

Commands in one batch answer as if they had come one after the other: a key used twice
in a batch bids once and the second gets the first's answer (422 with another body), a
key known from an earlier batch gets its recorded answer while new keys beside it bid.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from auction_platform.core.cache.memory import MemoryCache
from auction_platform.core.db import Database
from auction_platform.core.failures import Conflict
from auction_platform.core.migrate import migrate
from auction_platform.core.uow import UnitOfWork
from auction_platform.services.bidding import api, handlers, store
from auction_platform.services.bidding.batcher import Pending
from auction_platform.services.bidding.domain import BookCommand, Idempotency, PlaceBid
from auction_platform.services.bidding.handlers import Bidding, Outcome
from auction_platform.services.bidding.idempotency import RecordedAnswer
from auction_platform.services.bidding.ports import KnownAuctionRules
from auction_platform.services.bidding.state import Pseudonyms

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SELLER, ANN, BOB = "sam", "ann", "bob"


def rules(auction_id: str) -> dict[str, Any]:
    return {
        "auction_id": auction_id,
        "seller_id": SELLER,
        "title": "A Victorian tea set",
        "currency": "EUR",
        "start_cents": 1_000,
        "reserve_cents": None,
        "buy_now_cents": None,
        "starts_at": NOW.isoformat(),
        "ends_at": (NOW + timedelta(days=2)).isoformat(),
        "soft_close": None,
        "increments": [],
    }


def bidding_on(db: Database) -> Bidding:
    """The bidding context on this database (one per replica), the memory cache, fixed time."""
    return Bidding(
        uow=UnitOfWork(db, outbox=store.TABLES.outbox, producer="bidding"),
        cache=MemoryCache(),
        clock=lambda: NOW,
        rules=KnownAuctionRules(),
        render=api.render,
        pseudonyms=Pseudonyms(b"a key for the tests"),
    )


@pytest.fixture
async def bidding(database_url: str) -> AsyncIterator[Bidding]:
    db = Database(database_url, pool_size=2)
    await migrate(db, "bidding")
    yield bidding_on(db)
    await db.dispose()


async def opened(bidding: Bidding, auction_id: str = "lot-1") -> str:
    async with bidding.uow() as tx:
        await handlers.open_book(tx, rules(auction_id), now=NOW)
    return auction_id


def keyed(key: str, cents: int, who: str = ANN) -> PlaceBid:
    return PlaceBid(who, cents, Idempotency(key, f"hash-of-{cents}"))


async def one_batch(bidding: Bidding, commands: list[tuple[str, BookCommand]]) -> list[Outcome]:
    """Apply these commands as one batch (as the batcher would group them); their outcomes."""
    loop = asyncio.get_running_loop()
    groups: dict[str, list[Pending[BookCommand, Outcome]]] = {}
    pendings = []
    for auction_id, command in commands:
        pending: Pending[BookCommand, Outcome] = Pending(command, loop.create_future())
        groups.setdefault(auction_id, []).append(pending)
        pendings.append(pending)
    await bidding.apply_batch(groups)
    return [pending.future.result() for pending in pendings]


async def ledger_maxima(bidding: Bidding, auction_id: str) -> list[int]:
    async with bidding.uow.db.read() as conn:
        return [row.max_cents for row in await store.ledger(conn, auction_id)]


async def stored_keys(bidding: Bidding) -> dict[tuple[str, str], tuple[int, str]]:
    async with bidding.uow.db.read() as conn:
        rows = await conn.execute(select(store.idempotency))
        return {(r.user_id, r.key): (r.status_code, r.response) for r in rows}


async def test_a_key_twice_in_one_batch_bids_once_and_the_second_gets_the_first_answer(
    bidding: Bidding,
) -> None:
    lot = await opened(bidding)
    first, second = await one_batch(
        bidding, [(lot, keyed("k-1", 2_000)), (lot, keyed("k-1", 2_000))]
    )
    assert isinstance(first, RecordedAnswer)
    assert second == first
    assert first.status == 201
    assert await ledger_maxima(bidding, lot) == [2_000]
    status, response = (await stored_keys(bidding))[(ANN, "k-1")]
    assert status == 201
    assert response == json.dumps(first.body)


async def test_a_key_twice_in_one_batch_with_another_body_the_second_is_refused(
    bidding: Bidding,
) -> None:
    lot = await opened(bidding)
    first, second = await one_batch(
        bidding, [(lot, keyed("k-1", 2_000)), (lot, keyed("k-1", 3_000))]
    )
    assert isinstance(first, RecordedAnswer)
    assert first.status == 201
    assert isinstance(second, Conflict)
    assert second.code == "idempotency_key_reused"
    assert api.render(second)[0] == 422
    assert await ledger_maxima(bidding, lot) == [2_000]


async def test_one_key_on_two_auctions_in_one_batch_is_one_request_then_another(
    bidding: Bidding,
) -> None:
    lot_1, lot_2 = await opened(bidding, "lot-1"), await opened(bidding, "lot-2")
    first, second = await one_batch(
        bidding, [(lot_1, keyed("k-1", 2_000)), (lot_2, keyed("k-1", 2_000))]
    )
    assert isinstance(first, RecordedAnswer)
    # The same hash (the test's fingerprint ignores the auction): the first answer again.
    assert second == first
    assert await ledger_maxima(bidding, lot_2) == []


async def test_known_and_new_keys_in_one_batch_the_known_get_their_answers(
    bidding: Bidding,
) -> None:
    lot = await opened(bidding)
    (earlier,) = await one_batch(bidding, [(lot, keyed("k-1", 2_000))])
    refused_before = await bidding.submit(lot, keyed("k-low", 500, who=BOB))
    assert isinstance(refused_before, RecordedAnswer)
    assert refused_before.status == 409
    outcomes = await one_batch(
        bidding,
        [
            (lot, keyed("k-1", 2_000)),  # a retry: the recorded answer
            (lot, keyed("k-2", 3_000, who=BOB)),  # new: it bids
            (lot, keyed("k-1", 9_000)),  # known, another body
            (lot, keyed("k-low", 500, who=BOB)),  # a retry of a refusal: the refusal
            (lot, keyed("k-1", 4_000, who=BOB)),  # another user's key of the same name: new
        ],
    )
    retry, new, reused, refusal, bobs = outcomes
    assert retry == earlier
    assert isinstance(new, RecordedAnswer)
    assert new.status == 201
    assert isinstance(reused, Conflict)
    assert reused.code == "idempotency_key_reused"
    assert isinstance(refusal, RecordedAnswer)
    assert json.dumps(refusal.body) == json.dumps(refused_before.body)
    assert isinstance(bobs, RecordedAnswer)
    assert bobs.status == 201
    assert await ledger_maxima(bidding, lot) == [2_000, 3_000, 4_000]
    keys = await stored_keys(bidding)
    assert set(keys) == {(ANN, "k-1"), (BOB, "k-low"), (BOB, "k-2"), (BOB, "k-1")}
    assert all(status != 0 for status, _ in keys.values())


async def test_a_retry_is_answered_byte_for_byte_through_its_batch(bidding: Bidding) -> None:
    lot = await opened(bidding)
    first = await bidding.submit(lot, keyed("k-1", 2_000))
    again = await bidding.submit(lot, keyed("k-1", 2_000))
    assert isinstance(first, RecordedAnswer)
    assert isinstance(again, RecordedAnswer)
    assert json.dumps(again.body) == json.dumps(first.body)
    assert await ledger_maxima(bidding, lot) == [2_000]


async def test_keys_of_a_missing_book_are_not_claimed(bidding: Bidding) -> None:
    lot = await opened(bidding)
    outcomes = await one_batch(
        bidding, [("no-such-lot", keyed("k-9", 2_000)), (lot, keyed("k-1", 2_000))]
    )
    assert isinstance(outcomes[0], handlers.BookMissing)
    assert isinstance(outcomes[1], RecordedAnswer)
    async with bidding.uow.db.read() as conn:
        count = await conn.scalar(select(func.count()).select_from(store.idempotency))
    assert count == 1


async def test_two_replicas_given_one_key_at_once_bid_once(
    bidding: Bidding, database_url: str
) -> None:
    lot = await opened(bidding)
    other_db = Database(database_url, pool_size=2)
    replica = bidding_on(other_db)
    try:
        answers = await asyncio.gather(
            bidding.submit(lot, keyed("k-1", 2_000)), replica.submit(lot, keyed("k-1", 2_000))
        )
    finally:
        await other_db.dispose()
    first, second = answers
    assert isinstance(first, RecordedAnswer)
    assert second == first
    assert await ledger_maxima(bidding, lot) == [2_000]
