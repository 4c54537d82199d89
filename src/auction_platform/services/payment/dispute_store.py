"""The dispute tables of the payment service and their queries (beside their orders)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.sql import utc
from auction_platform.services.payment.disputes import (
    Dispute,
    DisputeStatus,
    Entry,
    Message,
    Outcome,
    Reason,
    Role,
)
from auction_platform.services.payment.store import TABLES

# One dispute per order (the order's id is unique).
disputes = Table(
    "payment_disputes",
    TABLES.metadata,
    Column("id", String(32), primary_key=True),
    Column("order_id", String(32), ForeignKey("payment_orders.id"), nullable=False, unique=True),
    Column("buyer_id", String(64), nullable=False),
    Column("seller_id", String(64), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("outcome", String(32), nullable=True),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("decision_reason", String(500), nullable=True),
    Column("refunds", Integer, nullable=False),
    Column("pending_refund_cents", Integer, nullable=True),
    Column("pending_refund_base", Integer, nullable=True),
    # The admins' queue: open disputes, oldest first.
    Index("ix_payment_disputes_status", "status", "opened_at"),
)

# A dispute's thread, in the order it was written.
dispute_messages = Table(
    "payment_dispute_messages",
    TABLES.metadata,
    Column("id", String(32), primary_key=True),
    Column("dispute_id", String(32), ForeignKey("payment_disputes.id"), nullable=False),
    Column("author_id", String(64), nullable=False),
    Column("author_role", String(8), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("amount_cents", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_payment_dispute_messages_thread", "dispute_id", "created_at"),
)


def _dispute_columns(dispute: Dispute) -> dict[str, Any]:
    return {
        "id": dispute.id,
        "order_id": dispute.order_id,
        "buyer_id": dispute.buyer_id,
        "seller_id": dispute.seller_id,
        "reason": dispute.reason.value,
        "status": dispute.status.value,
        "outcome": dispute.outcome.value if dispute.outcome else None,
        "opened_at": dispute.opened_at,
        "updated_at": dispute.updated_at,
        "resolved_at": dispute.resolved_at,
        "decided_by": dispute.decided_by,
        "decision_reason": dispute.decision_reason,
        "refunds": dispute.refunds,
        "pending_refund_cents": dispute.pending_refund_cents,
        "pending_refund_base": dispute.pending_refund_base,
    }


def _dispute(row: Any) -> Dispute:
    m = row._mapping
    resolved = m["resolved_at"]
    return Dispute(
        id=m["id"],
        order_id=m["order_id"],
        buyer_id=m["buyer_id"],
        seller_id=m["seller_id"],
        reason=Reason(m["reason"]),
        opened_at=utc(m["opened_at"]),
        updated_at=utc(m["updated_at"]),
        status=DisputeStatus(m["status"]),
        outcome=Outcome(m["outcome"]) if m["outcome"] else None,
        resolved_at=utc(resolved) if resolved is not None else None,
        decided_by=m["decided_by"],
        decision_reason=m["decision_reason"],
        refunds=m["refunds"],
        pending_refund_cents=m["pending_refund_cents"],
        pending_refund_base=m["pending_refund_base"],
    )


def _message(row: Any) -> Message:
    m = row._mapping
    return Message(
        id=m["id"],
        dispute_id=m["dispute_id"],
        author_id=m["author_id"],
        author_role=Role(m["author_role"]),
        kind=Entry(m["kind"]),
        body=m["body"],
        created_at=utc(m["created_at"]),
        amount_cents=m["amount_cents"],
    )


async def add_dispute(conn: AsyncConnection, dispute: Dispute) -> None:
    """Insert a new dispute (the order's lock keeps a second one out)."""
    await conn.execute(disputes.insert().values(**_dispute_columns(dispute)))


async def save_dispute(conn: AsyncConnection, dispute: Dispute) -> None:
    """Write a changed dispute back."""
    values = _dispute_columns(dispute)
    del values["id"]
    await conn.execute(update(disputes).where(disputes.c.id == dispute.id).values(**values))


async def dispute_of_order(
    conn: AsyncConnection, order_id: str, *, for_update: bool = False
) -> Dispute | None:
    """An order's dispute, if it has one."""
    query = select(disputes).where(disputes.c.order_id == order_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _dispute(row) if row is not None else None


async def has_open_dispute(conn: AsyncConnection, order_id: str) -> bool:
    """Whether an order's dispute is open (and holds its payout)."""
    query = select(disputes.c.id).where(
        disputes.c.order_id == order_id, disputes.c.status == DisputeStatus.OPEN.value
    )
    return (await conn.execute(query)).first() is not None


async def disputes_by_status(
    conn: AsyncConnection, status: DisputeStatus | None, *, limit: int
) -> list[Dispute]:
    """Disputes oldest first (the admins' queue), of one status or all."""
    query = select(disputes)
    if status is not None:
        query = query.where(disputes.c.status == status.value)
    query = query.order_by(disputes.c.opened_at, disputes.c.id).limit(limit)
    return [_dispute(row) for row in (await conn.execute(query)).all()]


async def add_message(conn: AsyncConnection, message: Message) -> None:
    """Append a line to a dispute's thread."""
    await conn.execute(
        dispute_messages.insert().values(
            id=message.id,
            dispute_id=message.dispute_id,
            author_id=message.author_id,
            author_role=message.author_role.value,
            kind=message.kind.value,
            body=message.body,
            amount_cents=message.amount_cents,
            created_at=message.created_at,
        )
    )


async def thread_of(conn: AsyncConnection, dispute_id: str) -> list[Message]:
    """A dispute's thread, oldest first."""
    query = (
        select(dispute_messages)
        .where(dispute_messages.c.dispute_id == dispute_id)
        .order_by(dispute_messages.c.created_at, dispute_messages.c.id)
    )
    return [_message(row) for row in (await conn.execute(query)).all()]
