"""HTTP routes of search: ``/api/v1/search`` (public, no sign-in).

Filter and sort names follow the catalogue's (``GET /api/v1/auctions``): ``status``,
``category``, ``min_price`` and ``max_price`` in minor units, and ``format`` (how the
lot is sold: one of ``contracts.auctions.AuctionFormat``). Pages are
``limit``/``offset`` (relevance has no stable key to make a cursor of).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from auction_platform.contracts.auctions import AuctionFormat
from auction_platform.core.inputs import PriceFilter
from auction_platform.services.analytics import answers, handlers
from auction_platform.services.analytics.handlers import Analytics
from auction_platform.services.analytics.search import (
    MAX_WINDOW,
    SearchQuery,
    SearchSort,
    SearchStatus,
)


def build_router(ctx: Analytics) -> APIRouter:
    """Routes under ``/api/v1/search``."""
    router = APIRouter(prefix="/api/v1/search", tags=["search"])

    @router.get("/auctions", responses={200: {"model": answers.SearchResults}})
    async def search_auctions(
        q: Annotated[str, Query(max_length=200)] = "",
        category: Annotated[str | None, Query(max_length=40)] = None,
        status: SearchStatus | None = None,
        sale_format: Annotated[AuctionFormat | None, Query(alias="format")] = None,
        min_price: PriceFilter = None,
        max_price: PriceFilter = None,
        sort: SearchSort = "relevance",
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Lots matching words of their title or description, with facets."""
        query = SearchQuery(
            text=q,
            category=category,
            status=status,
            format=sale_format,
            min_price_cents=min_price,
            max_price_cents=max_price,
            sort=sort,
            limit=limit,
            offset=offset,
        )
        page = await handlers.search(query, ctx=ctx)
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
