"""Webhook verification with Stripe's scheme, and the sandbox signing its outcomes the same way.

Signatures are made with the SDK's own helper (``support.stripe_fake.signature``).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from auction_platform.core.failures import Invalid
from auction_platform.services.payment import domain
from auction_platform.services.payment.api import ERRORS
from auction_platform.services.payment.providers import CardDeclined, CardRefused
from auction_platform.services.payment.sandbox import SandboxProvider
from auction_platform.services.payment.webhooks import TOLERANCE_SECONDS, verify
from support.stripe_fake import event, payload, signature

SECRET = "whsec_current"
OLD = "whsec_previous"


def body() -> bytes:
    return payload(event("payment_intent.succeeded", {"id": "pi_1", "metadata": {}}))


def refused(raw: bytes, header: str | None, secrets: list[str]) -> Invalid:
    with pytest.raises(Invalid) as caught:
        verify(raw, header, secrets)
    return caught.value


def test_a_body_signed_with_the_secret_verifies() -> None:
    raw = body()
    assert verify(raw, signature(raw, SECRET), [SECRET])["type"] == "payment_intent.succeeded"


def test_a_wrong_secret_is_refused_with_the_error_shape() -> None:
    raw = body()
    error = refused(raw, signature(raw, "whsec_someone_else"), [SECRET])
    assert (ERRORS.status_of(error), error.code) == (400, "invalid_signature")


def test_a_signature_older_than_the_tolerance_is_refused() -> None:
    raw = body()
    stale = signature(raw, SECRET, at=time.time() - TOLERANCE_SECONDS - 5)
    assert refused(raw, stale, [SECRET]).code == "invalid_signature"
    fresh = signature(raw, SECRET, at=time.time() - TOLERANCE_SECONDS + 30)
    assert verify(raw, fresh, [SECRET])


def test_a_signature_dated_beyond_the_tolerance_ahead_is_refused() -> None:
    raw = body()
    for ahead in (TOLERANCE_SECONDS + 5, 10 * 86_400):
        future = signature(raw, SECRET, at=time.time() + ahead)
        assert refused(raw, future, [SECRET]).code == "invalid_signature"
    # A sender's clock a little ahead of ours is within the tolerance.
    slightly = signature(raw, SECRET, at=time.time() + TOLERANCE_SECONDS - 30)
    assert verify(raw, slightly, [SECRET])


def test_one_changed_byte_is_refused() -> None:
    raw = body()
    header = signature(raw, SECRET)
    tampered = raw.replace(b"pi_1", b"pi_2")
    assert len(tampered) == len(raw)
    assert refused(tampered, header, [SECRET]).code == "invalid_signature"


def test_while_rotating_either_secret_verifies() -> None:
    raw = body()
    assert verify(raw, signature(raw, SECRET), [OLD, SECRET])
    assert verify(raw, signature(raw, OLD), [OLD, SECRET])
    assert refused(raw, signature(raw, OLD), [SECRET]).code == "invalid_signature"


@pytest.mark.parametrize("header", [None, "", "garbage", "t=abc,v1=00", "t=123"])
def test_a_missing_or_malformed_header_is_refused(header: str | None) -> None:
    assert refused(body(), header, [SECRET]).code == "invalid_signature"


def test_no_configured_secret_verifies_nothing() -> None:
    raw = body()
    assert refused(raw, signature(raw, SECRET), []).code == "invalid_signature"


def test_a_signed_body_that_is_not_an_event_is_malformed() -> None:
    raw = json.dumps({"hello": "world"}).encode()
    assert refused(raw, signature(raw, SECRET), [SECRET]).code == "malformed_event"


def test_a_body_that_is_not_utf8_is_refused() -> None:
    assert refused(b"\xff\xfe", "t=1,v1=00", [SECRET]).code == "invalid_signature"


def sample_order() -> domain.Order:
    return domain.new_order(
        order_id="o1",
        auction_id="a1",
        title="Tea set",
        buyer_id="bob",
        seller_id="sam",
        currency="EUR",
        hammer_cents=2_000,
        terms=domain.Terms(Decimal(5), Decimal(10), timedelta(days=1)),
        now=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("card", "event_type", "error"),
    [
        ("4242 4242 4242 4242", "payment_intent.succeeded", None),
        (
            "4000-0000-0000-0002",
            "payment_intent.payment_failed",
            ("card_declined", "generic_decline", "Your card was declined."),
        ),
        (
            "4000000000009995",
            "payment_intent.payment_failed",
            ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
        ),
        (
            "4000000000009987",
            "payment_intent.payment_failed",
            ("card_declined", "lost_card", "Your card was declined."),
        ),
        (
            "4000000000000069",
            "payment_intent.payment_failed",
            ("expired_card", None, "Your card has expired."),
        ),
        (
            "4000002760003184",
            "payment_intent.payment_failed",
            (
                "authentication_required",
                "authentication_required",
                "Your card was declined. This transaction requires authentication.",
            ),
        ),
    ],
)
async def test_the_sandbox_signs_each_test_card_outcome_as_stripe_would(
    card: str, event_type: str, error: tuple[str, str | None, str] | None
) -> None:
    delivered: list[dict[str, Any]] = []

    async def deliver(raw: bytes, header: str) -> None:
        delivered.append(verify(raw, header, [SECRET]))

    sandbox = SandboxProvider(secret=SECRET, deliver=deliver)
    order = sample_order()
    intent = await sandbox.create_intent(order)
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert intent.amount_cents == order.total_cents == 2_100
    if error is None:
        assert (await sandbox.confirm(intent, order, card)).status == "succeeded"
    else:
        # As Stripe's API answers a declined confirmation: a card error, once the
        # failure has gone out as an event.
        with pytest.raises(CardDeclined) as caught:
            await sandbox.confirm(intent, order, card)
        assert (caught.value.code, caught.value.decline_code, caught.value.message) == error
    [sent] = delivered
    assert sent["type"] == event_type
    sent_intent = sent["data"]["object"]
    assert sent_intent["metadata"]["order_id"] == "o1"
    if error is not None:
        code, decline_code, message = error
        assert sent_intent["status"] == "requires_payment_method"
        expected = {"type": "card_error", "code": code, "message": message}
        if decline_code is not None:
            expected["decline_code"] = decline_code
        assert sent_intent["last_payment_error"] == expected


async def test_the_sandbox_refuses_cards_that_are_not_test_cards() -> None:
    async def deliver(raw: bytes, header: str) -> None:
        raise AssertionError("nothing is sent for an unknown card")

    sandbox = SandboxProvider(secret=SECRET, deliver=deliver)
    order = sample_order()
    with pytest.raises(CardRefused) as caught:
        await sandbox.confirm(await sandbox.create_intent(order), order, "4111111111111111")
    assert caught.value.code == "unknown_test_card"
