"""The sandbox provider: Stripe's published test cards, with no network and no account.

It behaves as Stripe does for those cards and reports each outcome as Stripe
would, as a webhook event signed with Stripe's scheme (``t=...,v1=...``) under
``sandbox_webhook_secret``, handed to the same handler the Stripe endpoint uses.
So the sandbox exercises the signature check, the deduplication and the state
machine exactly as production does.

- ``4242 4242 4242 4242`` succeeds: ``payment_intent.succeeded``.
- ``4000 0000 0000 0002`` is declined: ``payment_intent.payment_failed``
  (``card_declined``, ``generic_decline``).
- ``4000 0027 6000 3184`` requires authentication: ``payment_intent.requires_action``;
  the intent waits for a 3-D Secure challenge the sandbox cannot show, so the
  order stays awaiting payment and the buyer may pay with another card.

An intent succeeds at most once, so its success (and its refund) carries an event
id derived from the order: a second success is a duplicate the handler ignores.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from stripe import WebhookSignature

from auction_platform.services.payment.domain import Order, Status
from auction_platform.services.payment.providers import CardRefused, Intent, Refund

Deliver = Callable[[bytes, str], Awaitable[object]]

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
AUTHENTICATION_REQUIRED = "4000002760003184"
TEST_CARDS = (SUCCEEDS, DECLINED, AUTHENTICATION_REQUIRED)


def card_digits(card: str) -> str:
    """A card number without the spaces and dashes people type."""
    return re.sub(r"[\s-]", "", card)


class SandboxProvider:
    """Stripe's test-mode behaviour for its test cards, outcomes as signed webhook events."""

    name = "sandbox"
    accepts_cards = True

    def __init__(
        self, *, secret: str, deliver: Deliver, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self._deliver = deliver
        self._clock = clock

    def _intent(self, order: Order, status: str) -> Intent:
        intent_id = f"pi_sandbox_{order.id}"
        proof = hmac.new(self._secret.encode(), intent_id.encode(), hashlib.sha256)
        return Intent(
            id=intent_id,
            client_secret=f"{intent_id}_secret_{proof.hexdigest()[:24]}",
            status=status,
            amount_cents=order.total_cents,
            currency=order.currency,
        )

    async def create_intent(self, order: Order) -> Intent:
        """The order's intent (the same one however often it is asked for)."""
        return self._intent(order, "requires_payment_method")

    async def retrieve_intent(self, intent_id: str, order: Order) -> Intent:
        """The order's intent, its status read from the order."""
        paid = order.status in (Status.PAID, Status.REFUNDED) or order.paid_at is not None
        return self._intent(order, "succeeded" if paid else "requires_payment_method")

    async def confirm(self, intent: Intent, order: Order, card: str) -> Intent:
        """Charge a test card; the outcome goes out as a webhook event before this returns."""
        digits = card_digits(card)
        if digits == SUCCEEDS:
            charged = {
                **self._intent_object(intent, order, "succeeded"),
                "amount_received": intent.amount_cents,
            }
            await self._send(
                f"evt_sandbox_succeeded_{order.id}", "payment_intent.succeeded", charged
            )
            return self._intent(order, "succeeded")
        if digits == DECLINED:
            declined = self._intent_object(intent, order, "requires_payment_method")
            declined["last_payment_error"] = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
            }
            await self._send(self._event_id(), "payment_intent.payment_failed", declined)
            return self._intent(order, "requires_payment_method")
        if digits == AUTHENTICATION_REQUIRED:
            waiting = self._intent_object(intent, order, "requires_action")
            waiting["next_action"] = {"type": "use_stripe_sdk"}
            await self._send(self._event_id(), "payment_intent.requires_action", waiting)
            return self._intent(order, "requires_action")
        raise CardRefused(
            "unknown_test_card",
            "the sandbox takes Stripe's test cards only: " + ", ".join(TEST_CARDS),
        )

    async def refund(self, order: Order) -> Refund:
        """Give the payment back; ``charge.refunded`` goes out before this returns."""
        amount = order.paid_cents if order.paid_cents is not None else order.total_cents
        charge = {
            "id": f"ch_sandbox_{order.id}",
            "object": "charge",
            "amount": amount,
            "amount_refunded": amount,
            "refunded": True,
            "currency": order.currency.lower(),
            "payment_intent": order.payment_intent_id,
            "metadata": {"order_id": order.id},
        }
        await self._send(f"evt_sandbox_refunded_{order.id}", "charge.refunded", charge)
        return Refund(id=f"re_sandbox_{order.id}", status="succeeded", amount_cents=amount)

    def health(self) -> dict[str, Any]:
        """Always ready: nothing to reach."""
        return {"provider": "sandbox"}

    async def close(self) -> None:
        """Nothing to close."""

    @staticmethod
    def _event_id() -> str:
        return f"evt_sandbox_{uuid.uuid4().hex}"

    @staticmethod
    def _intent_object(intent: Intent, order: Order, status: str) -> dict[str, Any]:
        return {
            "id": intent.id,
            "object": "payment_intent",
            "amount": intent.amount_cents,
            "currency": intent.currency.lower(),
            "status": status,
            "latest_charge": f"ch_sandbox_{order.id}",
            "metadata": {"order_id": order.id, "auction_id": order.auction_id},
        }

    async def _send(self, event_id: str, event_type: str, obj: dict[str, Any]) -> None:
        """Sign the event as Stripe does and hand it to the webhook handler."""
        created = int(self._clock())
        event = {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": created,
            "livemode": False,
            "data": {"object": obj},
        }
        payload = json.dumps(event, separators=(",", ":"))
        header: str = WebhookSignature.generate_signature_header(
            payload, self._secret, timestamp=created
        )
        await self._deliver(payload.encode(), header)
