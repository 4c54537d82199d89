"""Unit of work: one transaction for a handler's state change and its events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.contracts.events import Envelope
from auction_platform.core.context import current_request_id
from auction_platform.core.db import Database
from auction_platform.core.outbox import OutboxRelay, outbox_rows


class Transaction:
    """The open transaction a handler works in: its connection and its pending events."""

    def __init__(self, conn: AsyncConnection, *, producer: str) -> None:
        self.conn = conn
        self.producer = producer
        self.events: list[Envelope] = []

    def emit(self, event_type: str, data: dict[str, Any], *, version: int = 1) -> Envelope:
        """Queue an event; it is written to the outbox when the transaction commits."""
        envelope = Envelope(
            type=event_type,
            producer=self.producer,
            data=data,
            version=version,
            correlation_id=current_request_id(),
        )
        self.events.append(envelope)
        return envelope


class UnitOfWork:
    """Opens transactions whose events go through the service's outbox."""

    def __init__(self, db: Database, *, outbox: Table, producer: str) -> None:
        self.db = db
        self.outbox = outbox
        self._append_events = insert(outbox)  # built once: every commit with events runs it
        self.producer = producer
        self.relay: OutboxRelay | None = None

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Transaction]:
        """``async with uow() as tx``: commit data and events together, or neither."""
        async with self.db.transaction() as conn:
            tx = Transaction(conn, producer=self.producer)
            yield tx
            if tx.events:
                await conn.execute(self._append_events, outbox_rows(tx.events))
        if tx.events and self.relay is not None:
            self.relay.notify()
