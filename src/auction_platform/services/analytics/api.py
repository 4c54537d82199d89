"""HTTP routes of the analytics service: ``/api/v1/analytics`` (admins only).

Reports take a range of UTC days, ``from`` and ``to`` (ISO dates, inclusive);
without them, the last 30 days up to today.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from auction_platform.core.auth import Admin
from auction_platform.core.errors import ApiError
from auction_platform.services.analytics import handlers, store
from auction_platform.services.analytics.handlers import Analytics

DEFAULT_DAYS = 30
MAX_DAYS = 366 * 3
MAX_MINUTES = 24 * 60
From = Annotated[date | None, Query(alias="from")]
To = Annotated[date | None, Query(alias="to")]


def build_router(ctx: Analytics) -> APIRouter:
    """Routes under ``/api/v1/analytics``."""
    router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

    def days(start: date | None, end: date | None) -> tuple[date, date]:
        end = end or ctx.clock().date()
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise ApiError(422, "validation_error", "'from' must not be after 'to'")
        if (end - start).days >= MAX_DAYS:
            raise ApiError(422, "validation_error", f"a range spans at most {MAX_DAYS} days")
        return start, end

    def stamped(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "server_time": ctx.clock().isoformat()}

    @router.get("/events")
    async def list_events(
        admin: Admin,
        event_type: Annotated[str | None, Query(alias="type", max_length=100)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        """The newest events in the event store."""
        async with ctx.db.read() as conn:
            items = await store.recent_events(conn, event_type=event_type, limit=limit)
        return {"items": items}

    @router.get("/summary")
    async def summary(admin: Admin, start: From = None, end: To = None) -> dict[str, Any]:
        """Totals and rates over a range of days."""
        first, last = days(start, end)
        return stamped(await handlers.summary(ctx, start=first, end=last))

    @router.get("/daily")
    async def daily(
        admin: Admin,
        start: From = None,
        end: To = None,
        category: Annotated[str | None, Query(max_length=40)] = None,
    ) -> dict[str, Any]:
        """Counters and rates per day, category and currency."""
        first, last = days(start, end)
        return stamped(await handlers.daily(ctx, start=first, end=last, category=category))

    @router.get("/bids-per-minute")
    async def bids_per_minute(
        admin: Admin, minutes: Annotated[int, Query(ge=1, le=MAX_MINUTES)] = 60
    ) -> dict[str, Any]:
        """Bids per minute over every auction: the last ``minutes`` minutes, this one included."""
        return stamped(await handlers.bids_per_minute(ctx, minutes=minutes))

    @router.get("/auctions/{auction_id}")
    async def auction(
        admin: Admin, auction_id: Annotated[str, Path(min_length=1, max_length=64)]
    ) -> dict[str, Any]:
        """One auction: bids per minute, time to first bid and result."""
        report = await handlers.auction_report(ctx, auction_id)
        if report is None:
            raise ApiError(404, "not_found", "analytics has no record of this auction")
        return stamped(report)

    return router
