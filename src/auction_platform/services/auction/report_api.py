"""HTTP routes of reports: ``/api/v1/reports`` (members report; admins moderate)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from auction_platform.core.auth import Admin, CurrentUser
from auction_platform.core.inputs import ID_PATTERN, ResourceId
from auction_platform.services.auction.handlers import Auctions
from auction_platform.services.auction.report_handlers import (
    FileReport,
    ResolveReport,
    Target,
    file_report,
    my_reports,
    queue,
    resolve_report,
)
from auction_platform.services.auction.reports import (
    COMMENT_MAX,
    NOTE_MAX,
    Outcome,
    Reason,
    Report,
    ReportStatus,
    TargetType,
)

TargetId = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewReport(_Body):
    """A listing (`auction`) or a member (`user`) to report, why, and in your words."""

    target_type: TargetType
    target_id: TargetId
    reason: Reason
    comment: str | None = Field(
        default=None,
        max_length=COMMENT_MAX * 2,
        description=(
            f"1 to {COMMENT_MAX} printable characters; required when `reason` is `other` "
            "(refused with 422 `invalid_comment`)."
        ),
    )


class Resolution(_Body):
    """The outcome for the report's target, and a note (a warning's words to the member)."""

    outcome: Outcome
    note: str | None = Field(
        default=None, max_length=NOTE_MAX * 2, description=f"At most {NOTE_MAX} characters."
    )


class ReportFields(_Body):
    """A report and, once resolved, its outcome."""

    id: str
    reporter_id: str
    target_type: TargetType
    target_id: str
    reason: Reason
    comment: str | None
    status: ReportStatus
    created_at: str
    outcome: Outcome | None
    note: str | None = Field(description="Shown to admins only.")
    resolved_at: str | None


class ReportAnswer(_Body):
    """One report."""

    report: ReportFields


class ReportList(_Body):
    """Reports, newest first."""

    items: list[ReportFields]


class TargetContext(BaseModel):
    """What an admin needs to judge a target.

    Both kinds: `reports_total`, `reports_open`. A listing: `title`, `seller_id`,
    `status`, `price_cents`, `currency`, `photos`. A member: `open_listings`."""

    model_config = ConfigDict(extra="allow")

    reports_total: int
    reports_open: int


class QueueTarget(_Body):
    """A reported target with its reports (oldest first) and its context."""

    target_type: TargetType
    target_id: str
    context: TargetContext | None = Field(description="null: the listing no longer exists.")
    reports: list[ReportFields]


class Queue(_Body):
    """Targets with the most reports first, then the longest waiting."""

    targets: list[QueueTarget]


class Resolved(_Body):
    """Every report resolved with the outcome (the one asked about and the others open)."""

    resolved: list[ReportFields]


def _report(report: Report, *, admin: bool) -> dict[str, Any]:
    return {
        "id": report.id,
        "reporter_id": report.reporter_id,
        "target_type": report.target_type.value,
        "target_id": report.target_id,
        "reason": report.reason.value,
        "comment": report.comment,
        "status": report.status.value,
        "created_at": report.created_at.isoformat(),
        "outcome": report.outcome.value if report.outcome else None,
        "note": report.note if admin else None,
        "resolved_at": report.resolved_at.isoformat() if report.resolved_at else None,
    }


def _target(target: Target) -> dict[str, Any]:
    return {
        "target_type": target.target_type.value,
        "target_id": target.target_id,
        "context": target.context,
        "reports": [_report(r, admin=True) for r in target.reports],
    }


def build_router(ctx: Auctions) -> APIRouter:
    """The routes of reports."""
    router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

    @router.post(
        "",
        status_code=201,
        responses={
            201: {"model": ReportAnswer},
            404: {"description": "No such listing (`auction_not_found`)."},
            409: {"description": "You have an open report on it (`report_open`)."},
            422: {
                "description": (
                    "Your own listing or yourself (`own_target`), or the comment "
                    "(`invalid_comment`)."
                )
            },
        },
    )
    async def report(body: NewReport, user: CurrentUser) -> dict[str, Any]:
        """Report a listing or a member to the platform's admins.

        One report per target stays open at a time. A member is taken by id as given:
        an id nobody holds waits for an admin like any other report."""
        command = FileReport(
            user.subject, body.target_type, body.target_id, body.reason, body.comment
        )
        return {"report": _report(await file_report(command, ctx=ctx), admin=False)}

    @router.get("/mine", responses={200: {"model": ReportList}})
    async def mine(user: CurrentUser) -> dict[str, Any]:
        """Your reports, newest first, with their outcomes once an admin decided."""
        found = await my_reports(user.subject, ctx=ctx)
        return {"items": [_report(r, admin=False) for r in found]}

    @router.get("", responses={200: {"model": Queue}})
    async def moderation_queue(
        admin: Admin,
        status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    ) -> dict[str, Any]:
        """The moderation queue (admins): reports grouped by target, with its context."""
        wanted = None if status == "all" else ReportStatus(status)
        return {"targets": [_target(t) for t in await queue(wanted, ctx=ctx)]}

    @router.post(
        "/{report_id}/resolution",
        responses={
            200: {"model": Resolved},
            404: {"description": "No such report (`report_not_found`)."},
            409: {
                "description": (
                    "Resolved already (`report_resolved`), or the listing has closed "
                    "(`listing_not_removable`)."
                )
            },
            422: {
                "description": (
                    "`remove_listing` on a member (`outcome_not_applicable`), or the note "
                    "(`invalid_note`)."
                )
            },
        },
    )
    async def resolution(report_id: ResourceId, body: Resolution, admin: Admin) -> dict[str, Any]:
        """Resolve a report, and every other open report on its target, with one outcome.

        `dismiss` closes them; `warn` mails the member answerable (the listing's seller,
        or the member) with the note; `remove_listing` cancels the lot as an admin's
        cancellation does; `suspend` records the decision: the suspension itself is
        identity's `POST /api/v1/users/{id}/suspension`. Every reporter is told the
        outcome by mail (`ReportResolved`); the decision enters the audit trail."""
        command = ResolveReport(report_id, body.outcome, body.note, admin.subject)
        resolved = await resolve_report(command, ctx=ctx)
        return {"resolved": [_report(r, admin=True) for r in resolved]}

    return router
