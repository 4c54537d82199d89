"""A local fake of the Stripe API calls the payment service makes, and Stripe's webhooks.

Stripe's servers cannot run here, so this stands in for them over real HTTP (serve
``StripeFake().app`` with ``support.http_server.serving``) and the official SDK
talks to it unchanged. It implements only:

- ``POST /v1/payment_intents``, ``GET /v1/payment_intents/{id}`` and
  ``POST /v1/payment_intents/{id}`` (a new amount),
- ``POST /v1/refunds`` (of a PaymentIntent that succeeded; an ``amount`` refunds part of it,
  never more than is left),
- Connect: ``POST /v1/accounts`` (Express accounts), ``POST /v1/account_links`` and
  ``POST /v1/transfers`` (to an account whose payouts are enabled, from a platform
  balance that ``balance_cents`` keeps),

and it remembers idempotency keys as Stripe does: the same key with the same
parameters returns the first answer again (``Idempotent-Replayed: true``); the
same key with other parameters, or on another endpoint, is 400
``idempotency_error``. What the buyer's browser would do with Stripe.js
(confirming an intent) is ``succeed``/``decline``, which return the event Stripe
would send; ``signature`` signs it as Stripe does, with the SDK's own helper.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from stripe import WebhookSignature

API_KEY = "sk_test_fake_platform"


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _error(status: int, kind: str, message: str, code: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return JSONResponse({"error": error}, status)


def _nested(params: list[tuple[str, str]], name: str) -> dict[str, str]:
    """``metadata[order_id]=x`` form fields as ``{"order_id": "x"}``."""
    prefix = name + "["
    return {k[len(prefix) : -1]: v for k, v in params if k.startswith(prefix) and k.endswith("]")}


@dataclass
class _Remembered:
    endpoint: str
    params: list[tuple[str, str]]
    status: int
    body: dict[str, Any]


@dataclass
class StripeFake:
    """Stripe's PaymentIntents, Refunds and Connect, in memory, with its idempotency rules."""

    api_key: str = API_KEY
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    balance_cents: int = 10_000_000
    _keys: dict[str, _Remembered] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = self._build()

    def _build(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.post("/v1/payment_intents")
        async def create_intent(request: Request) -> JSONResponse:
            return await self._idempotent(request, "intents", self._create_intent)

        @app.get("/v1/payment_intents/{intent_id}")
        async def retrieve_intent(intent_id: str, request: Request) -> JSONResponse:
            if not self._authorised(request):
                return _error(401, "invalid_request_error", "Invalid API Key provided")
            self.calls.append(f"GET /v1/payment_intents/{intent_id}")
            intent = self.intents.get(intent_id)
            if intent is None:
                return _error(
                    404,
                    "invalid_request_error",
                    f"No such payment_intent: '{intent_id}'",
                    "resource_missing",
                )
            return JSONResponse(intent)

        @app.post("/v1/payment_intents/{intent_id}")
        async def update_intent(intent_id: str, request: Request) -> JSONResponse:
            return await self._idempotent(
                request, "intent updates", lambda params: self._update_intent(intent_id, params)
            )

        @app.post("/v1/refunds")
        async def create_refund(request: Request) -> JSONResponse:
            return await self._idempotent(request, "refunds", self._create_refund)

        @app.post("/v1/accounts")
        async def create_account(request: Request) -> JSONResponse:
            return await self._idempotent(request, "accounts", self._create_account)

        @app.post("/v1/account_links")
        async def create_account_link(request: Request) -> JSONResponse:
            return await self._idempotent(request, "account_links", self._create_link)

        @app.post("/v1/transfers")
        async def create_transfer(request: Request) -> JSONResponse:
            return await self._idempotent(request, "transfers", self._create_transfer)

        return app

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

    async def _idempotent(self, request: Request, endpoint: str, make: Any) -> JSONResponse:
        if not self._authorised(request):
            return _error(401, "invalid_request_error", "Invalid API Key provided")
        params = sorted(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        self.calls.append(f"POST {request.url.path}")
        key = request.headers.get("idempotency-key")
        # No await from here on: a check and its write cannot interleave with another request.
        seen = self._keys.get(key) if key else None
        if seen is not None:
            if seen.endpoint != endpoint or seen.params != params:
                return _error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with.",
                )
            return JSONResponse(seen.body, seen.status, headers={"Idempotent-Replayed": "true"})
        status, body = make(params)
        if key:
            self._keys[key] = _Remembered(endpoint, params, status, body)
        return JSONResponse(body, status)

    def _create_intent(self, params: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
        values = dict(params)
        if not values.get("amount", "").isdigit() or not values.get("currency"):
            return 400, {"error": {"type": "invalid_request_error", "message": "Missing amount"}}
        intent_id = _id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(values["amount"]),
            "amount_received": 0,
            "currency": values["currency"],
            "client_secret": f"{intent_id}_secret_{uuid.uuid4().hex[:24]}",
            "status": "requires_payment_method",
            "latest_charge": None,
            "metadata": _nested(params, "metadata"),
            "created": int(time.time()),
            "livemode": False,
        }
        self.intents[intent_id] = intent
        return 200, intent

    def _update_intent(
        self, intent_id: str, params: list[tuple[str, str]]
    ) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(intent_id)
        if intent is None:
            return 404, {
                "error": {
                    "type": "invalid_request_error",
                    "message": f"No such payment_intent: '{intent_id}'",
                    "code": "resource_missing",
                }
            }
        amount = dict(params).get("amount")
        if amount is not None:
            if intent["status"] == "succeeded":
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "This PaymentIntent's amount could not be updated because "
                        "it has a status of succeeded.",
                    }
                }
            intent["amount"] = int(amount)
        return 200, intent

    def _create_refund(self, params: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(dict(params).get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "charge_not_refundable",
                    "message": "This PaymentIntent does not have a successful charge to refund.",
                }
            }
        left = intent["amount_received"] - self.refunded_of(intent["id"])
        if left <= 0:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "charge_already_refunded",
                    "message": "Charge has already been refunded.",
                }
            }
        # Without ``amount`` Stripe refunds what is left of the charge.
        amount = int(dict(params).get("amount", left))
        if amount > left:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "amount_too_large",
                    "message": f"Refund amount ({amount}) is greater than unrefunded amount "
                    f"on charge ({left}).",
                }
            }
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "charge": intent["latest_charge"],
            "payment_intent": intent["id"],
            "metadata": _nested(params, "metadata"),
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return 200, refund

    def keys_of(self, endpoint: str) -> list[str]:
        """The idempotency keys sent to an endpoint (``"refunds"``, ...), first seen first."""
        return [key for key, seen in self._keys.items() if seen.endpoint == endpoint]

    def refunded_of(self, intent_id: str) -> int:
        """What the refunds of an intent gave back so far."""
        return sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent_id)

    def _create_account(self, params: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
        values = dict(params)
        if values.get("type") != "express":
            return 400, {"error": {"type": "invalid_request_error", "message": "Invalid type"}}
        account = {
            "id": _id("acct"),
            "object": "account",
            "type": "express",
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "capabilities": {"transfers": "inactive"},
            "metadata": _nested(params, "metadata"),
        }
        self.accounts[account["id"]] = account
        return 200, account

    def _create_link(self, params: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
        values = dict(params)
        if values.get("account") not in self.accounts or not values.get("return_url"):
            return 400, {"error": {"type": "invalid_request_error", "message": "No such account"}}
        return 200, {
            "object": "account_link",
            "url": f"https://connect.stripe.com/setup/e/{values['account']}/{uuid.uuid4().hex}",
            "created": int(time.time()),
            "expires_at": int(time.time()) + 300,
        }

    def _create_transfer(self, params: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
        values = dict(params)
        account = self.accounts.get(values.get("destination", ""))
        if account is None or not account["payouts_enabled"]:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "message": "The destination account cannot receive transfers.",
                }
            }
        amount = int(values.get("amount", "0"))
        if amount > self.balance_cents:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "balance_insufficient",
                    "message": "You have insufficient funds in your Stripe account.",
                }
            }
        self.balance_cents -= amount
        transfer = {
            "id": _id("tr"),
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "currency": values.get("currency"),
            "destination": account["id"],
            "transfer_group": values.get("transfer_group"),
            "metadata": _nested(params, "metadata"),
            "reversed": False,
        }
        self.transfers[transfer["id"]] = transfer
        return 200, transfer

    # --- what the buyer's browser and Stripe's webhooks would do -----------------

    def finish_onboarding(self, account_id: str) -> dict[str, Any]:
        """The seller completed onboarding: the ``account.updated`` event, payouts enabled."""
        account = self.accounts[account_id]
        account.update(
            payouts_enabled=True,
            charges_enabled=True,
            details_submitted=True,
            capabilities={"transfers": "active"},
        )
        return event("account.updated", account)

    def reverse(self, transfer_id: str) -> dict[str, Any]:
        """The platform took a transfer back: the ``transfer.reversed`` event."""
        transfer = self.transfers[transfer_id]
        transfer.update(reversed=True, amount_reversed=transfer["amount"])
        self.balance_cents += transfer["amount"]
        return event("transfer.reversed", transfer)

    def succeed(self, intent_id: str) -> dict[str, Any]:
        """The buyer confirmed with a card that works: the ``payment_intent.succeeded`` event."""
        intent = self.intents[intent_id]
        intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=_id("ch"))
        return event("payment_intent.succeeded", intent)

    def decline(self, intent_id: str) -> dict[str, Any]:
        """The buyer's card was declined: the ``payment_intent.payment_failed`` event."""
        intent = dict(self.intents[intent_id])
        intent["last_payment_error"] = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
        }
        return event("payment_intent.payment_failed", intent)

    def charge_refunded(self, intent_id: str) -> dict[str, Any]:
        """The ``charge.refunded`` event of an intent's charge: all of it refunded, or (after
        partial refunds through the API) what those refunds gave back so far."""
        intent = self.intents[intent_id]
        received = intent["amount_received"]
        given_back = self.refunded_of(intent_id) or received
        charge = {
            "id": intent["latest_charge"],
            "object": "charge",
            "amount": received,
            "amount_refunded": given_back,
            "refunded": given_back >= received,
            "currency": intent["currency"],
            "payment_intent": intent_id,
            "metadata": {},
        }
        return event("charge.refunded", charge)


def event(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    """A Stripe event about ``obj``, with a fresh id."""
    return {
        "id": _id("evt"),
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": dict(obj)},
    }


def payload(stripe_event: dict[str, Any]) -> bytes:
    """The body Stripe would POST for an event."""
    return json.dumps(stripe_event, separators=(",", ":")).encode()


def signature(body: bytes, secret: str, *, at: float | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe would send (the SDK's own helper)."""
    timestamp = int(at if at is not None else time.time())
    header: str = WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=timestamp
    )
    return header
