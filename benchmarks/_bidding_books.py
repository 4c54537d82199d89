"""Books opened and checked with the bidding service's own code, on the benchmark's database."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from auction_platform.composition import Platform
from auction_platform.core.sql import utc
from auction_platform.services.bidding import codec, engine, handlers, store
from auction_platform.settings import Settings

SELLER_ID = "benchmark-seller"  # not a user id identity hands out, so never a bidder's
OPEN_FOR = timedelta(hours=6)  # nothing closes mid-run


def auction_rules(auction_id: str, now: datetime) -> dict[str, Any]:
    """An open auction's rules (``AuctionRulesData``): no reserve, no Buy It Now, no soft close."""
    return {
        "auction_id": auction_id,
        "seller_id": SELLER_ID,
        "title": "A benchmark lot",
        "currency": "EUR",
        "start_cents": 100,
        "reserve_cents": None,
        "buy_now_cents": None,
        "starts_at": (now - timedelta(seconds=1)).isoformat(),
        "ends_at": (now + OPEN_FOR).isoformat(),
        "soft_close": None,
        "increments": [],
    }


@dataclass(frozen=True)
class LedgerCheck:
    """Acknowledged bids against the ledger, and each book against its replayed ledger."""

    acknowledged: int
    ledger_rows: int
    books: int
    commits: int  # batches that committed accepted bids: one placed_at per batch
    answered_bids: int  # accepted and refused: each recorded with its Idempotency-Key
    keys_recorded: int  # Idempotency-Keys recorded during the run
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.acknowledged == self.ledger_rows and not self.mismatches and self.keyed

    @property
    def keyed(self) -> bool:
        """Every bid answered came with its own key, and its answer was recorded."""
        return self.keys_recorded == self.answered_bids

    @property
    def bids_per_commit(self) -> float:
        return self.ledger_rows / self.commits if self.commits else 0.0


class Books:
    """The bidding service's tables, reached through its own runtime (not over HTTP)."""

    def __init__(self, url: str) -> None:
        settings = Settings(
            _env_file=None,
            database_url=url,
            redis_url="memory://",
            rabbitmq_url="memory://",
            db_pool_size=2,
            db_max_overflow=0,
        )
        self.platform = Platform(settings, ["bidding"], embedded=False, environ={})
        self.runtime = self.platform.runtimes["bidding"]

    @classmethod
    async def create(cls, url: str) -> Books:
        """On the bidding database at ``url`` (PostgreSQL, or an embedded SQLite file)."""
        # Built inside the event loop: the platform's HTTP clients belong to it.
        return cls(url)

    def queue_names(self) -> list[str]:
        """The consumer queues ``migrate`` declares for bidding (without the prefix)."""
        return [
            f"{self.runtime.name}.{consumer.name}"
            for consumer in self.runtime.definition.consumers(self.runtime)
        ]

    async def open(self, count: int) -> list[str]:
        """Open ``count`` fresh books in one transaction, as on ``AuctionOpened``; their ids."""
        now = self.runtime.clock()
        ids = [uuid.uuid4().hex for _ in range(count)]
        async with self.runtime.require_uow()() as tx:
            for auction_id in ids:
                await handlers.open_book(tx, auction_rules(auction_id, now), now=now)
        return ids

    async def keys(self) -> int:
        """How many Idempotency-Keys are recorded (with their answer)."""
        db = self.runtime.db
        assert db is not None
        async with db.read() as conn:
            query = select(func.count()).select_from(store.idempotency)
            return int(await conn.scalar(query.where(store.idempotency.c.status_code != 0)) or 0)

    async def check(
        self, auction_ids: list[str], acknowledged: int, *, answered: int, keys_before: int
    ) -> LedgerCheck:
        """Compare the 201s with the ledger, every stored book with its ledger replayed,
        and the bids answered with the keys recorded since ``keys_before``."""
        db = self.runtime.db
        assert db is not None
        async with db.read() as conn:
            rows = (
                await conn.execute(
                    select(store.books).where(store.books.c.auction_id.in_(auction_ids))
                )
            ).all()
            bids = (
                await conn.execute(
                    select(store.bids)
                    .where(store.bids.c.auction_id.in_(auction_ids))
                    .order_by(store.bids.c.auction_id, store.bids.c.seq)
                )
            ).all()
        ledgers: dict[str, list[Any]] = defaultdict(list)
        for bid in bids:
            ledgers[bid.auction_id].append(bid)
        mismatches = [f"{n} book(s) missing" for n in [len(auction_ids) - len(rows)] if n]
        for row in rows:
            problem = _book_problem(row, ledgers[row.auction_id])
            if problem is not None:
                mismatches.append(f"{row.auction_id}: {problem}")
        return LedgerCheck(
            acknowledged=acknowledged,
            ledger_rows=len(bids),
            books=len(rows),
            commits=len({bid.placed_at for bid in bids}),
            answered_bids=answered,
            keys_recorded=await self.keys() - keys_before,
            mismatches=mismatches,
        )

    async def close(self) -> None:
        await self.platform.stop()


def _book_problem(row: Any, ledger: list[Any]) -> str | None:
    """What is wrong with one stored book given its ledger, or None."""
    seqs = [bid.seq for bid in ledger]
    if seqs != list(range(1, len(ledger) + 1)) or row.seq != len(ledger):
        return f"ledger seqs are not 1..{len(ledger)} (book seq {row.seq})"
    rules = codec.rules_from(row.rules)
    replayed = engine.replay(
        rules, [engine.Bid(b.bidder_id, b.max_cents, utc(b.placed_at)) for b in ledger]
    )
    stored = codec.load(row.state, rules)

    def summary(book: engine.Book) -> tuple[Any, ...]:
        return (book.price_cents, book.leader_id, book.leader_max_cents, book.bid_count)

    if summary(replayed) != summary(stored) or stored.bid_count != len(ledger):
        return f"stored {summary(stored)} but the ledger replays to {summary(replayed)}"
    if (row.price_cents, row.leader_id, row.bid_count) != (*summary(stored)[:2], len(ledger)):
        return "the book's columns disagree with its state"
    return None
