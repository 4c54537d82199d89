"""The payment rules: fees, the order state machine in any arrival order, second chances."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from auction_platform.services.payment import domain
from auction_platform.services.payment.domain import NotAllowed, OfferStatus, Order, Status

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TERMS = domain.Terms(
    buyers_premium_percent=Decimal("5"),
    seller_fee_percent=Decimal("10"),
    due_after=timedelta(days=4),
)


def order(**overrides: object) -> Order:
    values: dict[str, object] = {
        "order_id": "o1",
        "auction_id": "a1",
        "title": "A Leica M3",
        "buyer_id": "bob",
        "seller_id": "sam",
        "currency": "EUR",
        "hammer_cents": 10_050,
        "terms": TERMS,
        "now": NOW,
        "runner_up_id": "ann",
        "runner_up_max_cents": 9_000,
    }
    values.update(overrides)
    return domain.new_order(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [
        (1010, "5", 51),  # 50.5 rounds up
        (1030, "5", 52),  # 51.5 rounds up (half-up, not banker's)
        (1029, "5", 51),  # 51.45 rounds down
        (5, "10", 1),  # 0.5 rounds up
        (1, "7.5", 0),
        (99_999, "12.5", 12_500),  # 12499.875
        (10_000, "0", 0),
    ],
)
def test_fees_round_half_up_to_a_minor_unit(amount: int, percent: str, expected: int) -> None:
    assert domain.percent_of(amount, Decimal(percent)) == expected


def test_an_order_records_its_fees_total_payout_and_due_date() -> None:
    made = order()
    assert made.status is Status.AWAITING_PAYMENT
    assert made.buyers_premium_cents == 503  # 502.5
    assert made.seller_fee_cents == 1005
    assert made.total_cents == 10_553
    assert made.payout_cents == 9_045
    assert made.buyers_premium_percent == Decimal("5")
    assert made.due_at == NOW + timedelta(days=4)


def test_a_runner_up_without_a_maximum_or_who_is_the_buyer_is_not_kept() -> None:
    assert order(runner_up_max_cents=None).runner_up_id is None
    assert order(runner_up_id="bob").runner_up_id is None
    assert order(runner_up_id=None).runner_up_max_cents is None


def test_an_order_needs_a_positive_price() -> None:
    with pytest.raises(NotAllowed):
        order(hammer_cents=0)


def test_reminders_fall_before_the_due_date_only() -> None:
    assert [h for h, _ in domain.reminder_schedule(order(), [24, 48])] == [24, 48]
    short = order(terms=domain.Terms(Decimal(5), Decimal(10), timedelta(hours=48)))
    assert domain.reminder_schedule(short, [48, 24]) == [(24, NOW + timedelta(hours=24))]


def test_a_success_pays_and_a_repeat_changes_nothing() -> None:
    paid = domain.payment_succeeded(order(), amount_cents=10_553, now=NOW)
    assert (paid.outcome, paid.changed, paid.order.status) == ("paid", True, Status.PAID)
    again = domain.payment_succeeded(paid.order, amount_cents=10_553, now=NOW)
    assert again.order is paid.order
    assert not again.changed


def test_a_decline_after_the_success_does_not_unpay() -> None:
    paid = domain.payment_succeeded(order(), amount_cents=10_553, now=NOW).order
    late = domain.payment_failed(paid, reason="declined", now=NOW)
    assert late.order is paid
    assert not late.changed


def test_declines_are_counted_and_the_order_stays_payable() -> None:
    first = domain.payment_failed(order(), reason="Your card was declined.", now=NOW)
    second = domain.payment_failed(first.order, reason="insufficient funds", now=NOW)
    assert second.changed
    assert second.order.attempts == 2
    assert second.order.last_failure == "insufficient funds"
    assert second.order.status is Status.AWAITING_PAYMENT
    domain.check_can_pay(second.order, now=NOW)


def test_a_success_counts_as_an_attempt_and_clears_the_failure() -> None:
    declined = domain.payment_failed(order(), reason="Your card was declined.", now=NOW).order
    paid = domain.payment_succeeded(declined, amount_cents=10_553, now=NOW).order
    assert (paid.status, paid.attempts, paid.last_failure) == (Status.PAID, 2, None)
    expired = domain.expire(
        domain.payment_failed(order(), reason="declined", now=NOW).order,
        now=NOW + timedelta(days=30),
    )
    late = domain.payment_succeeded(expired, amount_cents=10_553, now=NOW).order
    assert (late.status, late.attempts, late.last_failure) == (Status.EXPIRED, 2, None)


def test_only_what_a_buyer_may_be_told_is_the_refusals_code() -> None:
    assert domain.refusal_code("card_declined", "generic_decline") == "card_declined"
    assert domain.refusal_code("card_declined", "insufficient_funds") == "insufficient_funds"
    assert domain.refusal_code("card_declined", "lost_card") == "card_declined"
    assert domain.refusal_code("card_declined", "stolen_card") == "card_declined"
    assert domain.refusal_code("expired_card", None) == "expired_card"
    assert domain.refusal_code("authentication_required", "authentication_required") == (
        "authentication_required"
    )


def test_payment_is_refused_once_paid_or_due() -> None:
    made = order()
    with pytest.raises(NotAllowed) as overdue:
        domain.check_can_pay(made, now=made.due_at)
    assert overdue.value.code == "order_expired"
    paid = domain.payment_succeeded(made, amount_cents=1, now=NOW).order
    with pytest.raises(NotAllowed) as done:
        domain.check_can_pay(paid, now=NOW)
    assert done.value.code == "order_paid"


def test_an_order_expires_only_unpaid_and_past_due() -> None:
    made = order()
    with pytest.raises(NotAllowed):
        domain.expire(made, now=made.due_at - timedelta(seconds=1))
    expired = domain.expire(made, now=made.due_at)
    assert (expired.status, expired.expired_at) == (Status.EXPIRED, made.due_at)
    paid = domain.payment_succeeded(made, amount_cents=1, now=NOW).order
    with pytest.raises(NotAllowed):
        domain.expire(paid, now=made.due_at)


def test_a_success_arriving_after_the_due_date_but_before_expiry_still_pays() -> None:
    made = order()
    late = domain.payment_succeeded(made, amount_cents=1, now=made.due_at + timedelta(hours=1))
    assert late.order.status is Status.PAID


def test_money_for_an_expired_order_is_recorded_and_flagged_for_refund() -> None:
    made = order()
    expired = domain.expire(made, now=made.due_at)
    late = domain.payment_succeeded(expired, amount_cents=10_553, now=made.due_at)
    assert late.order.status is Status.EXPIRED
    assert late.order.refund_due
    assert late.order.paid_cents == 10_553
    assert not late.changed
    assert late.outcome == "late_payment_flagged_for_refund"
    refunded = domain.refunded(
        replace(late.order, payment_intent_id="pi_1"),
        refunded_cents=10_553,
        full=True,
        now=NOW,
    )
    assert refunded.order.status is Status.REFUNDED
    assert not refunded.order.refund_due


def test_only_money_received_can_be_refunded() -> None:
    made = replace(order(), payment_intent_id="pi_1")
    with pytest.raises(NotAllowed):
        domain.check_can_refund(made)
    paid = domain.payment_succeeded(made, amount_cents=1, now=NOW).order
    domain.check_can_refund(paid)
    done = domain.refunded(paid, refunded_cents=1, full=True, now=NOW).order
    with pytest.raises(NotAllowed) as twice:
        domain.check_can_refund(done)
    assert twice.value.code == "order_refunded"


def test_a_refund_before_its_success_ends_refunded_and_the_success_changes_nothing() -> None:
    refunded = domain.refunded(order(), refunded_cents=10_553, full=True, now=NOW)
    assert refunded.changed
    assert refunded.order.status is Status.REFUNDED
    late = domain.payment_succeeded(refunded.order, amount_cents=10_553, now=NOW)
    assert late.order is refunded.order
    again = domain.refunded(refunded.order, refunded_cents=10_553, full=True, now=NOW)
    assert not again.changed


def test_a_partial_refund_is_recorded_without_leaving_paid() -> None:
    paid = domain.payment_succeeded(order(), amount_cents=10_553, now=NOW).order
    partial = domain.refunded(paid, refunded_cents=500, full=False, now=NOW)
    assert (partial.order.status, partial.order.refunded_cents) == (Status.PAID, 500)
    assert not partial.changed


def test_an_expired_order_offers_the_runner_up_their_maximum() -> None:
    made = order()
    expired = domain.expire(made, now=made.due_at)
    offer = domain.second_chance_offer(
        expired, offer_id="f1", due_after=timedelta(days=2), now=made.due_at
    )
    assert offer is not None
    assert (offer.user_id, offer.price_cents, offer.currency) == ("ann", 9_000, "EUR")
    assert offer.due_at == made.due_at + timedelta(days=2)
    assert domain.second_chance_offer(made, offer_id="f", due_after=timedelta(1), now=NOW) is None


def test_there_is_no_third_chance() -> None:
    second = order(second_chance=True)
    expired = domain.expire(second, now=second.due_at)
    assert (
        domain.second_chance_offer(expired, offer_id="f", due_after=timedelta(1), now=NOW) is None
    )


def test_an_offer_is_accepted_once_and_only_before_it_lapses() -> None:
    made = order()
    expired = domain.expire(made, now=made.due_at)
    offer = domain.second_chance_offer(
        expired, offer_id="f1", due_after=timedelta(days=2), now=made.due_at
    )
    assert offer is not None
    accepted = domain.accept(offer, order_id="o2", now=offer.due_at - timedelta(seconds=1))
    assert (accepted.status, accepted.order_id) == (OfferStatus.ACCEPTED, "o2")
    with pytest.raises(NotAllowed) as twice:
        domain.accept(accepted, order_id="o3", now=NOW)
    assert twice.value.code == "offer_accepted"
    with pytest.raises(NotAllowed) as late:
        domain.accept(offer, order_id="o2", now=offer.due_at)
    assert late.value.code == "offer_expired"
    assert domain.lapse(offer, now=offer.due_at).status is OfferStatus.EXPIRED
