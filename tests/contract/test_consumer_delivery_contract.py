"""Events to a transactional consumer, alone or grouped, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from auction_platform.composition import DEFINITIONS
from auction_platform.contracts.events import Envelope
from auction_platform.core.db import Database
from auction_platform.core.delivery import Deliver, delivery
from auction_platform.core.failures import Unavailable
from auction_platform.core.migrate import migrate
from auction_platform.core.uow import Transaction, UnitOfWork

PATIENCE = 30.0


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=4, max_overflow=0, pool_timeout=5.0)
    await migrate(database, "analytics")
    async with database.transaction() as conn:
        await conn.execute(text("CREATE TABLE things (event_id VARCHAR(64) PRIMARY KEY)"))
    yield database
    async with database.transaction() as conn:
        await conn.execute(text("DROP TABLE things"))
    await database.dispose()


class Consumer:
    """A handler that stores each event's id, remembers its transaction, fails on demand."""

    def __init__(self) -> None:
        # The transactions themselves, kept so no two can share an id().
        self.transactions: dict[str, Transaction] = {}
        self.hold = asyncio.Event()
        self.hold.set()
        self.poison: dict[str, Exception] = {}

    async def handle(self, tx: Transaction, envelope: Envelope) -> None:
        await self.hold.wait()
        await tx.conn.execute(
            text("INSERT INTO things (event_id) VALUES (:id)"), {"id": envelope.id}
        )
        self.transactions[envelope.id] = tx
        if envelope.id in self.poison:
            raise self.poison[envelope.id]


def deliver_to(
    db: Database, consumer: Consumer, outcomes: Counter[str], *, grouped: bool
) -> Deliver:
    tables = DEFINITIONS["analytics"].tables
    assert tables is not None
    uow = UnitOfWork(db, outbox=tables.outbox, producer="analytics")
    return delivery(
        uow,
        tables.inbox,
        consumer="test-consumer",
        handle=consumer.handle,
        grouped=grouped,
        count=lambda outcome: outcomes.update([outcome]),
    )


async def stored(db: Database) -> list[str]:
    async with db.read() as conn:
        rows = await conn.execute(text("SELECT event_id FROM things ORDER BY event_id"))
        return [row[0] for row in rows]


def event(name: str) -> Envelope:
    return Envelope(type="BidPlaced", producer="bidding", data={}, id=name)


async def while_one_runs(
    deliver: Deliver, consumer: Consumer, names: list[str]
) -> list[BaseException | None]:
    """Deliver ``first`` and hold its transaction while ``names`` arrive; each one's result."""
    consumer.hold.clear()
    first = asyncio.create_task(deliver(event("first")))
    await asyncio.sleep(0.05)
    rest = [asyncio.create_task(deliver(event(name))) for name in names]
    await asyncio.sleep(0.05)
    consumer.hold.set()
    await asyncio.wait_for(first, PATIENCE)
    done = await asyncio.wait_for(asyncio.gather(*rest, return_exceptions=True), PATIENCE)
    return list(done)


async def test_events_that_arrive_while_a_transaction_runs_share_the_next(db: Database) -> None:
    consumer, outcomes = Consumer(), Counter[str]()
    deliver = deliver_to(db, consumer, outcomes, grouped=True)
    names = ["e1", "e2", "e3", "e4", "e5"]
    assert await while_one_runs(deliver, consumer, names) == [None] * 5
    assert await stored(db) == sorted(["first", *names])
    assert len({id(consumer.transactions[name]) for name in names}) == 1
    assert consumer.transactions["first"] is not consumer.transactions["e1"]
    assert outcomes == {"handled": 6}


async def test_without_grouping_each_event_has_its_own_transaction(db: Database) -> None:
    consumer, outcomes = Consumer(), Counter[str]()
    deliver = deliver_to(db, consumer, outcomes, grouped=False)
    names = ["e1", "e2", "e3"]
    assert await while_one_runs(deliver, consumer, names) == [None] * 3
    assert len({id(consumer.transactions[name]) for name in ["first", *names]}) == 4
    assert outcomes == {"handled": 4}


async def test_a_poison_event_fails_alone_and_the_rest_of_its_group_is_applied_once(
    db: Database,
) -> None:
    consumer, outcomes = Consumer(), Counter[str]()
    deliver = deliver_to(db, consumer, outcomes, grouped=True)
    consumer.poison["bad"] = ValueError("not an event this consumer can take")
    results = await while_one_runs(deliver, consumer, ["a", "bad", "c"])
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError)
    assert await stored(db) == ["a", "c", "first"]
    assert outcomes == {"handled": 3, "failed": 1}
    # Nothing of the poison event was kept: redelivered, it is tried again, not a duplicate.
    del consumer.poison["bad"]
    await deliver(event("bad"))
    assert await stored(db) == ["a", "bad", "c", "first"]


async def test_a_redelivered_event_in_a_group_is_a_duplicate(db: Database) -> None:
    consumer, outcomes = Consumer(), Counter[str]()
    deliver = deliver_to(db, consumer, outcomes, grouped=True)
    assert await while_one_runs(deliver, consumer, ["a", "a", "first"]) == [None] * 3
    assert await stored(db) == ["a", "first"]
    assert outcomes == {"handled": 2, "duplicate": 2}


async def test_a_group_that_meets_an_outage_fails_every_event_as_unavailable(
    db: Database,
) -> None:
    consumer, outcomes = Consumer(), Counter[str]()
    deliver = deliver_to(db, consumer, outcomes, grouped=True)
    consumer.poison["b"] = Unavailable("database_unavailable", "the database went away")
    results = await while_one_runs(deliver, consumer, ["a", "b", "c"])
    assert all(isinstance(result, Unavailable) for result in results)
    assert await stored(db) == ["first"]
    assert outcomes == {"handled": 1, "unavailable": 3}
