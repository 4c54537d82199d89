"""The table and queries of the signup signals (on the identity service's metadata)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.sql import utc
from auction_platform.services.identity.signup import SignupSignals
from auction_platform.services.identity.store import TABLES

# One row per account that signed up with something to keep. Personal data: the
# privacy erasure deletes the account's row.
signup_signals = Table(
    "identity_signup_signals",
    TABLES.metadata,
    Column("user_id", String(32), primary_key=True),
    Column("address", String(45), nullable=True),
    Column("device_id", String(64), nullable=True),
    Column("signed_up_at", DateTime(timezone=True), nullable=False),
)


async def record(
    conn: AsyncConnection, user_id: str, signals: SignupSignals, *, at: datetime
) -> None:
    """Keep a sign-up's signals (nothing when it had none)."""
    if signals.address is None and signals.device_id is None:
        return
    await conn.execute(
        signup_signals.insert().values(
            user_id=user_id,
            address=signals.address,
            device_id=signals.device_id,
            signed_up_at=at,
        )
    )


async def signals_of(conn: AsyncConnection, user_id: str) -> dict[str, Any] | None:
    """An account's signup signals, or None when none were kept."""
    row = (
        await conn.execute(select(signup_signals).where(signup_signals.c.user_id == user_id))
    ).first()
    if row is None:
        return None
    return {
        "address": row.address,
        "device_id": row.device_id,
        "signed_up_at": utc(row.signed_up_at).isoformat(),
    }
