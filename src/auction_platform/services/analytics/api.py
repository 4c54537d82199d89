"""HTTP routes of the analytics service: ``/api/v1/analytics`` (admins only).

Reports take a range of UTC days, ``from`` and ``to`` (ISO dates, inclusive);
without them, the last 30 days up to today. Money is per currency, in minor units:
``gross_gmv_cents`` (hammer prices of the lots sold, by close day) and
``gross_fees_cents`` (fees collected, by payment day) as they were made;
``refunds`` and ``refunded_cents`` (orders refunded and the money given back to
their buyers, premium included, by refund day); ``net_gmv_cents`` and
``net_fees_cents``, the gross less the refunded orders' hammer and fees.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from auction_platform.core.auth import Admin
from auction_platform.core.errors import ErrorTable
from auction_platform.core.inputs import ResourceId
from auction_platform.services.analytics import answers, handlers
from auction_platform.services.analytics.commands import (
    AuctionReport,
    BidsPerMinute,
    Daily,
    RecentEvents,
    Summary,
)
from auction_platform.services.analytics.handlers import Analytics

# Every refusal of analytics (a range or a page it will not give, an auction it
# never heard of) leaves with its kind's status.
ERRORS = ErrorTable()

MAX_MINUTES = 24 * 60
From = Annotated[date | None, Query(alias="from")]
To = Annotated[date | None, Query(alias="to")]


def build_router(ctx: Analytics) -> APIRouter:
    """Routes under ``/api/v1/analytics``."""
    router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

    def stamped(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "server_time": ctx.clock().isoformat()}

    @router.get("/events", responses={200: {"model": answers.EventList}})
    async def list_events(
        admin: Admin,
        event_type: Annotated[str | None, Query(alias="type", max_length=100)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        """The newest events in the event store."""
        return {"items": await handlers.recent_events(RecentEvents(event_type, limit), ctx=ctx)}

    @router.get("/summary", responses={200: {"model": answers.Summary}})
    async def summary(admin: Admin, start: From = None, end: To = None) -> dict[str, Any]:
        """Totals and rates over a range of days; GMV and fees gross and net of refunds."""
        return stamped(await handlers.summary(Summary(start, end), ctx=ctx))

    @router.get("/daily", responses={200: {"model": answers.Daily}})
    async def daily(
        admin: Admin,
        start: From = None,
        end: To = None,
        category: Annotated[str | None, Query(max_length=40)] = None,
    ) -> dict[str, Any]:
        """Counters and rates per day, category and currency."""
        return stamped(await handlers.daily(Daily(start, end, category), ctx=ctx))

    @router.get("/bids-per-minute", responses={200: {"model": answers.BidsPerMinute}})
    async def bids_per_minute(
        admin: Admin, minutes: Annotated[int, Query(ge=1, le=MAX_MINUTES)] = 60
    ) -> dict[str, Any]:
        """Bids per minute over every auction: the last ``minutes`` minutes, this one included."""
        return stamped(await handlers.bids_per_minute(BidsPerMinute(minutes), ctx=ctx))

    @router.get("/auctions/{auction_id}", responses={200: {"model": answers.AuctionReport}})
    async def auction(admin: Admin, auction_id: ResourceId) -> dict[str, Any]:
        """One auction: bids per minute, time to first bid, result and refunds."""
        return stamped(await handlers.auction_report(AuctionReport(auction_id), ctx=ctx))

    return router
