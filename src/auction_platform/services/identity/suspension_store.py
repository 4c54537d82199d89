"""The table and queries of suspensions (on the identity service's metadata).

Every suspension is kept, lifted or lapsed, as the account's history: who suspended
it, when, why and until when, and who lifted it early. The account's latest row is
the one that decides whether it is suspended now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.sql import maybe_utc, utc
from auction_platform.services.identity.store import TABLES
from auction_platform.services.identity.suspension import Suspension

suspensions = Table(
    "identity_suspensions",
    TABLES.metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("suspended_by", String(32), nullable=False),
    Column("suspended_at", DateTime(timezone=True), nullable=False),
    Column("until", DateTime(timezone=True), nullable=True),
    Column("lifted_by", String(32), nullable=True),
    Column("lifted_at", DateTime(timezone=True), nullable=True),
    Index("ix_identity_suspensions_user", "user_id", "suspended_at"),
)


def _suspension(row: Any) -> Suspension:
    return Suspension(
        id=row.id,
        user_id=row.user_id,
        reason=row.reason,
        suspended_by=row.suspended_by,
        suspended_at=utc(row.suspended_at),
        until=maybe_utc(row.until),
        lifted_by=row.lifted_by,
        lifted_at=maybe_utc(row.lifted_at),
    )


async def add_suspension(conn: AsyncConnection, suspension: Suspension) -> None:
    """Record a new suspension."""
    await conn.execute(
        suspensions.insert().values(
            id=suspension.id,
            user_id=suspension.user_id,
            reason=suspension.reason,
            suspended_by=suspension.suspended_by,
            suspended_at=suspension.suspended_at,
            until=suspension.until,
        )
    )


async def latest_suspension(conn: AsyncConnection, user_id: str) -> Suspension | None:
    """The account's latest suspension (in force, lifted or lapsed), if it ever had one."""
    query = (
        select(suspensions)
        .where(suspensions.c.user_id == user_id)
        .order_by(suspensions.c.suspended_at.desc(), suspensions.c.id.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return _suspension(row) if row else None


async def latest_suspensions(conn: AsyncConnection, user_ids: list[str]) -> dict[str, Suspension]:
    """The latest suspension of each of these accounts that ever had one."""
    if not user_ids:
        return {}
    query = (
        select(suspensions)
        .where(suspensions.c.user_id.in_(user_ids))
        .order_by(suspensions.c.suspended_at, suspensions.c.id)
    )
    return {row.user_id: _suspension(row) for row in await conn.execute(query)}


async def lift_suspension(
    conn: AsyncConnection, suspension_id: str, *, by: str, now: datetime
) -> None:
    """Record that an admin lifted a suspension."""
    await conn.execute(
        update(suspensions)
        .where(suspensions.c.id == suspension_id)
        .values(lifted_by=by, lifted_at=now)
    )
