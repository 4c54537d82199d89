"""HTTP routes of a member's data here: ``GET /api/v1/auctions/me/export`` and ``/me/obligations``.

Built by ``core.privacy`` around this service's two queries (``privacy``); identity
asks them with the member's own token.
"""

from __future__ import annotations

from fastapi import APIRouter

from auction_platform.core.privacy import export_answer, privacy_router
from auction_platform.services.auction import privacy
from auction_platform.services.auction.handlers import Auctions


def build_router(ctx: Auctions) -> APIRouter:
    """``/api/v1/auctions/me/export`` and ``/me/obligations``."""
    return privacy_router(
        "/api/v1/auctions",
        tag="auctions",
        db=lambda: ctx.uow.db,
        export=privacy.export,
        obligations=privacy.obligations,
        answer=export_answer(
            "AuctionExport",
            {
                "listings": "Your listings, any status, each with its format and timed sale.",
                "timed_sales": "Your timed sales, any status.",
                "watchlist": "The lots you watch.",
            },
        ),
    )
