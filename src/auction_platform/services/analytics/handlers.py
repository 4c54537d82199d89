"""Use cases and event consumers of the analytics service."""

from __future__ import annotations

from auction_platform.contracts.events import Envelope
from auction_platform.core.service import Consumer
from auction_platform.core.uow import Transaction
from auction_platform.services.analytics import store


async def record_event(tx: Transaction, envelope: Envelope) -> None:
    """Keep every event the platform publishes in the event store."""
    await store.store_event(tx.conn, envelope)


CONSUMERS = (Consumer("event-store", ("#",), record_event),)
