"""The closer benchmark's books: opened with the bidding service's code, read back after closing.

Books are opened as on ``AuctionOpened`` (``handlers.open_book``), in the benchmark's
own process, on the benchmark's database. After the run, everything the platform
recorded is read back in one go: each book's row (its effective end, status and
result), its ledger, and the bidding outbox's ``AuctionClosed`` rows.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from _harness import database_url
from sqlalchemy import func, select

from auction_platform.composition import Platform
from auction_platform.core.sql import utc
from auction_platform.services.bidding import codec, engine, handlers, store
from auction_platform.settings import Settings

# A bid in the last 2 s pushes the end back 3 s, at most 3 times.
SELLER_ID = "benchmark-seller"  # not a user id identity hands out, so never a bidder's
SOFT_CLOSE = {"window_seconds": 2, "extend_seconds": 3, "max_extensions": 3}
OPEN_BATCH = 500  # books opened per transaction


def closing_rules(auction_id: str, *, now: datetime, ends_at: datetime) -> dict[str, Any]:
    """An open auction's rules (``AuctionRulesData``) ending at ``ends_at``, with a soft close."""
    schedule = {
        "starts_at": (now - timedelta(seconds=1)).isoformat(),
        "ends_at": ends_at.isoformat(),
    }
    prices = {"start_cents": 100, "reserve_cents": None, "buy_now_cents": None, "increments": []}
    lot = {"auction_id": auction_id, "seller_id": SELLER_ID, "title": "A lot", "currency": "EUR"}
    return lot | prices | schedule | {"soft_close": SOFT_CLOSE}


@dataclass(frozen=True)
class ClosedEvent:
    """One ``AuctionClosed`` row of the outbox: its payload and when it was recorded."""

    event_id: str
    data: dict[str, Any]
    created_at: datetime  # when the closer emitted it (inside its transaction)
    published_at: datetime | None  # when the relay had RabbitMQ's confirm for it


@dataclass
class Closing:
    """What the platform recorded for one auction."""

    auction_id: str
    planned_end: datetime  # the end the book opened with
    effective_end: datetime  # the book's end after every soft-close extension
    status: str
    result: dict[str, Any] | None
    expected: engine.Result | None  # its ledger replayed and closed at its effective end
    bids: int
    events: list[ClosedEvent] = field(default_factory=list)

    @property
    def extended(self) -> bool:
        return self.effective_end > self.planned_end


class Lots:
    """The bidding service's tables, reached through its own runtime (not over HTTP)."""

    def __init__(self, name: str) -> None:
        # It only opens books and reads them back: no cache, no broker.
        backends = {"redis_url": "memory://", "rabbitmq_url": "memory://"}
        pool = {"db_pool_size": 2, "db_max_overflow": 0}
        settings = Settings(_env_file=None, database_url=database_url(name), **backends, **pool)
        self.platform = Platform(settings, ["bidding"], embedded=False, environ={})
        self.runtime = self.platform.runtimes["bidding"]

    @classmethod
    async def create(cls, name: str) -> Lots:
        # Built inside the event loop: the platform's HTTP clients belong to it.
        return cls(name)

    def queue_names(self) -> list[str]:
        """The consumer queues ``migrate`` declares for bidding (without the prefix)."""
        consumers = self.runtime.definition.consumers(self.runtime)
        return [f"{self.runtime.name}.{consumer.name}" for consumer in consumers]

    async def open(self, ends: list[datetime]) -> dict[str, datetime]:
        """Open one book per end, a few hundred per transaction; their ids and ends."""
        now = self.runtime.clock()
        opened = {uuid.uuid4().hex: end for end in ends}
        ids = list(opened)
        for first in range(0, len(ids), OPEN_BATCH):
            async with self.runtime.require_uow()() as tx:
                for auction_id in ids[first : first + OPEN_BATCH]:
                    rules = closing_rules(auction_id, now=now, ends_at=opened[auction_id])
                    await handlers.open_book(tx, rules, now=now)
        return opened

    async def still_open(self) -> tuple[int, int]:
        """How many books are still open (the run's database holds only the run's books),
        and how many committed events wait for a relay."""
        db, tables = self.runtime.db, self.runtime.definition.tables
        assert db is not None and tables is not None
        outbox = tables.outbox
        books = select(func.count()).select_from(store.books).where(store.books.c.status == "open")
        unsent = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        async with db.read() as conn:
            return int(await conn.scalar(books) or 0), int(await conn.scalar(unsent) or 0)

    async def closings(self, planned: dict[str, datetime]) -> dict[str, Closing]:
        """Every book of the run with its ledger replayed and its ``AuctionClosed`` rows."""
        db, tables = self.runtime.db, self.runtime.definition.tables
        assert db is not None and tables is not None
        outbox = tables.outbox
        async with db.read() as conn:
            rows = (await conn.execute(select(store.books))).all()
            bids = (await conn.execute(select(store.bids).order_by(store.bids.c.seq))).all()
            events = (
                await conn.execute(select(outbox).where(outbox.c.event_type == "AuctionClosed"))
            ).all()
        ledgers: dict[str, list[Any]] = defaultdict(list)
        for bid in bids:
            ledgers[bid.auction_id].append(bid)
        closings = {
            row.auction_id: _closing(row, planned.get(row.auction_id), ledgers[row.auction_id])
            for row in rows
        }
        for event in events:
            payload = json.loads(event.payload)
            closing = closings.get(str(payload["data"]["auction_id"]))
            if closing is not None:  # an event of an unknown book is left out: none opened it
                closing.events.append(
                    ClosedEvent(
                        event_id=event.event_id,
                        data=payload["data"],
                        created_at=utc(event.created_at),
                        published_at=None
                        if event.published_at is None
                        else utc(event.published_at),
                    )
                )
        return closings

    async def close(self) -> None:
        await self.platform.stop()


def _closing(row: Any, planned: datetime | None, ledger: list[Any]) -> Closing:
    rules = codec.rules_from(row.rules)
    effective_end = utc(row.ends_at)
    replayed = engine.replay(
        rules,
        [
            engine.Bid(b.bidder_id, b.max_cents, utc(b.placed_at))
            for b in ledger
            if not b.retracted_at
        ],
    )
    expected = engine.close(replayed, effective_end) if replayed.ends_at <= effective_end else None
    return Closing(
        auction_id=row.auction_id,
        planned_end=planned or rules.ends_at,
        effective_end=effective_end,
        status=row.status,
        result=row.result,
        expected=expected,
        bids=len(ledger),
    )
