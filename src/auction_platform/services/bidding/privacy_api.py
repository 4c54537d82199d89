"""HTTP routes of a member's data here: ``GET /api/v1/bids/me/export`` and ``/me/obligations``.

Built by ``core.privacy`` around this service's two queries (``privacy``); identity
asks them with the member's own token.
"""

from __future__ import annotations

from fastapi import APIRouter

from auction_platform.core.privacy import export_answer, privacy_router
from auction_platform.services.bidding import privacy
from auction_platform.services.bidding.handlers import Bidding


def build_router(ctx: Bidding) -> APIRouter:
    """``/api/v1/bids/me/export`` and ``/me/obligations``."""
    return privacy_router(
        "/api/v1/bids",
        tag="bidding",
        db=lambda: ctx.uow.db,
        export=privacy.export,
        obligations=privacy.obligations,
        answer=export_answer("BiddingExport", {"bids": "Every bid you placed."}),
    )
