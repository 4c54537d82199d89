"""HTTP routes of suspension: ``/api/v1/users/{user_id}/suspension`` (admins only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from auction_platform.core.auth import Admin
from auction_platform.core.inputs import ResourceId
from auction_platform.services.identity import suspension_handlers
from auction_platform.services.identity.handlers import Identity
from auction_platform.services.identity.suspension import (
    REASON_MAX,
    ReinstateUser,
    SuspendUser,
    Suspension,
)
from auction_platform.services.identity.suspension_answers import SuspensionAnswer


class SuspensionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Beyond the rule's limit (and up to four times it) the rule refuses with its own
    # code (422 ``invalid_reason``); the hard cap only bounds the work.
    reason: Annotated[
        str,
        Field(
            max_length=REASON_MAX * 4,
            json_schema_extra={"minLength": 1, "maxLength": REASON_MAX},
            description="Why, in the operator's words: the user is told it by mail.",
        ),
    ]
    until: AwareDatetime | None = Field(
        default=None,
        description="When it lapses by itself (in the future); null: until reinstated.",
    )


def suspension_view(suspension: Suspension | None, *, now: Any) -> dict[str, Any] | None:
    """A suspension as the API shows it, with whether it is in force at ``now``."""
    if suspension is None:
        return None
    return {
        "id": suspension.id,
        "reason": suspension.reason,
        "suspended_by": suspension.suspended_by,
        "suspended_at": suspension.suspended_at.isoformat(),
        "until": suspension.until.isoformat() if suspension.until else None,
        "lifted_by": suspension.lifted_by,
        "lifted_at": suspension.lifted_at.isoformat() if suspension.lifted_at else None,
        "in_force": suspension.in_force(now),
    }


REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "There is no such user (`user_not_found`)."},
    409: {
        "description": "You cannot suspend your own account (`cannot_suspend_self`), the "
        "account is suspended already (`already_suspended`), or it is not suspended "
        "(`not_suspended`)."
    },
    422: {
        "description": "The reason is empty or longer than 500 characters (`invalid_reason`), "
        "or the end is not in the future (`invalid_suspension_end`)."
    },
}


def build_router(ctx: Identity) -> APIRouter:
    """The suspension routes."""
    router = APIRouter(prefix="/api/v1/users", tags=["users"])

    @router.get(
        "/{user_id}/suspension",
        responses={200: {"model": SuspensionAnswer}, 404: REFUSALS[404]},
    )
    async def show(user_id: ResourceId, admin: Admin) -> dict[str, Any]:
        """The account's latest suspension (in force, lifted or lapsed), or null."""
        standing = await suspension_handlers.standing(user_id, ctx=ctx)
        return {"suspension": suspension_view(standing.suspension, now=ctx.clock())}

    @router.post(
        "/{user_id}/suspension",
        status_code=201,
        responses={201: {"model": SuspensionAnswer}, **REFUSALS},
    )
    async def suspend(user_id: ResourceId, body: SuspensionRequest, admin: Admin) -> dict[str, Any]:
        """Suspend an account (admins only), with a reason and an optional end.

        From this moment its access tokens are refused by every service (403
        `account_suspended`), and it can neither sign in nor refresh until the end
        passes or it is reinstated. Its open and scheduled listings are cancelled
        (bids voided, bidders told), its leading bids on others' lots retracted,
        and the user is told by mail."""
        command = SuspendUser(user_id, admin.subject, body.reason, body.until)
        suspension = await suspension_handlers.suspend(command, ctx=ctx)
        return {"suspension": suspension_view(suspension, now=ctx.clock())}

    @router.delete(
        "/{user_id}/suspension",
        status_code=204,
        responses={404: REFUSALS[404], 409: REFUSALS[409]},
    )
    async def reinstate(user_id: ResourceId, admin: Admin) -> Response:
        """Reinstate an account early (admins only): it may sign in again. What the
        suspension cancelled stays cancelled; the user is told by mail."""
        await suspension_handlers.reinstate(ReinstateUser(user_id, admin.subject), ctx=ctx)
        return Response(status_code=204)

    return router
