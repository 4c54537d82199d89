"""HTTP routes of the payment service: orders, offers and the provider's webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from auction_platform.core.auth import Admin, CurrentUser, Principal
from auction_platform.core.errors import DEFAULT_ERRORS, ErrorTable
from auction_platform.core.failures import DomainError
from auction_platform.core.inputs import ResourceId
from auction_platform.services.payment import answers, delivery, handlers, views, webhooks
from auction_platform.services.payment.commands import (
    AcceptOffer,
    ChooseDelivery,
    ConfirmReceipt,
    Idempotency,
    ListOrders,
    MarkShipped,
    Party,
    Pay,
    ReceiveWebhook,
    RefundOrder,
)
from auction_platform.services.payment.domain import (
    Caller,
    DeliveryMethod,
    Order,
    Status,
    sees_seller_side,
)
from auction_platform.services.payment.handlers import Payments, PaymentStarted, ProviderFailed
from auction_platform.services.payment.idempotency import RecordedAnswer
from auction_platform.services.payment.providers import Intent
from auction_platform.services.payment.sandbox import card_digits

# A declined card is 402 (``PaymentRefused``); a provider that refused what it should
# take is a bad gateway (502); a webhook that does not verify, or is not an event, is a
# bad request (400); an Idempotency-Key sent with another request is 422, as on bids.
ERRORS = ErrorTable(
    by_code={"invalid_signature": 400, "malformed_event": 400, "idempotency_key_reused": 422},
    by_kind={**DEFAULT_ERRORS.by_kind, ProviderFailed: 502},
)

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
]

PAY_DESCRIPTION = """\
Pay your order. With Stripe, the answer's `payment.client_secret` is confirmed in the
buyer's browser (Stripe.js); card numbers are refused. With the sandbox provider (the
embedded default), send a test card as `card` and the outcome is known at once:
`200` with the order paid, or `402` with the decline's code. A declined attempt
leaves the order awaiting payment; it counts in `payment_attempts` and its message
stays in `last_payment_failure` until a later success clears it.

| card | outcome |
|---|---|
| `4242 4242 4242 4242` (and Stripe's other brand cards, e.g. `5555 5555 5555 4444`) | paid |
| `4000 0000 0000 0002` | 402 `card_declined` (generic decline) |
| `4000 0000 0000 9995` | 402 `insufficient_funds` |
| `4000 0000 0000 9987` (lost), `4000 0000 0000 9979` (stolen) | 402 `card_declined` |
| `4000 0000 0000 0069` | 402 `expired_card` |
| `4000 0000 0000 0127` | 402 `incorrect_cvc` |
| `4000 0000 0000 0119` | 402 `processing_error` |
| `4000 0027 6000 3184`, `4000 0000 0000 3220` (3-D Secure) | 402 `authentication_required` |
| `4000 0025 0000 3155` (3-D Secure unless set up) | 402 `authentication_required` |
| `4242 4242 4242 4241` (fails the Luhn check) | 402 `incorrect_number` |
| any other number | 422 `unknown_test_card` |

Lost and stolen cards are told as a generic decline, as Stripe advises; the 3-D
Secure cards are declined because the sandbox cannot show the challenge.

Send an `Idempotency-Key` to retry safely: the same key with the same body gives the
first answer again (a 402 included) without charging again; the same key with
another body is `422 idempotency_key_reused`; while the first request is still being
answered, `409 request_in_flight`. Keys are kept per user for `IDEMPOTENCY_TTL_HOURS`.
"""


def _idempotency(
    secret: bytes, order_id: str, card: str | None, key: str | None
) -> Idempotency | None:
    """The key, with a keyed fingerprint of the request (no card number is stored)."""
    if key is None:
        return None
    request = json.dumps(["pay", order_id, card_digits(card) if card else None])
    return Idempotency(key, hmac.new(secret, request.encode(), hashlib.sha256).hexdigest())


ItemId = ResourceId


def _caller(principal: Principal) -> Caller:
    return Caller(principal.subject, is_admin=principal.has_role("admin"))


class PayBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # Only the sandbox takes a (test) card number; with Stripe the client confirms.
    card: Annotated[str, Field(min_length=12, max_length=32)] | None = None


Line = Annotated[str, Field(max_length=200)]


class AddressBody(BaseModel):
    """A delivery address (one of your saved addresses, say); ``country`` is ISO 3166-1
    alpha-2. Fields not given are kept empty."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Annotated[str, Field(min_length=1, max_length=100)]
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Line | None = None
    city: Annotated[str, Field(min_length=1, max_length=100)]
    region: Annotated[str, Field(max_length=100)] | None = None
    postal_code: Annotated[str, Field(max_length=20)] | None = None
    country: Annotated[str, Field(pattern="^[A-Za-z]{2}$")]
    phone: Annotated[str, Field(max_length=32)] | None = None


class DeliveryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: DeliveryMethod
    address: AddressBody | None = None


class RefundBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: Annotated[
        str | None, Field(max_length=500, description="Why (kept in the audit trail).")
    ] = None


class ShipmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    tracking_number: Annotated[str, Field(max_length=100)] | None = None
    carrier: Annotated[str, Field(max_length=100)] | None = None


DELIVERY_DESCRIPTION = """\
Choose how the lot reaches you, among the ways its listing offers
(`order.delivery.terms`), while the order awaits payment; you may change it until
you pay. `shipping` needs an `address` and costs the rate whose countries include
the address's country (`422 no_shipping_to_country` otherwise); `buyer_arranges`
(your courier collects) takes an optional address, shown to the seller once paid;
`pickup` (you collect in the listing's town) takes none (an address sent is not
kept). Both cost nothing. The shipping cost joins `total_cents`. Paying without a
choice takes the only way that needs no address when there is exactly one, else
it is refused with `409 delivery_required`.
"""


def _order_change(forbidden: str, conflict: str) -> dict[int | str, dict[str, Any]]:
    """The answers of a change to an order: the order, or who may not, or why not now."""
    return {
        200: {"model": answers.OrderAnswer},
        403: {"description": forbidden},
        409: {"description": conflict},
    }


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

    def one(order: Order, *, seller_view: bool, with_address: bool = True) -> dict[str, Any]:
        document = views.order_document(order, seller_view=seller_view, with_address=with_address)
        return {"order": document, "server_time": now()}

    def seen_by(order: Order, caller: Caller) -> dict[str, Any]:
        """An order as its buyer, its seller or an admin sees it."""
        to_seller = caller.user_id == order.seller_id and not caller.is_admin
        with_address = delivery.address_visible(order, to_seller=to_seller)
        return one(order, seller_view=sees_seller_side(order, caller), with_address=with_address)

    @orders.get(
        "",
        responses={
            200: {"model": answers.OrderPage},
            403: {"description": "Only admins list every order (`role=any`)."},
        },
    )
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
        as_seller = role == "seller"
        items = [
            views.order_document(
                o,
                seller_view=role != "buyer",
                with_address=delivery.address_visible(o, to_seller=as_seller),
            )
            for o in page.items
        ]
        return {"items": items, "next_cursor": page.next_cursor, "server_time": now()}

    @orders.get(
        "/{order_id}",
        responses={
            200: {"model": answers.OrderAnswer},
            403: {"description": "Only its buyer, its seller or an admin sees an order."},
        },
    )
    async def detail(order_id: ItemId, user: CurrentUser) -> dict[str, Any]:
        """One order, for its buyer, its seller or an admin."""
        caller = _caller(user)
        order = await handlers.get_order(order_id, caller=caller, ctx=ctx)
        return seen_by(order, caller)

    @orders.put(
        "/{order_id}/delivery",
        description=DELIVERY_DESCRIPTION,
        responses={
            **_order_change("Only the buyer chooses.", "The order is paid, refunded or expired."),
            422: {
                "description": (
                    "`method_not_offered`, `address_required`, `address_incomplete` or "
                    "`no_shipping_to_country`."
                )
            },
        },
    )
    async def choose_delivery(
        order_id: ItemId, body: DeliveryBody, user: CurrentUser
    ) -> dict[str, Any]:
        """Choose how your lot reaches you: shipping to an address, your courier, or pickup."""
        address = body.address.model_dump() if body.address else None
        command = ChooseDelivery(order_id, _caller(user), body.method, address)
        return one(await handlers.choose_delivery(command, ctx=ctx), seller_view=False)

    @orders.post(
        "/{order_id}/shipment",
        responses=_order_change(
            "Only the seller marks an order shipped.",
            "Not paid (`order_not_paid`), refunded (`order_refunded`) or shipped before "
            "(`already_shipped`).",
        ),
    )
    async def ship(
        order_id: ItemId, user: CurrentUser, body: ShipmentBody | None = None
    ) -> dict[str, Any]:
        """Mark your paid order shipped (handed over, for a collection), once; tells the buyer."""
        given = body or ShipmentBody()
        caller = _caller(user)
        command = MarkShipped(order_id, caller, given.tracking_number, given.carrier)
        return seen_by(await handlers.mark_shipped(command, ctx=ctx), caller)

    @orders.post(
        "/{order_id}/receipt",
        responses=_order_change(
            "Only the buyer confirms receipt.",
            "Not shipped yet (`not_shipped`; a lot you collect needs no shipment), confirmed "
            "before (`already_received`), not paid or refunded.",
        ),
    )
    async def receive(order_id: ItemId, user: CurrentUser) -> dict[str, Any]:
        """Confirm you received the lot (shipped, or collected by you); tells the seller.

        Unconfirmed, a shipped order is confirmed for you `RECEIPT_CONFIRM_DAYS` (14 by
        default) after shipment."""
        command = ConfirmReceipt(order_id, _caller(user))
        return one(await handlers.confirm_receipt(command, ctx=ctx), seller_view=False)

    def render(outcome: PaymentStarted | DomainError) -> tuple[int, dict[str, Any]]:
        """The status and body a payment's outcome leaves with (recorded for a key)."""
        if isinstance(outcome, DomainError):
            status, body, _ = ERRORS.answer(outcome)
            return status, body
        payment = _payment(outcome.intent, ctx.provider.name)
        return 200, {**one(outcome.order, seller_view=False), "payment": payment}

    secret = ctx.settings.secret_key.get_secret_value().encode()

    @orders.post(
        "/{order_id}/pay",
        description=PAY_DESCRIPTION,
        responses={
            200: {"model": answers.PaymentAnswer},
            402: {"description": "The card was declined; `code` says why."},
            403: {"description": "Only the buyer pays an order."},
            409: {"description": "The order is paid, refunded or expired, or in flight."},
            502: {"description": "The payment provider refused what it should take."},
            503: {"description": "The payment provider cannot be reached; retry later."},
        },
    )
    async def pay(
        order_id: ItemId,
        user: CurrentUser,
        body: PayBody | None = None,
        key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Pay your order: the intent to confirm (``client_secret``), or a sandbox test card."""
        card = body.card if body else None
        idempotency = _idempotency(secret, order_id, card, key)
        command = Pay(order_id, _caller(user), card=card, idempotency=idempotency)
        outcome = await handlers.pay(command, ctx=ctx, render=render)
        if isinstance(outcome, RecordedAnswer):
            return JSONResponse(outcome.body, outcome.status)
        status, answer = render(outcome)
        return JSONResponse(answer, status)

    @orders.post(
        "/{order_id}/refund",
        responses={
            200: {"model": answers.OrderAnswer, "description": "Refunded."},
            202: {
                "model": answers.OrderAnswer,
                "description": "The provider is still refunding: `refunded_at` is null until then.",
            },
            409: {"description": "Only a paid order (or one paid late) is refunded."},
            502: {"description": "The payment provider refused what it should take."},
            503: {"description": "The payment provider cannot be reached; retry later."},
        },
    )
    async def refund(
        order_id: ItemId, admin: Admin, response: Response, body: RefundBody | None = None
    ) -> dict[str, Any]:
        """Give a paid order's money back (admins); 202 while the provider is still refunding.

        An optional ``reason`` goes with the admin's name into the audit trail."""
        command = RefundOrder(order_id, admin.subject, body.reason if body else None)
        order = await handlers.refund(command, ctx=ctx)
        if order.refunded_at is None:
            response.status_code = 202
        return one(order, seller_view=True)

    @offers.get("", responses={200: {"model": answers.OfferList}})
    async def my_offers(
        user: CurrentUser, limit: Annotated[int, Query(ge=1, le=100)] = 20
    ) -> dict[str, Any]:
        """Your second-chance offers, newest first."""
        found = await handlers.my_offers(user.subject, limit=limit, ctx=ctx)
        return {"items": [views.offer_document(o) for o in found], "server_time": now()}

    @offers.post(
        "/{offer_id}/accept",
        responses={
            200: {"model": answers.OrderAnswer, "description": "Taken before: its order."},
            201: {"model": answers.OrderAnswer, "description": "Taken: the new order."},
            409: {"description": "The offer has expired, or the lot has its order already."},
        },
    )
    async def accept(offer_id: ItemId, user: CurrentUser, response: Response) -> dict[str, Any]:
        """Take your second-chance offer: 201 with the new order (200 when taken before)."""
        accepted = await handlers.accept_offer(AcceptOffer(offer_id, user.subject), ctx=ctx)
        response.status_code = 201 if accepted.created else 200
        return one(accepted.order, seller_view=False)

    @payments.post(
        "/webhooks/stripe",
        responses={
            200: {"model": answers.WebhookReceipt},
            400: {
                "description": (
                    "The `Stripe-Signature` does not verify the body (`invalid_signature`), "
                    "or the body is not an event (`malformed_event`)."
                )
            },
        },
    )
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
