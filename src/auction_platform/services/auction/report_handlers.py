"""Use cases of reports: a member files one, reads theirs; admins read the queue and resolve.

A report of a listing is checked against the lot (it must be listed, and not the
reporter's own). A report of a member is taken for any well-formed account id but
the reporter's own: the auction service knows accounts only as ids (it calls no
identity API), and a report of an id nobody holds does no harm, it waits in the
queue until an admin dismisses it (the console shows that identity knows no such
account). Resolving applies the outcome to every open report on the target at once;
removing a listing cancels the lot through the admin's own cancellation first.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from auction_platform.contracts import audit
from auction_platform.contracts.auctions import REPORT_RESOLVED, ReportResolvedData
from auction_platform.core.failures import Conflict, NotFound
from auction_platform.core.uow import Transaction
from auction_platform.services.auction import report_store, store
from auction_platform.services.auction.commands import CancelLot
from auction_platform.services.auction.domain import Caller, NotAllowed, Status
from auction_platform.services.auction.handlers import Auctions, cancel_lot, not_found
from auction_platform.services.auction.reports import (
    Outcome,
    Reason,
    Report,
    ReportStatus,
    TargetType,
    check_comment,
    check_not_own,
    check_note,
    check_open,
    check_outcome,
    resolve,
)

QUEUE_LIMIT = 500  # reports read for one view of the queue
MINE_LIMIT = 200
OPEN_LISTINGS = (Status.OPEN.value, Status.SCHEDULED.value)
REMOVED = "removed after members' reports"


@dataclass(frozen=True, slots=True)
class FileReport:
    """A member reports a listing or a member."""

    reporter_id: str
    target_type: TargetType
    target_id: str
    reason: Reason
    comment: str | None


@dataclass(frozen=True, slots=True)
class ResolveReport:
    """An admin resolves a report, and with it every open report on its target."""

    report_id: str
    outcome: Outcome
    note: str | None
    admin_id: str


@dataclass(frozen=True, slots=True)
class Target:
    """One target of the queue: its reports and what an admin needs to judge it."""

    target_type: TargetType
    target_id: str
    reports: list[Report]
    context: dict[str, Any] | None  # None: a listing that no longer exists


def report_not_found() -> NotFound:
    """The refusal for a report that does not exist."""
    return NotFound("report_not_found", "there is no such report")


async def file_report(command: FileReport, *, ctx: Auctions) -> Report:
    """A new open report (409 ``report_open`` when the reporter has one on the target)."""
    comment = check_comment(command.reason, command.comment)
    answerable = command.target_id
    if command.target_type is TargetType.AUCTION:
        async with ctx.uow.db.read() as conn:
            lot = await store.lot_by_id(conn, command.target_id)
        if lot is None or (lot.status is Status.DRAFT and lot.seller_id != command.reporter_id):
            raise not_found()
        answerable = lot.seller_id
    check_not_own(
        reporter_id=command.reporter_id,
        answerable_id=answerable,
        target_type=command.target_type,
    )
    report = Report(
        id=uuid.uuid4().hex,
        reporter_id=command.reporter_id,
        target_type=command.target_type,
        target_id=command.target_id,
        reason=command.reason,
        comment=comment,
        created_at=ctx.clock(),
    )
    async with ctx.uow() as tx:
        if not await report_store.add_report(tx.conn, report):
            raise Conflict("report_open", "you have reported this already; it is being reviewed")
    return report


async def my_reports(reporter_id: str, *, ctx: Auctions) -> list[Report]:
    """A member's reports, newest first, with their outcomes."""
    async with ctx.uow.db.read() as conn:
        return await report_store.reports_by(conn, reporter_id, limit=MINE_LIMIT)


async def queue(status: ReportStatus | None, *, ctx: Auctions) -> list[Target]:
    """The reports in ``status`` grouped by target, each with its context.

    Targets with the most open reports come first, then the longest waiting.
    """
    async with ctx.uow.db.read() as conn:
        found = await report_store.reports_with_status(conn, status, limit=QUEUE_LIMIT)
        grouped: dict[tuple[TargetType, str], list[Report]] = defaultdict(list)
        for report in found:
            grouped[(report.target_type, report.target_id)].append(report)
        contexts = await _contexts(conn, list(grouped))
    targets = [
        Target(kind, target_id, reports, contexts.get((kind, target_id)))
        for (kind, target_id), reports in grouped.items()
    ]
    targets.sort(key=lambda t: (-len(t.reports), t.reports[0].created_at))
    return targets


async def _contexts(
    conn: Any, keys: list[tuple[TargetType, str]]
) -> dict[tuple[TargetType, str], dict[str, Any]]:
    """What an admin sees of each target: a listing's facts, a member's listings and reports."""
    ids = {kind: [i for k, i in keys if k is kind] for kind in TargetType}
    contexts: dict[tuple[TargetType, str], dict[str, Any]] = {}
    for kind in TargetType:
        counts = await report_store.report_counts(conn, kind, ids[kind])
        for target_id in ids[kind]:
            total, open_ = counts.get(target_id, (0, 0))
            contexts[(kind, target_id)] = {"reports_total": total, "reports_open": open_}
    for lot_id in ids[TargetType.AUCTION]:
        lot = await store.lot_by_id(conn, lot_id)
        key = (TargetType.AUCTION, lot_id)
        if lot is None:
            del contexts[key]
            continue
        contexts[key] |= {
            "title": lot.terms.title,
            "seller_id": lot.seller_id,
            "status": lot.status.value,
            "price_cents": lot.final_price_cents or lot.current_price_cents,
            "currency": lot.terms.currency,
            "photos": len(lot.terms.images),
        }
    listings = await report_store.listing_counts(conn, ids[TargetType.USER], OPEN_LISTINGS)
    for user_id in ids[TargetType.USER]:
        contexts[(TargetType.USER, user_id)]["open_listings"] = listings.get(user_id, 0)
    return contexts


async def resolve_report(command: ResolveReport, *, ctx: Auctions) -> list[Report]:
    """Resolve every open report on the report's target with one outcome (admins).

    ``remove_listing`` cancels the lot first, as an admin's cancellation does (bids
    voided, bidders told); a lot cancelled already counts as removed, so a retry
    after a failure between the two steps completes the resolution.
    """
    note = check_note(command.note)
    async with ctx.uow.db.read() as conn:
        report = await report_store.report_by_id(conn, command.report_id)
    if report is None:
        raise report_not_found()
    check_open(report)
    check_outcome(command.outcome, report.target_type)
    if command.outcome is Outcome.REMOVE_LISTING:
        await _remove_listing(report.target_id, admin_id=command.admin_id, note=note, ctx=ctx)
    now = ctx.clock()
    async with ctx.uow() as tx:
        reports = await report_store.open_reports_on(tx.conn, report.target_type, report.target_id)
        if report.id not in {r.id for r in reports}:
            raise Conflict("report_resolved", "the report was resolved meanwhile")
        resolved = [
            resolve(r, outcome=command.outcome, note=note, by=command.admin_id, now=now)
            for r in reports
        ]
        for each in resolved:
            await report_store.save_resolution(tx.conn, each)
        await _announce(tx, report, resolved, command, note=note, at=now.isoformat())
    return resolved


async def _remove_listing(lot_id: str, *, admin_id: str, note: str | None, ctx: Auctions) -> None:
    cancel = CancelLot(lot_id, by=Caller(admin_id, admin=True), reason=note or REMOVED)
    try:
        await cancel_lot(cancel, ctx=ctx)
    except NotAllowed as refusal:
        async with ctx.uow.db.read() as conn:
            lot = await store.lot_by_id(conn, lot_id)
        if lot is None or lot.status is not Status.CANCELLED:
            raise Conflict(
                "listing_not_removable", f"the listing cannot be removed: {refusal.message}"
            ) from refusal


async def _announce(
    tx: Transaction,
    report: Report,
    resolved: list[Report],
    command: ResolveReport,
    *,
    note: str | None,
    at: str,
) -> None:
    """``ReportResolved`` for the reporters and the member answerable, and the audit record."""
    title: str | None = None
    answerable = report.target_id
    if report.target_type is TargetType.AUCTION:
        lot = await store.lot_by_id(tx.conn, report.target_id)
        if lot is not None:
            title, answerable = lot.terms.title, lot.seller_id
    report_ids = [r.id for r in resolved]
    data: ReportResolvedData = {
        "report_ids": report_ids,
        "reporter_ids": list(dict.fromkeys(r.reporter_id for r in resolved)),
        "target_type": report.target_type.value,
        "target_id": report.target_id,
        "title": title,
        "answerable_id": answerable,
        "outcome": command.outcome.value,
        "note": note,
        "resolved_by": command.admin_id,
        "at": at,
    }
    tx.emit(REPORT_RESOLVED, dict(data))
    audit.record(
        tx,
        actor_id=command.admin_id,
        action="report.resolved",
        target=f"report:{report.id}",
        at=at,
        reason=note,
        details={
            "outcome": command.outcome.value,
            "target": report.target,
            "answerable_id": answerable,
            "report_ids": report_ids,
        },
    )
