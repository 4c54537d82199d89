"""HTTP routes of the payment service: orders, offers and the provider's webhook."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from auction_platform.core.auth import Admin, CurrentUser, Principal
from auction_platform.core.errors import DEFAULT_ERRORS, ErrorTable
from auction_platform.services.payment import handlers, views, webhooks
from auction_platform.services.payment.commands import (
    AcceptOffer,
    ListOrders,
    Party,
    Pay,
    ReceiveWebhook,
    RefundOrder,
)
from auction_platform.services.payment.domain import Caller, Order, Status, sees_seller_side
from auction_platform.services.payment.handlers import Payments, ProviderFailed
from auction_platform.services.payment.providers import Intent

# A provider that refused what it should take is a bad gateway (502); a webhook
# that does not verify, or is not an event, is a bad request (400).
ERRORS = ErrorTable(
    by_code={"invalid_signature": 400, "malformed_event": 400},
    by_kind={**DEFAULT_ERRORS.by_kind, ProviderFailed: 502},
)

ItemId = Annotated[str, Path(min_length=1, max_length=64)]


def _caller(principal: Principal) -> Caller:
    return Caller(principal.subject, is_admin=principal.has_role("admin"))


class PayBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # Only the sandbox takes a (test) card number; with Stripe the client confirms.
    card: Annotated[str, Field(min_length=12, max_length=32)] | None = None


def _payment(intent: Intent, provider: str) -> dict[str, Any]:
    return {
        "provider": provider,
        "payment_intent_id": intent.id,
        "client_secret": intent.client_secret,
        "status": intent.status,
        "amount": intent.amount_cents,
        "currency": intent.currency,
    }


def build_router(ctx: Payments) -> APIRouter:
    """Every route of the payment service."""
    orders = APIRouter(prefix="/api/v1/orders", tags=["orders"])
    offers = APIRouter(prefix="/api/v1/offers", tags=["offers"])
    payments = APIRouter(prefix="/api/v1/payments", tags=["payments"])

    def now() -> str:
        return ctx.clock().isoformat()

    def one(order: Order, *, seller_view: bool) -> dict[str, Any]:
        return {"order": views.order_document(order, seller_view=seller_view), "server_time": now()}

    @orders.get("")
    async def mine(
        user: CurrentUser,
        role: Literal["buyer", "seller", "any"] = "buyer",
        status: Status | None = None,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        """Your orders as buyer, or as seller with ``?role=seller``; every order with
        ``?role=any`` (admins); ``?status=`` keeps one status. Newest first."""
        command = ListOrders(_caller(user), Party(role), status, cursor, limit)
        page = await handlers.list_orders(command, ctx=ctx)
        items = [views.order_document(o, seller_view=role != "buyer") for o in page.items]
        return {"items": items, "next_cursor": page.next_cursor, "server_time": now()}

    @orders.get("/{order_id}")
    async def detail(order_id: ItemId, user: CurrentUser) -> dict[str, Any]:
        """One order, for its buyer, its seller or an admin."""
        caller = _caller(user)
        order = await handlers.get_order(order_id, caller=caller, ctx=ctx)
        return one(order, seller_view=sees_seller_side(order, caller))

    @orders.post("/{order_id}/pay")
    async def pay(
        order_id: ItemId, user: CurrentUser, body: PayBody | None = None
    ) -> dict[str, Any]:
        """Pay your order: the intent to confirm (``client_secret``), or a sandbox test card."""
        command = Pay(order_id, _caller(user), card=body.card if body else None)
        started = await handlers.pay(command, ctx=ctx)
        return {
            **one(started.order, seller_view=False),
            "payment": _payment(started.intent, ctx.provider.name),
        }

    @orders.post("/{order_id}/refund")
    async def refund(order_id: ItemId, admin: Admin, response: Response) -> dict[str, Any]:
        """Give a paid order's money back (admins); 202 while the provider is still refunding."""
        order = await handlers.refund(RefundOrder(order_id), ctx=ctx)
        if order.refunded_at is None:
            response.status_code = 202
        return one(order, seller_view=True)

    @offers.get("")
    async def my_offers(
        user: CurrentUser, limit: Annotated[int, Query(ge=1, le=100)] = 20
    ) -> dict[str, Any]:
        """Your second-chance offers, newest first."""
        found = await handlers.my_offers(user.subject, limit=limit, ctx=ctx)
        return {"items": [views.offer_document(o) for o in found], "server_time": now()}

    @offers.post("/{offer_id}/accept")
    async def accept(offer_id: ItemId, user: CurrentUser, response: Response) -> dict[str, Any]:
        """Take your second-chance offer: 201 with the new order (200 when taken before)."""
        accepted = await handlers.accept_offer(AcceptOffer(offer_id, user.subject), ctx=ctx)
        response.status_code = 201 if accepted.created else 200
        return one(accepted.order, seller_view=False)

    @payments.post("/webhooks/stripe")
    async def stripe_webhook(request: Request) -> dict[str, Any]:
        """Stripe's events, verified over the raw body (no token: the signature is the proof)."""
        command = ReceiveWebhook(await request.body(), request.headers.get("stripe-signature"))
        received = await webhooks.receive(command, ctx=ctx)
        return {
            "received": True,
            "event_id": received.event_id,
            "duplicate": received.duplicate,
            "outcome": received.outcome,
        }

    router = APIRouter()
    for part in (orders, offers, payments):
        router.include_router(part)
    return router
