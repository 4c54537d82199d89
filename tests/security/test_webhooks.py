"""A captured webhook signature is good for its own delivery, at its own time, only.

A bad signature, a signature for another body, one older than the tolerance and one
dated far ahead are refused through the gateway in Stripe's mode
(``tests/integration/test_payment_stripe_webhooks.py``), and ``webhooks.verify`` is
tested on every malformed header (``tests/unit/test_payment_webhook_signatures.py``).
Here, through the gateway of the embedded platform (the sandbox's secret): what an
attacker who captured one genuine delivery can make of it. Each try is refused as
``invalid_signature`` and leaves no trace: the genuine delivery, sent last, still pays.
"""

from __future__ import annotations

import time
import uuid

from security.world import Json, World, refused
from support.stripe_fake import event, payload, signature

HOOK = "/api/v1/payments/webhooks/stripe"
TOLERANCE = 300


def succeeded(order: Json) -> Json:
    """Stripe's ``payment_intent.succeeded`` for an order (its id in the intent's metadata)."""
    intent = {
        "id": f"pi_{uuid.uuid4().hex[:24]}",
        "object": "payment_intent",
        "amount": order["total_cents"],
        "amount_received": order["total_cents"],
        "currency": order["currency"].lower(),
        "status": "succeeded",
        "metadata": {"order_id": order["id"]},
    }
    return event("payment_intent.succeeded", intent)


def with_time(header: str, at: int) -> str:
    """A ``Stripe-Signature`` header with its ``t=`` rewritten and its signatures kept."""
    return ",".join(f"t={at}" if p.startswith("t=") else p for p in header.split(","))


async def test_a_captured_signature_is_good_for_its_own_delivery_only(world: World) -> None:
    order = await world.order()
    secret = world.platform.settings.sandbox_webhook_secret.get_secret_value()
    genuine = payload(succeeded(order))
    now = int(time.time())
    stale = signature(genuine, secret, at=now - TOLERANCE - 60)
    fresh = signature(genuine, secret)
    other = payload(succeeded({**order, "total_cents": 1}))
    captured = {
        # Replayed after the tolerance, with its timestamp moved to now.
        "a stale signature dated now": (genuine, with_time(stale, now)),
        # A fresh signature moved into the future, to be replayed later.
        "a fresh signature dated ahead": (genuine, with_time(fresh, now + 10 * 86_400)),
        # Signed far ahead, with a spaced timestamp of now in front: Stripe's SDK reads
        # the ``t=`` that has no space, the check of the date ahead must read the same.
        "a signature dated ahead, behind a timestamp of now": (
            genuine,
            f" t={now}," + signature(genuine, secret, at=now + 10 * 86_400),
        ),
        # The genuine signature on another event (another amount, same order).
        "the signature of another delivery": (other, fresh),
        "signatures of both deliveries, one forged": (other, f"{fresh},v1={'0' * 64}"),
        # Only the scheme Stripe no longer signs with.
        "a v0 signature": (genuine, fresh.replace("v1=", "v0=")),
        "the signature without its timestamp": (genuine, fresh.split(",", 1)[1]),
        "the signature twice, at two times": (genuine, f"t={now},{stale}"),
    }
    for what, (body, header) in captured.items():
        response = await world.http.post(HOOK, content=body, headers={"Stripe-Signature": header})
        try:
            refused(response, {400}, code="invalid_signature")
        except AssertionError as failure:
            raise AssertionError(f"{what}: {failure}") from failure
        assert (await world.order_as_owner(order["id"]))["status"] == "awaiting_payment", what

    # A sender's clock a little ahead is no forgery; nothing was recorded for the event
    # by the refusals, so its genuine delivery is the first and pays.
    ahead = signature(genuine, secret, at=now + TOLERANCE // 2)
    delivered = await world.http.post(HOOK, content=genuine, headers={"Stripe-Signature": ahead})
    assert delivered.status_code == 200, delivered.text
    assert (delivered.json()["outcome"], delivered.json()["duplicate"]) == ("paid", False)
    assert (await world.order_as_owner(order["id"]))["status"] == "paid"
