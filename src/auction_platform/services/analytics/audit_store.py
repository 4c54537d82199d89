"""Queries of the audit log: append a record, read records newest first.

Only ``append`` writes, and only an insert: the log is never updated or deleted
from (migration 0006 adds triggers refusing both).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.contracts.events import Envelope
from auction_platform.core.sql import insert_ignoring_duplicates, utc
from auction_platform.services.analytics.audit import Scope, when
from auction_platform.services.analytics.store import audit_log


def _text(value: Any, limit: int) -> str:
    return str(value if value is not None else "")[:limit] or "unknown"


async def append(conn: AsyncConnection, envelope: Envelope) -> bool:
    """Keep one AuditRecorded event (once: its id is the key); True when it is new.

    A record missing a field is kept with what it has: an operator's action is
    never dropped for its producer's mistake.
    """
    data = envelope.data
    details = data.get("details")
    reason = data.get("reason")
    return await insert_ignoring_duplicates(
        conn,
        audit_log,
        {
            "event_id": envelope.id,
            "at": when(data, fallback=envelope.occurred_at),
            "actor_id": _text(data.get("actor_id"), 100),
            "action": _text(data.get("action"), 100),
            "target": _text(data.get("target"), 200),
            "reason": str(reason) if reason is not None else None,
            "details": details if isinstance(details, dict) else {},
            "producer": envelope.producer[:50],
            "recorded_at": datetime.now(UTC),
        },
    )


async def records(
    conn: AsyncConnection, scope: Scope, *, after: tuple[datetime, str] | None, limit: int
) -> list[dict[str, Any]]:
    """Records in ``scope``, newest first, after the record ``after`` names."""
    c = audit_log.c
    query = select(audit_log).order_by(c.at.desc(), c.event_id.desc()).limit(limit)
    exact = ((c.actor_id, scope.actor_id), (c.action, scope.action), (c.target, scope.target))
    for column, wanted in exact:
        if wanted is not None:
            query = query.where(column == wanted)
    if scope.since is not None:
        query = query.where(c.at >= scope.since)
    if scope.until is not None:
        query = query.where(c.at < scope.until)
    if after is not None:
        at, event_id = after
        query = query.where(or_(c.at < at, and_(c.at == at, c.event_id < event_id)))
    rows = (await conn.execute(query)).mappings().all()
    return [
        {
            "id": row["event_id"],
            "at": utc(row["at"]).isoformat(),
            "actor_id": row["actor_id"],
            "action": row["action"],
            "target": row["target"],
            "reason": row["reason"],
            "details": row["details"],
            "producer": row["producer"],
        }
        for row in rows
    ]
