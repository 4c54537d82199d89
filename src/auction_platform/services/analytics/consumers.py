"""Which events the analytics service takes: five consumers on five queues.

One projection's trouble never holds up the others: the event store keeps every
event (``#``), the rollups count what the admin reports show, the search index
follows the lots, the audit log keeps every operator action (``AuditRecorded``
from any producer), and the signup fingerprints of new accounts feed the
shill-bidding signals. Each runs in the transaction that records the event in the
inbox (``core.delivery``), so a redelivered event changes nothing; the events that
arrive while one runs are applied together in the next.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from auction_platform.contracts.audit import AUDIT_RECORDED
from auction_platform.contracts.events import Envelope
from auction_platform.contracts.identity import USER_REGISTERED
from auction_platform.core.service import Consumer
from auction_platform.core.uow import Transaction
from auction_platform.services.analytics import audit_store, indexing, rollups, shill_store, store
from auction_platform.services.analytics.shill import Fingerprints


async def record_event(tx: Transaction, envelope: Envelope) -> None:
    """Keep every event the platform publishes in the event store."""
    await store.store_event(tx.conn, envelope)


async def record_audit(tx: Transaction, envelope: Envelope) -> None:
    """Keep an operator action in the audit log."""
    await audit_store.append(tx.conn, envelope)


async def record_signup(tx: Transaction, envelope: Envelope) -> None:
    """Keep a new account's signup fingerprints for the shill-bidding signals."""
    data = envelope.data
    kept = Fingerprints(data.get("signup_address"), data.get("signup_device"))
    await shill_store.keep_fingerprints(tx.conn, str(data["user_id"]), kept)


def consumers(clock: Callable[[], datetime]) -> tuple[Consumer, ...]:
    """The analytics service's consumers."""

    async def update_rollups(tx: Transaction, envelope: Envelope) -> None:
        await rollups.update_rollups(tx, envelope, clock=clock)

    # Each writes nothing but the service's own database: the events that arrive while
    # one transaction runs share the next (``core/delivery.py``).
    return (
        Consumer("event-store", ("#",), record_event, grouped=True),
        Consumer(
            "rollups",
            tuple(f"*.{name}" for name in rollups.HANDLERS),
            update_rollups,
            grouped=True,
        ),
        Consumer(
            "search",
            tuple(f"*.{name}" for name in indexing.EVENT_TYPES),
            indexing.update_search,
            grouped=True,
        ),
        Consumer("audit", (f"*.{AUDIT_RECORDED}",), record_audit, grouped=True),
        Consumer("signup-signals", (f"*.{USER_REGISTERED}",), record_signup, grouped=True),
    )
