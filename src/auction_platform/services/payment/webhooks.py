"""Provider webhooks: verify Stripe's signature, drop redeliveries, apply the news to the order.

This is the only path that changes an order's payment state. Stripe's events
and the sandbox's both come through here, signed the same way.

- The signature is checked with the SDK's ``WebhookSignature.verify_header``
  against each configured secret in turn (two are configured while one is
  rotated), with Stripe's tolerance of 300 seconds, over the raw body. The SDK
  refuses a signature older than that; one dated further ahead is refused here (no
  clock is that far off: it was made to be replayed later). A bad, missing, stale or
  future signature is refused as ``invalid_signature`` (400) and changes nothing.
- The event id is recorded in ``payment_webhook_events`` in the same transaction
  as the order's change and its outbox event, so a redelivered event (or two
  deliveries racing) has its effect once.
- The order row is locked, and the domain's transitions are the ones arrival
  order cannot spoil (see ``domain``). Events for unknown orders and types the
  service does not use are recorded and answered 200, so Stripe stops retrying.
- Stripe Connect's ``account.updated`` (a seller's account may receive payouts)
  and ``transfer.reversed`` (a payout taken back) go to ``payout_handlers``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import stripe
from stripe import WebhookSignature

from auction_platform.core.failures import Invalid
from auction_platform.services.payment import domain, payout_handlers, store
from auction_platform.services.payment.commands import ReceiveWebhook
from auction_platform.services.payment.domain import Order, Transition
from auction_platform.services.payment.handlers import Payments, save_transition

log = logging.getLogger("auction_platform.payment.webhooks")

TOLERANCE_SECONDS = 300
SUCCEEDED = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"
REFUNDED = "charge.refunded"
HANDLED = (SUCCEEDED, FAILED, REFUNDED, "payment_intent.requires_action")


@dataclass(frozen=True, slots=True)
class Received:
    """What became of one delivery."""

    event_id: str
    type: str
    outcome: str
    duplicate: bool = False


def invalid_signature() -> Invalid:
    """The one refusal for every signature failure (which one is not the sender's business)."""
    return Invalid("invalid_signature", "the Stripe-Signature header does not verify this body")


def _signed_at(header: str) -> int | None:
    """The one ``t=`` timestamp of a ``Stripe-Signature`` header, or None.

    A header naming more than one (however spaced) is refused: the SDK checks the
    signature against one of them, and this check must read the same one.
    """
    stamps = [
        value
        for key, _, value in (i.partition("=") for i in header.split(","))
        if key.strip() == "t"
    ]
    if len(stamps) != 1:
        return None
    try:
        return int(stamps[0])
    except ValueError:
        return None


def verify(payload: bytes, header: str | None, secrets: Sequence[str]) -> dict[str, Any]:
    """The event in a body signed with one of ``secrets`` within the tolerance, either way.

    Refused as ``invalid_signature`` or ``malformed_event`` (both answered 400).
    """
    if not header or not secrets:
        if not secrets:
            log.error("a webhook arrived but no webhook secret is configured")
        raise invalid_signature()
    for secret in secrets:
        try:
            WebhookSignature.verify_header(payload, header, secret, TOLERANCE_SECONDS)
            break
        except (stripe.SignatureVerificationError, UnicodeDecodeError):
            continue
    else:
        raise invalid_signature()
    signed_at = _signed_at(header)
    if signed_at is None or signed_at > time.time() + TOLERANCE_SECONDS:
        raise invalid_signature()
    try:
        event = json.loads(payload)
        valid = (
            isinstance(event, dict)
            and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
            and isinstance(event.get("data"), dict)
            and isinstance(event["data"].get("object"), dict)
        )
    except ValueError:
        valid = False
    if not valid:
        raise Invalid("malformed_event", "the body is not a Stripe event")
    return dict(event)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _references(event_type: str, obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """Our order id (from the metadata we set) and the payment intent an event is about."""
    metadata = obj.get("metadata")
    order_id = _text(metadata.get("order_id")) if isinstance(metadata, dict) else None
    intent_id = _text(obj.get("payment_intent")) if event_type == REFUNDED else _text(obj.get("id"))
    return order_id, intent_id


def _failure_reason(obj: dict[str, Any]) -> str:
    error = obj.get("last_payment_error")
    if isinstance(error, dict):
        for key in ("message", "decline_code", "code"):
            if reason := _text(error.get(key)):
                return reason
    return "the payment failed"


def _transition(event_type: str, order: Order, obj: dict[str, Any], ctx: Payments) -> Transition:
    now = ctx.clock()
    if event_type == SUCCEEDED:
        amount = _int(obj.get("amount_received"), _int(obj.get("amount"), order.total_cents))
        return domain.payment_succeeded(order, amount_cents=amount, now=now)
    if event_type == FAILED:
        return domain.payment_failed(order, reason=_failure_reason(obj), now=now)
    if event_type == REFUNDED:
        amount = _int(obj.get("amount"), order.paid_cents or order.total_cents)
        refunded = _int(obj.get("amount_refunded"), 0)
        full = obj.get("refunded") is True or refunded >= amount
        return domain.refunded(order, refunded_cents=refunded, full=full, now=now)
    return Transition(order, "noted", changed=False)


async def receive(command: ReceiveWebhook, *, ctx: Payments) -> Received:
    """Verify and apply one delivery (the route's body and ``Stripe-Signature`` header)."""
    return await apply(ctx, verify(command.payload, command.signature, ctx.webhook_secrets))


async def apply(ctx: Payments, event: dict[str, Any]) -> Received:
    """Apply a verified event once, in one transaction with its record and outbox events."""
    event_id, event_type = str(event["id"]), str(event["type"])
    obj: dict[str, Any] = event["data"]["object"]
    async with ctx.uow() as tx:
        if not await store.claim_webhook_event(
            tx.conn, event_id=event_id, event_type=event_type, now=ctx.clock()
        ):
            return Received(event_id, event_type, "duplicate", duplicate=True)
        order: Order | None = None
        about: str | None = None  # the order a payout's event is about
        if event_type in payout_handlers.HANDLED:
            outcome, about = await payout_handlers.apply_provider_event(
                tx, event_type, obj, now=ctx.clock()
            )
        elif event_type not in HANDLED:
            outcome = "ignored_type"
        else:
            order_id, intent_id = _references(event_type, obj)
            order = await store.order_for_payment(
                tx.conn, order_id=order_id, payment_intent_id=intent_id
            )
            outcome = "unknown_order"
            if order is not None and order.payment_intent_id is None and intent_id:
                # The intent's id reached us first through the event: remember it.
                await store.attach_payment_intent(tx.conn, order.id, intent_id)
                order = replace(order, payment_intent_id=intent_id)
        if order is not None:
            change = _transition(event_type, order, obj, ctx)
            extra: dict[str, Any] = {}
            if change.outcome == "attempt_recorded":
                extra["reason"] = change.order.last_failure or "declined"
            elif change.outcome == "refunded":
                extra["refunded_cents"] = change.order.refunded_cents
            await save_transition(tx, order, change, **extra)
            outcome = change.outcome
            if outcome == "late_payment_flagged_for_refund":
                log.warning("order %s was paid after it expired; it needs a refund", order.id)
        await store.record_webhook_outcome(
            tx.conn, event_id, order_id=order.id if order else about, outcome=outcome
        )
    return Received(event_id, event_type, outcome)
