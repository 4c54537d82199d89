"""The sandbox provider: Stripe's published test cards, with no network and no account.

It behaves as Stripe does for those cards and reports each outcome as Stripe
would, as a webhook event signed with Stripe's scheme (``t=...,v1=...``) under
``sandbox_webhook_secret``, handed to the same handler the Stripe endpoint uses.
So the sandbox exercises the signature check, the deduplication and the state
machine exactly as production does.

- A success card (``4242 4242 4242 4242``, and Stripe's other brands) pays:
  ``payment_intent.succeeded``.
- A decline card fails the attempt as Stripe's does, ``payment_intent.payment_failed``
  with Stripe's ``last_payment_error`` (error code, decline code, message), and
  ``confirm`` raises ``CardDeclined``, as Stripe's API answers a confirmation with a
  card error (402). See ``DECLINES``.
- A card that asks for 3-D Secure (``4000 0027 6000 3184``, ``4000 0000 0000 3220``,
  ``4000 0025 0000 3155``) is declined with ``authentication_required``: the
  sandbox confirms on the server and cannot show the challenge, which is what
  Stripe does for a confirmation that may not stop for one
  (``error_on_requires_action``).
- A number that fails the Luhn check is ``incorrect_number``, as with Stripe; any
  other number is not a test card and is refused before anything is tried.

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
from dataclasses import dataclass
from typing import Any

from stripe import WebhookSignature

from auction_platform.services.payment.domain import Order, Status
from auction_platform.services.payment.providers import CardDeclined, CardRefused, Intent, Refund

Deliver = Callable[[bytes, str], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Decline:
    """How Stripe declines a test card: its error ``code``, ``decline_code`` and message."""

    code: str
    message: str
    decline_code: str | None = None


SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
AUTHENTICATION_REQUIRED = "4000002760003184"
# Stripe's test cards that succeed, one or two per brand.
SUCCEEDING = frozenset(
    {
        SUCCEEDS,  # Visa
        "4000056655665556",  # Visa (debit)
        "5555555555554444",  # Mastercard
        "2223003122003222",  # Mastercard (2-series)
        "5200828282828210",  # Mastercard (debit)
        "5105105105105100",  # Mastercard (prepaid)
        "378282246310005",  # American Express
        "371449635398431",  # American Express
        "6011111111111117",  # Discover
        "6011000990139424",  # Discover
        "3566002020360505",  # JCB
    }
)
_DECLINED = "Your card was declined."
_AUTHENTICATE = Decline(
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
    "authentication_required",
)
# Stripe's decline test cards, with Stripe's error code, decline code and message.
DECLINES: dict[str, Decline] = {
    DECLINED: Decline("card_declined", _DECLINED, "generic_decline"),
    "4000000000009995": Decline(
        "card_declined", "Your card has insufficient funds.", "insufficient_funds"
    ),
    "4000000000009987": Decline("card_declined", _DECLINED, "lost_card"),
    "4000000000009979": Decline("card_declined", _DECLINED, "stolen_card"),
    "4000000000000069": Decline("expired_card", "Your card has expired."),
    "4000000000000127": Decline("incorrect_cvc", "Your card's security code is incorrect."),
    "4000000000000119": Decline(
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    AUTHENTICATION_REQUIRED: _AUTHENTICATE,  # always authenticate
    "4000000000003220": _AUTHENTICATE,  # 3-D Secure 2 must be completed
    "4000002500003155": _AUTHENTICATE,  # authenticate unless set up for later use
}
INCORRECT_NUMBER = Decline("incorrect_number", "Your card number is incorrect.")
TEST_CARDS = (SUCCEEDS, *DECLINES)


def card_digits(card: str) -> str:
    """A card number without the spaces and dashes people type."""
    return re.sub(r"[\s-]", "", card)


def luhn_valid(digits: str) -> bool:
    """Whether a number passes the Luhn check every card number passes."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


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
        """Charge a test card; the outcome goes out as a webhook event before this returns.

        A declined card raises ``CardDeclined`` once its failure has gone out.
        """
        digits = card_digits(card)
        if digits in SUCCEEDING:
            charged = {
                **self._intent_object(intent, order, "succeeded"),
                "amount_received": intent.amount_cents,
            }
            await self._send(
                f"evt_sandbox_succeeded_{order.id}", "payment_intent.succeeded", charged
            )
            return self._intent(order, "succeeded")
        decline = DECLINES.get(digits) or (None if luhn_valid(digits) else INCORRECT_NUMBER)
        if decline is None:
            raise CardRefused(
                "unknown_test_card",
                "the sandbox takes Stripe's test cards only, such as " + ", ".join(TEST_CARDS),
            )
        declined = self._intent_object(intent, order, "requires_payment_method")
        error: dict[str, Any] = {
            "type": "card_error",
            "code": decline.code,
            "message": decline.message,
        }
        if decline.decline_code is not None:
            error["decline_code"] = decline.decline_code
        declined["last_payment_error"] = error
        await self._send(self._event_id(), "payment_intent.payment_failed", declined)
        raise CardDeclined(decline.code, decline.message, decline_code=decline.decline_code)

    async def refund(
        self, order: Order, *, amount_cents: int | None = None, key: str | None = None
    ) -> Refund:
        """Give back ``amount_cents`` (or what is left of the payment); ``charge.refunded``,
        with everything given back so far, goes out before this returns."""
        paid = order.paid_cents if order.paid_cents is not None else order.total_cents
        amount = paid - order.refunded_cents if amount_cents is None else amount_cents
        given_back = min(paid, order.refunded_cents + amount)
        charge = {
            "id": f"ch_sandbox_{order.id}",
            "object": "charge",
            "amount": paid,
            "amount_refunded": given_back,
            "refunded": given_back >= paid,
            "currency": order.currency.lower(),
            "payment_intent": order.payment_intent_id,
            "metadata": {"order_id": order.id},
        }
        # One event per refund: a part's id comes from its key, the whole one's from the order.
        name = order.id if key is None else key
        await self._send(f"evt_sandbox_refunded_{name}", "charge.refunded", charge)
        return Refund(id=f"re_sandbox_{name}", status="succeeded", amount_cents=amount)

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
