"""The site's side of disputes: when the order's page offers to open one, and refusals in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.disputes import open_until, refusal_text, role_in

PAID_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def order(**changes: Any) -> dict[str, Any]:
    return {"status": "paid", "paid_at": PAID_AT.isoformat(), **changes}


def test_a_paid_order_may_be_disputed_until_30_days_after_paying() -> None:
    closes = PAID_AT + timedelta(days=30)
    assert open_until(order(), now=PAID_AT) == closes
    assert open_until(order(), now=closes - timedelta(seconds=1)) == closes
    assert open_until(order(), now=closes) is None


def test_an_unpaid_expired_or_refunded_order_is_not_offered_a_dispute() -> None:
    for status in ("awaiting_payment", "expired", "refunded"):
        assert open_until(order(status=status), now=PAID_AT) is None
    assert open_until(order(paid_at=None), now=PAID_AT) is None


def test_the_visitor_is_the_buyer_the_seller_or_else_an_admin() -> None:
    parties = {"buyer_id": "b", "seller_id": "s"}
    assert [role_in(parties, who) for who in ("b", "s", "a")] == ["buyer", "seller", "admin"]


def test_a_refund_over_what_is_left_names_the_amount_left_in_the_currency() -> None:
    problem = ApiProblem(409, "refund_exceeds_payment", "at most 16000 is left")
    dispute = {"refundable_cents": 16_000, "currency": "EUR"}
    assert refusal_text(problem, dispute) == (
        "That is more than is left of the payment: at most €160.00 can be given back."
    )


def test_known_refusals_are_sentences_and_unknown_ones_end_with_a_full_stop() -> None:
    assert refusal_text(ApiProblem(409, "dispute_window_closed", "x")).startswith(
        "Disputes on this order have closed"
    )
    assert refusal_text(ApiProblem(409, "something_new", "the moon is full")) == (
        "The moon is full."
    )
    assert "Nothing was given back" in refusal_text(ApiProblem(502, "provider_error", "down"))
