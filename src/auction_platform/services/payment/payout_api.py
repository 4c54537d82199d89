"""HTTP routes of payouts: a seller's balance and payouts, connecting an account, admins' holds."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from auction_platform.core.auth import Admin, CurrentUser
from auction_platform.core.failures import Forbidden
from auction_platform.core.inputs import ResourceId
from auction_platform.services.payment import payout_answers, payout_handlers
from auction_platform.services.payment.handlers import Payments
from auction_platform.services.payment.ledger import Balance, Payout, PayoutStatus
from auction_platform.services.payment.payout_store import Account

CONNECT_DESCRIPTION = """\
Connect the account your payouts are sent to. With Stripe, this opens (once) an Express
connected account and answers the link to Stripe's onboarding, where you finish it; your
payouts wait (`awaiting_account`) until Stripe reports the account may receive them. In
the sandbox the account may receive payouts at once. Ask again for a fresh link.
"""


class HoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ReleaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: Annotated[
        str | None, Field(max_length=500, description="Why (kept in the audit trail).")
    ] = None


def payout_document(payout: Payout) -> dict[str, Any]:
    """A payout for the API."""
    return {
        "id": payout.id,
        "order_id": payout.order_id,
        "seller_id": payout.seller_id,
        "amount_cents": payout.amount_cents,
        "currency": payout.currency,
        "status": payout.status.value,
        "attempts": payout.attempts,
        "hold_reason": payout.hold_reason,
        "failure": payout.failure,
        "transfer_id": payout.transfer_id,
        "created_at": payout.created_at.isoformat(),
        "paid_at": payout.paid_at.isoformat() if payout.paid_at else None,
    }


def _balance(balance: Balance) -> dict[str, Any]:
    return {
        "currency": balance.currency,
        "pending_cents": balance.pending_cents,
        "available_cents": balance.available_cents,
        "paid_out_cents": balance.paid_out_cents,
        "owed_cents": balance.owed_cents,
    }


def _account(account: Account | None) -> dict[str, Any] | None:
    if account is None:
        return None
    return {
        "provider": account.provider,
        "account_id": account.account_id,
        "payouts_enabled": account.payouts_enabled,
    }


def build_router(ctx: Payments) -> APIRouter:
    """Every route of payouts."""
    router = APIRouter(prefix="/api/v1/payouts", tags=["payouts"])

    def now() -> str:
        return ctx.clock().isoformat()

    def one(payout: Payout) -> dict[str, Any]:
        return {"payout": payout_document(payout), "server_time": now()}

    @router.get("/balance", responses={200: {"model": payout_answers.BalanceAnswer}})
    async def balance(user: CurrentUser) -> dict[str, Any]:
        """Your money as a seller, by currency: pending (orders not yet received), available
        (released, being paid), paid out, and owed (refunded after it was paid out)."""
        found = await payout_handlers.statement(user.subject, ctx=ctx)
        return {
            "balances": [_balance(b) for b in found.balances],
            "account": _account(found.account),
            "server_time": now(),
        }

    @router.get(
        "",
        responses={
            200: {"model": payout_answers.PayoutPage},
            403: {"description": "Only admins list every payout (`role=any`)."},
        },
    )
    async def payouts(
        user: CurrentUser,
        role: Literal["seller", "any"] = "seller",
        status: PayoutStatus | None = None,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        """Your payouts, one per order received, newest first; every payout with
        ``?role=any`` (admins); ``?status=`` keeps one status."""
        if role == "any" and not user.has_role("admin"):
            raise Forbidden("forbidden", "only admins list every payout")
        page = await payout_handlers.list_payouts(
            None if role == "any" else user.subject,
            status=status,
            cursor=cursor,
            limit=limit,
            ctx=ctx,
        )
        return {
            "items": [payout_document(p) for p in page.items],
            "next_cursor": page.next_cursor,
            "server_time": now(),
        }

    @router.post(
        "/account",
        description=CONNECT_DESCRIPTION,
        responses={
            200: {"model": payout_answers.Connection},
            502: {"description": "The payout provider refused what it should take."},
            503: {"description": "The payout provider cannot be reached; retry later."},
        },
    )
    async def connect(user: CurrentUser) -> dict[str, Any]:
        """Connect your payout account: the onboarding link to finish it."""
        onboarding = await payout_handlers.connect_account(user.subject, ctx=ctx)
        return {
            "account_id": onboarding.account_id,
            "onboarding_url": onboarding.url,
            "payouts_enabled": onboarding.payouts_enabled,
            "provider": ctx.payout_provider.name,
        }

    @router.post(
        "/{payout_id}/hold",
        responses={
            200: {"model": payout_answers.PayoutAnswer},
            404: {"description": "No such payout (`payout_not_found`)."},
            409: {"description": "Held already, or sent, being sent or cancelled."},
        },
    )
    async def hold(payout_id: ResourceId, body: HoldBody, admin: Admin) -> dict[str, Any]:
        """Hold a payout (admins): it is not sent until released. The audit trail keeps
        who held it and why."""
        held = await payout_handlers.hold(
            payout_id, reason=body.reason, actor_id=admin.subject, ctx=ctx
        )
        return one(held)

    @router.post(
        "/{payout_id}/release",
        responses={
            200: {"model": payout_answers.PayoutAnswer},
            404: {"description": "No such payout (`payout_not_found`)."},
            409: {"description": "Only a held or failed payout is released (`payout_not_held`)."},
        },
    )
    async def release(
        payout_id: ResourceId, admin: Admin, body: ReleaseBody | None = None
    ) -> dict[str, Any]:
        """Release a held (or failed) payout (admins): the payouts job sends it. The
        audit trail keeps who released it (and why, given a ``reason``)."""
        reason = body.reason if body else None
        released = await payout_handlers.release(
            payout_id, actor_id=admin.subject, reason=reason, ctx=ctx
        )
        return one(released)

    return router
