"""Payment providers behind one interface: Stripe (its official SDK) and the sandbox.

A provider creates one PaymentIntent per order (the idempotency key ``pi-{order_id}``
makes a repeated call return the same intent), gives back what the buyer's client
needs to confirm it (the ``client_secret``), and refunds a paid order (key
``re-{order_id}``) or part of it (a dispute's refunds, ``re-{order_id}-{n}`` for
the n-th). Outcomes never come back from these calls: they arrive as signed webhook
events, the one path that changes an order's payment state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import stripe
from stripe.params import PaymentIntentCreateParams, RefundCreateParams

from auction_platform.services.payment.domain import Order


@dataclass(frozen=True, slots=True)
class Intent:
    """A provider's PaymentIntent as the buyer's client needs it."""

    id: str
    client_secret: str
    status: str
    amount_cents: int
    currency: str


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund the provider accepted."""

    id: str
    status: str  # "succeeded", "pending", ...
    amount_cents: int


class ProviderError(Exception):
    """The provider refused a request, or could not be reached (``unavailable``)."""

    def __init__(self, code: str, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.unavailable = unavailable


class CardRefused(ProviderError):
    """The card cannot be used here (the sandbox knows only Stripe's test cards)."""


class CardDeclined(ProviderError):
    """The card was tried and declined: Stripe's error ``code`` and ``decline_code``.

    The attempt is recorded on the order (through the provider's webhook event) and
    the order still awaits payment.
    """

    def __init__(self, code: str, message: str, *, decline_code: str | None = None) -> None:
        super().__init__(code, message)
        self.decline_code = decline_code


class PaymentProvider(Protocol):
    """What the payment service asks of a provider."""

    name: str
    # The sandbox takes a test card number; with Stripe, cards never reach the platform.
    accepts_cards: bool

    async def create_intent(self, order: Order) -> Intent: ...

    async def retrieve_intent(self, intent_id: str, order: Order) -> Intent: ...

    async def confirm(self, intent: Intent, order: Order, card: str) -> Intent: ...

    async def refund(
        self, order: Order, *, amount_cents: int | None = None, key: str | None = None
    ) -> Refund: ...

    def health(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...


def intent_key(order: Order) -> str:
    """The idempotency key of an order's PaymentIntent."""
    return f"pi-{order.id}"


def refund_key(order: Order, number: int | None = None) -> str:
    """The idempotency key of an order's refund: its whole refund, or its ``number``-th part."""
    return f"re-{order.id}" if number is None else f"re-{order.id}-{number}"


def translate(error: stripe.StripeError) -> ProviderError:
    """A Stripe error as the service tells it: unavailable (retry) or refused."""
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return ProviderError(
            "payment_provider_unavailable", "Stripe is unreachable; retry shortly", unavailable=True
        )
    status = error.http_status or 0
    if status >= 500:
        return ProviderError(
            "payment_provider_unavailable", "Stripe failed; retry shortly", unavailable=True
        )
    message = error.user_message or str(error) or "Stripe refused the request"
    return ProviderError("payment_provider_error", f"Stripe refused the request: {message}")


# The states in which Stripe lets a PaymentIntent's amount change.
_AMENDABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})


class StripeProvider:
    """Stripe through its official SDK, pointed at ``stripe_api_base``."""

    name = "stripe"
    accepts_cards = False

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str,
        timeout: float = 10.0,
        max_network_retries: int = 2,
        webhook_secrets: int = 0,
    ) -> None:
        self._api_key = api_key
        self._api_base = api_base
        self._timeout = timeout
        self._retries = max_network_retries
        self._webhook_secrets = webhook_secrets
        self._http: stripe.AIOHTTPClient | None = None
        self._client: stripe.StripeClient | None = None

    def client(self) -> stripe.StripeClient:
        """The SDK's client (Stripe Connect's payouts share its connections and key)."""
        return self._stripe()

    def _stripe(self) -> stripe.StripeClient:
        # Built on first use, inside the event loop that will use its connections.
        if not self._api_key:
            raise ProviderError(
                "payment_provider_unconfigured", "STRIPE_API_KEY is not set", unavailable=True
            )
        if self._client is None:
            # The SDK's aiohttp client: its httpx client posts ``data=str``, which httpx
            # deprecates. The session is made lazily, in the loop that uses it.
            self._http = stripe.AIOHTTPClient(timeout=aiohttp.ClientTimeout(total=self._timeout))
            self._client = stripe.StripeClient(
                self._api_key,
                base_addresses={"api": self._api_base},
                http_client=self._http,
                # The SDK retries network failures with the same idempotency key.
                max_network_retries=self._retries,
            )
        return self._client

    @staticmethod
    def _intent(found: stripe.PaymentIntent) -> Intent:
        return Intent(
            id=found.id,
            client_secret=found.client_secret or "",
            status=found.status,
            amount_cents=found.amount,
            currency=found.currency.upper(),
        )

    async def create_intent(self, order: Order) -> Intent:
        """The order's PaymentIntent: created once, the same one on every repeat."""
        params: PaymentIntentCreateParams = {
            "amount": order.total_cents,
            "currency": order.currency.lower(),
            "automatic_payment_methods": {"enabled": True},
            "metadata": {"order_id": order.id, "auction_id": order.auction_id},
        }
        try:
            found = await self._stripe().v1.payment_intents.create_async(
                params, options={"idempotency_key": intent_key(order)}
            )
        except stripe.StripeError as error:
            raise translate(error) from error
        return self._intent(found)

    async def retrieve_intent(self, intent_id: str, order: Order) -> Intent:
        """The order's PaymentIntent as Stripe has it now, at the order's total.

        The buyer may change how the lot is delivered after the intent was made; an
        intent not yet paid is brought to the new total before its client confirms it.
        """
        try:
            found = await self._stripe().v1.payment_intents.retrieve_async(intent_id)
            if found.amount != order.total_cents and found.status in _AMENDABLE:
                found = await self._stripe().v1.payment_intents.update_async(
                    intent_id, {"amount": order.total_cents}
                )
        except stripe.StripeError as error:
            raise translate(error) from error
        return self._intent(found)

    async def confirm(self, intent: Intent, order: Order, card: str) -> Intent:
        """Never: with Stripe the buyer's client confirms with Stripe.js, card data stays there."""
        raise CardRefused(
            "card_not_accepted", "card numbers are not accepted; confirm with Stripe.js"
        )

    async def refund(
        self, order: Order, *, amount_cents: int | None = None, key: str | None = None
    ) -> Refund:
        """Give back ``amount_cents`` of the order's payment, or what is left of it (once per
        ``key``, whatever the retries; without one, the order's whole-refund key)."""
        if order.payment_intent_id is None:
            raise ProviderError("order_not_paid", "the order has no payment to refund")
        params: RefundCreateParams = {
            "payment_intent": order.payment_intent_id,
            "metadata": {"order_id": order.id},
        }
        if amount_cents is not None:
            params["amount"] = amount_cents
        try:
            done = await self._stripe().v1.refunds.create_async(
                params, options={"idempotency_key": key or refund_key(order)}
            )
        except stripe.StripeError as error:
            raise translate(error) from error
        return Refund(id=done.id, status=done.status or "pending", amount_cents=done.amount)

    def health(self) -> dict[str, Any]:
        """Configured or not; never calls Stripe's servers."""
        if not self._api_key:
            raise RuntimeError("STRIPE_API_KEY is not set")
        if not self._webhook_secrets:
            raise RuntimeError("STRIPE_WEBHOOK_SECRETS is empty: no webhook can be verified")
        return {
            "provider": "stripe",
            "configured": True,
            "webhook_secrets": self._webhook_secrets,
        }

    async def close(self) -> None:
        """Close the SDK's connections."""
        if self._http is not None:
            await self._http.close_async()  # type: ignore[no-untyped-call]  # the SDK's own
        self._http = self._client = None
