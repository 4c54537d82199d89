"""HTTP routes of the shill-bidding signals: ``/api/v1/analytics/shill-signals`` (admins).

A signal is a flag for review, never a verdict: the platform does nothing to the
accounts it names. The daily job (``shill-signals``) raises them; ``run`` runs it now.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from auction_platform.core.auth import Admin
from auction_platform.core.inputs import ResourceId
from auction_platform.services.analytics import shill_handlers
from auction_platform.services.analytics.shill import FlagStatus, SignalKind
from auction_platform.services.analytics.shill_handlers import ListFlags, ReviewFlag, ShillSignals


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Verdict(StrEnum):
    """What an admin makes of a flag."""

    REVIEWED = FlagStatus.REVIEWED.value
    DISMISSED = FlagStatus.DISMISSED.value


class Review(_Strict):
    status: Verdict = Field(description="`reviewed`: looked into; `dismissed`: nothing in it.")
    note: Annotated[str | None, Field(max_length=1000)] = None


class Signal(_Strict):
    """A pattern found in the bids, for an admin to look at."""

    id: str
    kind: SignalKind = Field(
        description=(
            "`concentration`: most of the bidder's bids went to the seller's lots; "
            "`shared_signup`: the bidder signed up from the seller's address or device; "
            "`retractions`: the bidder retracted bids repeatedly (the seller named when "
            "on one seller's lots)."
        )
    )
    bidder_id: str
    seller_id: str | None
    day: date = Field(description="The UTC day the job found it.")
    evidence: dict[str, Any]
    status: FlagStatus
    note: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    created_at: datetime


class SignalList(_Strict):
    items: list[Signal]


class SignalAnswer(_Strict):
    signal: Signal


class JobRun(_Strict):
    """What a run of the job weighed and found."""

    day: date
    bids: int = Field(description="Bids of the window weighed.")
    retractions: int
    found: int = Field(description="Patterns the rules found (flagged earlier ones included).")
    flagged: int = Field(description="New flags recorded for review.")


def build_router(ctx: ShillSignals) -> APIRouter:
    """Routes under ``/api/v1/analytics/shill-signals``."""
    router = APIRouter(prefix="/api/v1/analytics/shill-signals", tags=["analytics"])

    @router.get("", responses={200: {"model": SignalList}})
    async def list_signals(
        admin: Admin,
        status: FlagStatus | None = None,
        kind: SignalKind | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        """The flags for review, newest first; of one status or kind when asked."""
        return {"items": await shill_handlers.list_flags(ListFlags(status, kind, limit), ctx=ctx)}

    @router.post(
        "/{signal_id}/review",
        responses={200: {"model": SignalAnswer}, 404: {"description": "No such signal."}},
    )
    async def review(signal_id: ResourceId, body: Review, admin: Admin) -> dict[str, Any]:
        """Mark a flag reviewed or dismissed, with a note (recorded in the audit log)."""
        command = ReviewFlag(signal_id, FlagStatus(body.status.value), body.note, admin.subject)
        return {"signal": await shill_handlers.review_flag(command, ctx=ctx)}

    @router.post("/run", responses={200: {"model": JobRun}})
    async def run(admin: Admin) -> dict[str, Any]:
        """Run the daily job now over the window up to this moment (for operators and tests)."""
        result = await shill_handlers.run_job(ctx, claim=False)
        assert result is not None  # only a claimed run can find its day taken
        return result

    return router
