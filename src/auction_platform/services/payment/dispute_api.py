"""HTTP routes of disputes on orders (their parties and admins), and their answers' shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from auction_platform.core.auth import Admin, CurrentUser, Principal
from auction_platform.core.inputs import ResourceId
from auction_platform.services.payment import dispute_handlers, disputes
from auction_platform.services.payment.dispute_handlers import (
    Decide,
    DisputeView,
    OpenDispute,
    SellerRefund,
    WriteMessage,
)
from auction_platform.services.payment.disputes import (
    Decision,
    DisputeStatus,
    Entry,
    Message,
    Outcome,
    Reason,
    Role,
)
from auction_platform.services.payment.domain import Caller, Status
from auction_platform.services.payment.handlers import Payments

SERVER_TIME = "The server's clock (UTC)."
Cents = Annotated[int, Field(ge=0)]

OPEN_DESCRIPTION = f"""\
Dispute your paid order: the lot did not arrive (`not_received`) or is not as described
(`not_as_described`), with a first message (1 to {disputes.BODY_MAX} characters). Open
within {disputes.WINDOW.days} days of paying, once per order. While the dispute is
open the order's payout to the seller is held; confirming receipt does not end it.
Refusals: `403 not_the_buyer`, `404 order_not_found`, `409 dispute_exists`,
`409 order_not_paid`, `409 order_refunded`, `409 dispute_window_closed`,
`422 invalid_message`."""

REFUND_DESCRIPTION = """\
The seller gives back `amount_cents` of what is left of the payment, through the
payment provider (each refund once, with its own idempotency key). The order's
`refunded_cents` grows and the seller's ledger is debited its share (the payout, if
not yet sent, shrinks with it). A partial refund leaves the order `paid` and the
dispute open; giving back all of it refunds the order and resolves the dispute.
Refusals: `403 not_the_seller`, `404 dispute_not_found`, `409 dispute_resolved`,
`409 refund_exceeds_payment`, `409 refund_in_progress`, `422 invalid_amount`,
`502`/`503` from the provider."""

DECISION_DESCRIPTION = """\
An admin ends an open dispute, with a reason for the parties (1 to 500 characters):
`refund` gives the buyer `amount_cents` more (0 up to what is left of the payment;
0 when the seller's refunds were enough), `seller` closes it in the seller's favour
(`amount_cents` 0). The decision is written to the audit trail (`dispute.decided`,
and `order.refunded` for money given back); the order's payout is released unless an
admin holds it. Refusals: `404 dispute_not_found`, `409 dispute_resolved`,
`409 refund_exceeds_payment`, `409 refund_in_progress`, `422 invalid_amount`,
`422 invalid_reason`."""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ThreadEntry(_Answer):
    """One line of a dispute's thread: a message, a refund or a decision."""

    id: str
    kind: Entry
    author_id: str
    author_role: Role
    body: str = Field(description="The words (empty for a refund; a decision's reason).")
    amount_cents: Cents | None = Field(description="What a refund (or decision) gave back.")
    created_at: datetime


class DisputeDocument(_Answer):
    """A dispute on an order, with its thread oldest first."""

    id: str
    order_id: str
    title: str
    buyer_id: str
    seller_id: str
    currency: str
    reason: Reason
    status: DisputeStatus
    outcome: Outcome | None
    order_status: Status
    paid_cents: Cents
    refunded_cents: Cents = Field(description="Given back to the buyer so far.")
    refundable_cents: Cents = Field(description="What is left of the payment to give back.")
    refund_pending: bool = Field(description="A refund is being made.")
    opened_at: datetime
    resolved_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    thread: list[ThreadEntry]


class DisputeAnswer(_Answer):
    """A dispute as it stands."""

    dispute: DisputeDocument
    server_time: datetime = Field(description=SERVER_TIME)


class MessageAnswer(_Answer):
    """The message written."""

    message: ThreadEntry
    server_time: datetime = Field(description=SERVER_TIME)


class DisputeList(_Answer):
    """Open disputes, oldest first (their threads left out)."""

    items: list[DisputeDocument]
    server_time: datetime = Field(description=SERVER_TIME)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The rules count after trimming; these only bound a body.
Words = Annotated[str, Field(min_length=1, max_length=4 * disputes.BODY_MAX)]


class OpenBody(_Body):
    reason: Reason
    message: Words


class MessageBody(_Body):
    body: Words


class RefundBody(_Body):
    amount_cents: Annotated[int, Field(ge=1, le=10**12)]


class DecisionBody(_Body):
    decision: Decision
    amount_cents: Annotated[int, Field(ge=0, le=10**12)] = 0
    reason: Annotated[str, Field(min_length=1, max_length=4 * disputes.REASON_MAX)]


def entry(message: Message) -> dict[str, Any]:
    """A line of the thread for the API."""
    return {
        "id": message.id,
        "kind": message.kind.value,
        "author_id": message.author_id,
        "author_role": message.author_role.value,
        "body": message.body,
        "amount_cents": message.amount_cents,
        "created_at": message.created_at.isoformat(),
    }


def document(found: DisputeView) -> dict[str, Any]:
    """A dispute for the API."""
    dispute, order = found.dispute, found.order
    return {
        "id": dispute.id,
        "order_id": order.id,
        "title": order.title,
        "buyer_id": dispute.buyer_id,
        "seller_id": dispute.seller_id,
        "currency": order.currency,
        "reason": dispute.reason.value,
        "status": dispute.status.value,
        "outcome": dispute.outcome.value if dispute.outcome else None,
        "order_status": order.status.value,
        "paid_cents": disputes.paid_cents(order),
        "refunded_cents": order.refunded_cents,
        "refundable_cents": disputes.refundable_cents(order),
        "refund_pending": dispute.pending_refund_cents is not None,
        "opened_at": dispute.opened_at.isoformat(),
        "resolved_at": dispute.resolved_at.isoformat() if dispute.resolved_at else None,
        "decided_by": dispute.decided_by,
        "decision_reason": dispute.decision_reason,
        "thread": [entry(m) for m in found.thread],
    }


def build_router(ctx: Payments) -> APIRouter:
    """The dispute routes of the payment service."""
    router = APIRouter(prefix="/api/v1", tags=["disputes"])

    def now() -> str:
        return ctx.clock().isoformat()

    def caller(principal: Principal) -> Caller:
        return Caller(principal.subject, is_admin=principal.has_role("admin"))

    def answer(found: DisputeView) -> dict[str, Any]:
        return {"dispute": document(found), "server_time": now()}

    @router.post(
        "/orders/{order_id}/dispute",
        status_code=201,
        description=OPEN_DESCRIPTION,
        responses={201: {"model": DisputeAnswer}, 409: {"description": "See above."}},
    )
    async def open_dispute(
        order_id: ResourceId, body: OpenBody, user: CurrentUser
    ) -> dict[str, Any]:
        """Open a dispute on your paid order."""
        command = OpenDispute(order_id, caller(user), body.reason, body.message)
        return answer(await dispute_handlers.open_dispute(command, ctx=ctx))

    @router.get("/orders/{order_id}/dispute", responses={200: {"model": DisputeAnswer}})
    async def get_dispute(order_id: ResourceId, user: CurrentUser) -> dict[str, Any]:
        """An order's dispute and its thread (its buyer, its seller, admins); 404 when none."""
        return answer(await dispute_handlers.get_dispute(order_id, caller=caller(user), ctx=ctx))

    @router.post(
        "/orders/{order_id}/dispute/messages",
        status_code=201,
        responses={
            201: {"model": MessageAnswer},
            403: {"description": "`not_a_party`: an admin is the only third party."},
            409: {"description": "`dispute_resolved`."},
        },
    )
    async def write(order_id: ResourceId, body: MessageBody, user: CurrentUser) -> dict[str, Any]:
        """Write in an open dispute (1 to 2000 characters); the other party is told."""
        command = WriteMessage(order_id, caller(user), body.body)
        message = await dispute_handlers.write_message(command, ctx=ctx)
        return {"message": entry(message), "server_time": now()}

    @router.post(
        "/orders/{order_id}/dispute/refund",
        description=REFUND_DESCRIPTION,
        responses={200: {"model": DisputeAnswer}},
    )
    async def refund(order_id: ResourceId, body: RefundBody, user: CurrentUser) -> dict[str, Any]:
        """The seller gives back part or all of the payment."""
        command = SellerRefund(order_id, caller(user), body.amount_cents)
        return answer(await dispute_handlers.seller_refund(command, ctx=ctx))

    @router.post(
        "/orders/{order_id}/dispute/decision",
        description=DECISION_DESCRIPTION,
        responses={200: {"model": DisputeAnswer}},
    )
    async def decision(order_id: ResourceId, body: DecisionBody, admin: Admin) -> dict[str, Any]:
        """An admin's decision on a dispute."""
        command = Decide(order_id, caller(admin), body.decision, body.amount_cents, body.reason)
        return answer(await dispute_handlers.decide(command, ctx=ctx))

    @router.get("/disputes", responses={200: {"model": DisputeList}})
    async def open_ones(
        admin: Admin, limit: Annotated[int, Query(ge=1, le=200)] = 100
    ) -> dict[str, Any]:
        """Open disputes, oldest first (admins)."""
        found = await dispute_handlers.open_disputes(limit=limit, ctx=ctx)
        return {"items": [document(each) for each in found], "server_time": now()}

    return router
