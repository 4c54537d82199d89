"""HTTP route of the signup signals: ``/api/v1/users/{id}/signup-signals`` (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from auction_platform.core.auth import Admin
from auction_platform.core.inputs import ResourceId
from auction_platform.services.identity import handlers, signup_store
from auction_platform.services.identity.handlers import Identity


class SignupSignals(BaseModel):
    """Where and on which device an account signed up; null when not known."""

    model_config = ConfigDict(extra="forbid")

    user_id: str
    address: str | None = Field(description="The client address of the sign-up.")
    device_id: str | None = Field(description="The site's `device` cookie at the sign-up.")
    signed_up_at: datetime | None


def build_router(ctx: Identity) -> APIRouter:
    """Routes under ``/api/v1/users/{user_id}/signup-signals``."""
    router = APIRouter(prefix="/api/v1/users", tags=["users"])

    @router.get(
        "/{user_id}/signup-signals",
        responses={200: {"model": SignupSignals}, 404: {"description": "No such user."}},
    )
    async def signup_signals(user_id: ResourceId, admin: Admin) -> dict[str, Any]:
        """Where and on which device an account signed up (admins only: personal data,
        kept for the shill-bidding signals and erased with the account)."""
        await handlers.user(user_id, ctx=ctx)
        async with ctx.uow.db.read() as conn:
            kept = await signup_store.signals_of(conn, user_id)
        empty = {"address": None, "device_id": None, "signed_up_at": None}
        return {"user_id": user_id, **(kept or empty)}

    return router
