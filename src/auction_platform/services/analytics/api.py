"""HTTP routes of the analytics service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from auction_platform.core.db import Database
from auction_platform.services.analytics import store


def build_router(db: Database) -> APIRouter:
    """Routes under ``/api/v1/analytics``."""
    router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

    @router.get("/events")
    async def list_events(
        event_type: str | None = Query(default=None, alias="type", max_length=100),
        limit: int = Query(default=50, ge=1, le=500),
    ) -> dict[str, Any]:
        """The newest events in the event store."""
        async with db.read() as conn:
            items = await store.recent_events(conn, event_type=event_type, limit=limit)
        return {"items": items}

    return router
