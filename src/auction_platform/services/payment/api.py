"""HTTP routes of the payment service: orders, offers and the provider's webhook."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from auction_platform.core.auth import Admin, CurrentUser
from auction_platform.core.errors import ApiError
from auction_platform.services.payment import handlers, views, webhooks
from auction_platform.services.payment.domain import Order, Status
from auction_platform.services.payment.handlers import Payments
from auction_platform.services.payment.providers import Intent

ItemId = Annotated[str, Path(min_length=1, max_length=64)]


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
        if role == "any":
            if not handlers.is_admin(user):
                raise ApiError(403, "forbidden", "only admins list every order")
            found, next_cursor = await handlers.all_orders(
                status=status, cursor=cursor, limit=limit, ctx=ctx
            )
        else:
            found, next_cursor = await handlers.my_orders(
                user=user,
                as_seller=role == "seller",
                status=status,
                cursor=cursor,
                limit=limit,
                ctx=ctx,
            )
        items = [views.order_document(o, seller_view=role != "buyer") for o in found]
        return {"items": items, "next_cursor": next_cursor, "server_time": now()}

    @orders.get("/{order_id}")
    async def detail(order_id: ItemId, user: CurrentUser) -> dict[str, Any]:
        """One order, for its buyer, its seller or an admin."""
        order = await handlers.get_order(order_id=order_id, viewer=user, ctx=ctx)
        return one(order, seller_view=handlers.seller_view(order, user))

    @orders.post("/{order_id}/pay")
    async def pay(
        order_id: ItemId, user: CurrentUser, body: PayBody | None = None
    ) -> dict[str, Any]:
        """Pay your order: the intent to confirm (``client_secret``), or a sandbox test card."""
        order, intent = await handlers.pay(
            order_id=order_id, buyer=user, card=body.card if body else None, ctx=ctx
        )
        return {
            **one(order, seller_view=False),
            "payment": _payment(intent, ctx.provider.name),
        }

    @orders.post("/{order_id}/refund")
    async def refund(order_id: ItemId, admin: Admin, response: Response) -> dict[str, Any]:
        """Give a paid order's money back (admins); 202 while the provider is still refunding."""
        order = await handlers.refund(order_id=order_id, ctx=ctx)
        if order.refunded_at is None:
            response.status_code = 202
        return one(order, seller_view=True)

    @offers.get("")
    async def my_offers(
        user: CurrentUser, limit: Annotated[int, Query(ge=1, le=100)] = 20
    ) -> dict[str, Any]:
        """Your second-chance offers, newest first."""
        found = await handlers.my_offers(user=user, limit=limit, ctx=ctx)
        return {"items": [views.offer_document(o) for o in found], "server_time": now()}

    @offers.post("/{offer_id}/accept")
    async def accept(offer_id: ItemId, user: CurrentUser, response: Response) -> dict[str, Any]:
        """Take your second-chance offer: 201 with the new order (200 when taken before)."""
        order, created = await handlers.accept_offer(offer_id=offer_id, user=user, ctx=ctx)
        response.status_code = 201 if created else 200
        return one(order, seller_view=False)

    @payments.post("/webhooks/stripe")
    async def stripe_webhook(request: Request) -> dict[str, Any]:
        """Stripe's events, verified over the raw body (no token: the signature is the proof)."""
        received = await webhooks.receive(
            ctx, await request.body(), request.headers.get("stripe-signature")
        )
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
