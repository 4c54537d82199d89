"""HTTP routes of search: ``/api/v1/search`` (public, no sign-in).

Filter and sort names follow the catalogue's (``GET /api/v1/auctions``): ``status``,
``category``, ``min_price`` and ``max_price`` in minor units. Pages are
``limit``/``offset`` (relevance has no stable key to make a cursor of).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from auction_platform.core.errors import ApiError
from auction_platform.services.analytics.handlers import Analytics
from auction_platform.services.analytics.search import SearchQuery, SearchSort, SearchStatus

# Elasticsearch's default result window; deeper pages are refused on every backend.
MAX_WINDOW = 10_000


def build_router(ctx: Analytics) -> APIRouter:
    """Routes under ``/api/v1/search``."""
    router = APIRouter(prefix="/api/v1/search", tags=["search"])

    @router.get("/auctions")
    async def search_auctions(
        q: Annotated[str, Query(max_length=200)] = "",
        category: Annotated[str | None, Query(max_length=40)] = None,
        status: SearchStatus | None = None,
        min_price: Annotated[int | None, Query(ge=0)] = None,
        max_price: Annotated[int | None, Query(ge=0)] = None,
        sort: SearchSort = "relevance",
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Lots matching words of their title or description, with facets."""
        if offset + limit > MAX_WINDOW:
            raise ApiError(422, "validation_error", f"offset + limit may not pass {MAX_WINDOW}")
        if min_price is not None and max_price is not None and min_price > max_price:
            raise ApiError(422, "validation_error", "min_price must not exceed max_price")
        query = SearchQuery(
            text=q,
            category=category,
            status=status,
            min_price_cents=min_price,
            max_price_cents=max_price,
            sort=sort,
            limit=limit,
            offset=offset,
        )
        page = await ctx.search.search(query)
        following = offset + limit
        return {
            "items": page.items,
            "total": page.total,
            "limit": limit,
            "offset": offset,
            "next_offset": following if following < min(page.total, MAX_WINDOW) else None,
            "facets": page.facets(),
            "server_time": ctx.clock().isoformat(),
        }

    return router
