"""HTTP routes of a member's data here: ``GET /api/v1/payments/me/export`` and ``/me/obligations``.

Built by ``core.privacy`` around this service's two queries (``privacy``); identity
asks them with the member's own token.
"""

from __future__ import annotations

from fastapi import APIRouter

from auction_platform.core.privacy import export_answer, privacy_router
from auction_platform.services.payment import privacy
from auction_platform.services.payment.handlers import Payments

SECTIONS = {
    "orders": "Your orders, as buyer or seller.",
    "offers": "Second-chance offers made to you or on your lots.",
    "payouts": "Your payouts as a seller.",
    "ledger": "Your seller ledger's entries.",
    "feedback_given": "The feedback you left.",
    "feedback_received": "The feedback left about you.",
    "disputes": "The disputes you are a party to.",
    "dispute_messages": "Their threads.",
}


def build_router(ctx: Payments) -> APIRouter:
    """``/api/v1/payments/me/export`` and ``/me/obligations``."""
    return privacy_router(
        "/api/v1/payments",
        tag="payments",
        db=lambda: ctx.uow.db,
        export=privacy.export,
        obligations=privacy.obligations,
        answer=export_answer("PaymentExport", SECTIONS),
    )
