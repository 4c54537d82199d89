"""The reports table of the auction service, and its queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    String,
    Table,
    Text,
    case,
    func,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.sql import insert_ignoring_duplicates, maybe_utc, utc
from auction_platform.services.auction.reports import (
    Outcome,
    Reason,
    Report,
    ReportStatus,
    TargetType,
)
from auction_platform.services.auction.store import TABLES, lots

OPEN_ONLY = "status = 'open'"

reports = Table(
    "auction_reports",
    TABLES.metadata,
    Column("id", String(32), primary_key=True),
    Column("reporter_id", String(64), nullable=False),
    Column("target_type", String(16), nullable=False),
    Column("target_id", String(64), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("comment", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("outcome", String(16), nullable=True),
    Column("note", Text, nullable=True),
    Column("resolved_by", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    # One open report per reporter and target: the database settles two at once.
    Index(
        "ux_auction_reports_open",
        "reporter_id",
        "target_type",
        "target_id",
        unique=True,
        postgresql_where=text(OPEN_ONLY),
        sqlite_where=text(OPEN_ONLY),
    ),
    Index("ix_auction_reports_target", "target_type", "target_id", "status"),
    Index("ix_auction_reports_status", "status", "created_at"),
    Index("ix_auction_reports_reporter", "reporter_id", "created_at"),
)


def _report(row: Any) -> Report:
    return Report(
        id=row.id,
        reporter_id=row.reporter_id,
        target_type=TargetType(row.target_type),
        target_id=row.target_id,
        reason=Reason(row.reason),
        comment=row.comment,
        created_at=utc(row.created_at),
        status=ReportStatus(row.status),
        outcome=Outcome(row.outcome) if row.outcome else None,
        note=row.note,
        resolved_by=row.resolved_by,
        resolved_at=maybe_utc(row.resolved_at),
    )


async def add_report(conn: AsyncConnection, report: Report) -> bool:
    """Store a new report; False when the reporter has an open one on the target."""
    values = {
        "id": report.id,
        "reporter_id": report.reporter_id,
        "target_type": report.target_type.value,
        "target_id": report.target_id,
        "reason": report.reason.value,
        "comment": report.comment,
        "status": report.status.value,
        "created_at": report.created_at,
    }
    return await insert_ignoring_duplicates(conn, reports, values)


async def report_by_id(conn: AsyncConnection, report_id: str) -> Report | None:
    """One report, or None."""
    row = (await conn.execute(select(reports).where(reports.c.id == report_id))).first()
    return _report(row) if row else None


async def open_reports_on(
    conn: AsyncConnection, target_type: TargetType, target_id: str
) -> list[Report]:
    """The open reports on one target, oldest first, locked until the transaction ends."""
    query = (
        select(reports)
        .where(
            reports.c.target_type == target_type.value,
            reports.c.target_id == target_id,
            reports.c.status == ReportStatus.OPEN.value,
        )
        .order_by(reports.c.created_at, reports.c.id)
        .with_for_update()
    )
    return [_report(row) for row in await conn.execute(query)]


async def save_resolution(conn: AsyncConnection, report: Report) -> None:
    """Store a report's resolution."""
    assert report.outcome is not None
    await conn.execute(
        update(reports)
        .where(reports.c.id == report.id)
        .values(
            status=report.status.value,
            outcome=report.outcome.value,
            note=report.note,
            resolved_by=report.resolved_by,
            resolved_at=report.resolved_at,
        )
    )


async def reports_by(conn: AsyncConnection, reporter_id: str, *, limit: int) -> list[Report]:
    """A reporter's reports, newest first."""
    query = (
        select(reports)
        .where(reports.c.reporter_id == reporter_id)
        .order_by(reports.c.created_at.desc(), reports.c.id.desc())
        .limit(limit)
    )
    return [_report(row) for row in await conn.execute(query)]


async def reports_with_status(
    conn: AsyncConnection, status: ReportStatus | None, *, limit: int
) -> list[Report]:
    """Reports in one status (every status: None), oldest first, at most ``limit``."""
    query = select(reports).order_by(reports.c.created_at, reports.c.id).limit(limit)
    if status is not None:
        query = query.where(reports.c.status == status.value)
    return [_report(row) for row in await conn.execute(query)]


async def report_counts(
    conn: AsyncConnection, target_type: TargetType, target_ids: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """For each target: how many reports it has had, and how many are open."""
    if not target_ids:
        return {}
    is_open = func.sum(case((reports.c.status == ReportStatus.OPEN.value, 1), else_=0))
    query = (
        select(reports.c.target_id, func.count(), is_open)
        .where(reports.c.target_type == target_type.value, reports.c.target_id.in_(target_ids))
        .group_by(reports.c.target_id)
    )
    return {row[0]: (int(row[1]), int(row[2] or 0)) for row in await conn.execute(query)}


async def listing_counts(
    conn: AsyncConnection, seller_ids: Sequence[str], statuses: Sequence[str]
) -> dict[str, int]:
    """For each seller: how many lots they have in ``statuses``."""
    if not seller_ids:
        return {}
    query = (
        select(lots.c.seller_id, func.count())
        .where(lots.c.seller_id.in_(seller_ids), lots.c.status.in_(statuses))
        .group_by(lots.c.seller_id)
    )
    return {row[0]: int(row[1]) for row in await conn.execute(query)}
