"""The feedback table of the payment service and its queries (beside the orders it is about)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    and_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.sql import utc
from auction_platform.services.payment.reputation import Feedback, Rating, Received, Side
from auction_platform.services.payment.store import TABLES

# One row per order and side: the buyer's rating of the seller, the seller's of the buyer.
feedback = Table(
    "payment_feedback",
    TABLES.metadata,
    Column("order_id", String(32), ForeignKey("payment_orders.id"), primary_key=True),
    Column("side", String(8), primary_key=True),
    Column("rater_id", String(64), nullable=False),
    Column("ratee_id", String(64), nullable=False),
    Column("auction_id", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("rating", String(8), nullable=False),
    Column("comment", String(500), nullable=False),
    Column("edits", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # A member's profile: what they received, newest first.
    Index("ix_payment_feedback_ratee", "ratee_id", "created_at", "order_id"),
)


def _columns(given: Feedback) -> dict[str, Any]:
    values = {f.name: getattr(given, f.name) for f in dataclasses.fields(given)}
    values["side"] = given.side.value
    values["rating"] = given.rating.value
    return values


def feedback_from_row(row: Any) -> Feedback:
    """Rebuild feedback from its row."""
    values = {column.name: row._mapping[column] for column in feedback.c}
    values["side"] = Side(values["side"])
    values["rating"] = Rating(values["rating"])
    values["created_at"] = utc(values["created_at"])
    values["updated_at"] = utc(values["updated_at"])
    return Feedback(**values)


async def add_feedback(conn: AsyncConnection, given: Feedback) -> None:
    """Insert a rater's first feedback on an order."""
    await conn.execute(feedback.insert().values(**_columns(given)))


async def save_feedback(conn: AsyncConnection, given: Feedback) -> None:
    """Write changed feedback back."""
    values = _columns(given)
    key = (feedback.c.order_id == given.order_id, feedback.c.side == given.side.value)
    del values["order_id"], values["side"]
    await conn.execute(update(feedback).where(*key).values(**values))


async def feedback_on(conn: AsyncConnection, order_id: str) -> dict[Side, Feedback]:
    """The feedback left on an order, by the rater's side."""
    rows = (await conn.execute(select(feedback).where(feedback.c.order_id == order_id))).all()
    found = [feedback_from_row(row) for row in rows]
    return {given.side: given for given in found}


async def received_by(
    conn: AsyncConnection, user_id: str, *, after: tuple[datetime, str] | None, limit: int
) -> list[Feedback]:
    """Feedback a member received, newest first, after a keyset cursor."""
    query = select(feedback).where(feedback.c.ratee_id == user_id)
    if after is not None:
        at, order_id = after
        query = query.where(
            or_(
                feedback.c.created_at < at,
                and_(feedback.c.created_at == at, feedback.c.order_id < order_id),
            )
        )
    query = query.order_by(feedback.c.created_at.desc(), feedback.c.order_id.desc()).limit(limit)
    return [feedback_from_row(row) for row in (await conn.execute(query)).all()]


async def ratings_of(conn: AsyncConnection, user_id: str) -> list[Received]:
    """Every rating a member received, as their score reads it."""
    query = select(feedback.c.rater_id, feedback.c.rating, feedback.c.created_at).where(
        feedback.c.ratee_id == user_id
    )
    return [
        Received(row.rater_id, Rating(row.rating), utc(row.created_at))
        for row in (await conn.execute(query)).all()
    ]
