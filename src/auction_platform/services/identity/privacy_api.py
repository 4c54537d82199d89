"""HTTP routes of a member's privacy: ``GET /users/me/export``, ``DELETE /users/me``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from auction_platform.core.auth import CurrentUser
from auction_platform.services.identity import privacy
from auction_platform.services.identity.handlers import Identity
from auction_platform.services.identity.ports import Peers
from auction_platform.services.identity.privacy import CloseAccount

OBLIGATIONS = (
    "`open_listings` (a listing scheduled or open), `leading_bids` (you lead an open "
    "auction), `unpaid_orders` (an order awaiting payment, as buyer or seller), "
    "`undelivered_orders` (a paid order not yet received), `open_offers` (a second-chance "
    "offer not yet taken or lapsed), `open_disputes` (a dispute not yet resolved, as buyer "
    "or seller)"
)


class Closing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: Annotated[str, Field(min_length=1, max_length=256)]


Part = Annotated[dict[str, Any], Field(description="That service's sections of records.")]


class DataExport(BaseModel):
    """Your data: identity's records, and each other service's part (`auction`,
    `bidding`, `payment`: sections of records, as each service's `/me/export`)."""

    model_config = ConfigDict(extra="forbid")

    exported_at: datetime
    account: dict[str, Any] = Field(description="Your account and notice preferences.")
    addresses: list[dict[str, Any]]
    signup: dict[str, Any] | None = Field(description="Your signup record, if kept.")
    auction: Part
    bidding: Part
    payment: Part


def _bearer(request: Request) -> str:
    """The caller's own token, to ask the other services as them."""
    return request.headers.get("authorization", "").partition(" ")[2]


def build_router(ctx: Identity, peers: Peers) -> APIRouter:
    """The export and the closing of the caller's account."""
    router = APIRouter(prefix="/api/v1/users", tags=["users"])

    @router.get(
        "/me/export",
        responses={
            200: {
                "model": DataExport,
                "description": "Every record the platform keeps about you, by service.",
            },
            503: {"description": "A service cannot answer for its part now (`peer_unavailable`)."},
        },
    )
    async def export_me(principal: CurrentUser, request: Request) -> dict[str, Any]:
        """Download your data: your account, addresses, notice preferences and signup
        record (identity), listings, timed sales and watchlist (`auction`), bids
        (`bidding`), orders, offers, payouts, ledger, feedback given and received, and
        disputes with their threads (`payment`)."""
        return await privacy.export(principal.subject, token=_bearer(request), ctx=ctx, peers=peers)

    @router.delete(
        "/me",
        status_code=204,
        responses={
            403: {"description": "The password is not right (`wrong_password`)."},
            409: {
                "description": (
                    "Something is still open (`account_has_obligations`); `details.obligations` "
                    f"names each: {OBLIGATIONS}."
                )
            },
            503: {"description": "A service cannot answer for its part now (`peer_unavailable`)."},
        },
    )
    async def close_me(body: Closing, principal: CurrentUser, request: Request) -> Response:
        """Close your account, giving your password again. Your email, name, phone,
        password, addresses and signup record are erased and every token you hold is
        refused at once; your orders, bids and the sellers' ledger keep their amounts
        and dates under the name "Deleted user". Refused while anything is still open."""
        command = CloseAccount(principal.subject, body.password, _bearer(request))
        await privacy.close_account(command, ctx=ctx, peers=peers)
        return Response(status_code=204)

    return router
