"""The transactional outbox: events commit with the data, a relay publishes them.

A handler's events are inserted in the same transaction as its state change
(see ``core.uow``). The relay claims unpublished rows in order, publishes them
with broker confirms, and marks them sent in the same transaction as the claim.
On PostgreSQL rows are claimed ``FOR UPDATE SKIP LOCKED``, so any number of
replicas relay side by side without sending a row twice; on SQLite the writer
lock does the same. A crash after publishing but before marking means the row is
published again: delivery is at least once, and consumers dedupe (``core.inbox``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)

from auction_platform.contracts.events import Envelope
from auction_platform.core.broker.base import Broker, BrokerUnavailable
from auction_platform.core.db import Database

log = logging.getLogger("auction_platform.outbox")


def outbox_table(metadata: MetaData, service: str) -> Table:
    """The outbox table of one service, ``<service>_outbox``."""
    name = f"{service}_outbox"
    return Table(
        name,
        metadata,
        Column(
            "seq",
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("event_type", String(100), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Index(
            f"ix_{name}_pending",
            "seq",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )


def outbox_rows(envelopes: list[Envelope]) -> list[dict[str, Any]]:
    """Rows to insert for these envelopes."""
    return [
        {
            "event_id": envelope.id,
            "event_type": envelope.type,
            "payload": envelope.to_json().decode(),
            "created_at": envelope.occurred_at,
        }
        for envelope in envelopes
    ]


class OutboxRelay:
    """Publishes one service's committed events and marks them sent."""

    def __init__(
        self,
        table: Table,
        *,
        db: Database,
        broker: Broker,
        batch_size: int = 100,
        poll_interval: float = 0.5,
        retention: timedelta = timedelta(days=1),
    ) -> None:
        self.table = table
        self.db = db
        self.broker = broker
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.retention = retention
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.pending = 0
        self.oldest_pending_age = 0.0
        # Built once: the relay runs them after every commit that has events.
        self._claim = (
            select(table.c.seq, table.c.payload)
            .where(table.c.published_at.is_(None))
            .order_by(table.c.seq)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        self._mark_published = (
            update(table)
            .where(table.c.seq.in_(bindparam("seqs", expanding=True)))
            .values(published_at=bindparam("published_at"))
        )

    def notify(self) -> None:
        """Wake the relay: a transaction with events has committed."""
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish one batch of pending events; the number published."""
        async with self.db.transaction() as conn:
            rows = (await conn.execute(self._claim)).all()
            if not rows:
                return 0
            await self.broker.publish([Envelope.from_json(row.payload.encode()) for row in rows])
            await conn.execute(
                self._mark_published,
                {"seqs": [row.seq for row in rows], "published_at": datetime.now(UTC)},
            )
        return len(rows)

    async def measure(self) -> None:
        """Refresh the backlog figures exported as metrics."""
        t = self.table
        async with self.db.read() as conn:
            count, oldest = (
                await conn.execute(
                    select(func.count(), func.min(t.c.created_at)).where(t.c.published_at.is_(None))
                )
            ).one()
        self.pending = int(count)
        if oldest is None:
            self.oldest_pending_age = 0.0
        else:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=UTC)
            self.oldest_pending_age = max((datetime.now(UTC) - oldest).total_seconds(), 0.0)

    async def purge(self) -> int:
        """Delete events published longer ago than the retention period."""
        cutoff = datetime.now(UTC) - self.retention
        t = self.table
        async with self.db.transaction() as conn:
            result = await conn.execute(delete(t).where(t.c.published_at < cutoff))
        return int(result.rowcount or 0)

    def start(self) -> None:
        """Run the relay loop in the background."""
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"relay:{self.table.name}")

    async def stop(self, *, flush_timeout: float = 5.0) -> None:
        """Stop the loop, then publish what is still pending (bounded in time)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        try:
            async with asyncio.timeout(flush_timeout):
                while await self.relay_once():
                    pass
        except (TimeoutError, BrokerUnavailable, OSError) as exc:
            log.warning("outbox not fully flushed at shutdown; it resumes on next start: %s", exc)

    async def _run(self) -> None:
        # A failed pass is retried soon and then less often, whatever the poll interval.
        first_retry = min(self.poll_interval, 0.5)
        backoff = first_retry
        loop = asyncio.get_running_loop()
        next_housekeeping = 0.0
        while not self._stopping:
            self._wake.clear()
            try:
                published = await self.relay_once()
                backoff = first_retry
                if loop.time() >= next_housekeeping:
                    await self.measure()
                    await self.purge()
                    next_housekeeping = loop.time() + 5.0
            except Exception as exc:  # the relay must outlive any outage
                log.warning(
                    "outbox relay for %s failed, retrying in %.1fs: %s",
                    self.table.name,
                    backoff,
                    exc,
                )
                published = 0
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if published < self.batch_size:
                try:
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass
