"""The rules of disputes (``payment.disputes``) and who hears of them (``notification.notices``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from auction_platform.contracts.events import Envelope
from auction_platform.services.notification import notices
from auction_platform.services.payment import disputes, domain
from auction_platform.services.payment.disputes import Decision, Reason
from auction_platform.services.payment.domain import Caller, NotAllowed, Order, Status

PAID_AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
BUYER, SELLER = Caller("bob"), Caller("sam")


def paid_order() -> Order:
    terms = domain.Terms(Decimal(5), Decimal(10), timedelta(days=7))
    order = domain.new_order(
        order_id="o1",
        auction_id="a1",
        title="A Leica M3",
        buyer_id="bob",
        seller_id="sam",
        currency="EUR",
        hammer_cents=10_000,
        terms=terms,
        now=PAID_AT - timedelta(hours=1),
    )
    return replace(order, status=Status.PAID, paid_cents=10_500, paid_at=PAID_AT)


def opened(order: Order, at: datetime = PAID_AT) -> disputes.Dispute:
    dispute, _ = disputes.open_dispute(
        order,
        BUYER,
        None,
        dispute_id="d1",
        message_id="m1",
        reason=Reason.NOT_RECEIVED,
        body=" Nothing came ",
        now=at,
    )
    return dispute


def code_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(NotAllowed) as refused:
        call(*args, **kwargs)  # type: ignore[operator]
    return refused.value.code


def test_a_dispute_opens_until_30_days_after_payment() -> None:
    order = paid_order()
    last = PAID_AT + timedelta(days=30) - timedelta(microseconds=1)
    assert opened(order, last).is_open
    assert code_of(opened, order, PAID_AT + timedelta(days=30)) == "dispute_window_closed"


def test_only_the_buyer_of_a_paid_order_opens_one_dispute() -> None:
    order = paid_order()
    check = disputes.check_can_open
    assert code_of(check, order, SELLER, None, now=PAID_AT) == "not_the_buyer"
    assert code_of(check, order, BUYER, opened(order), now=PAID_AT) == "dispute_exists"
    unpaid = replace(order, status=Status.AWAITING_PAYMENT, paid_at=None)
    assert code_of(check, unpaid, BUYER, None, now=PAID_AT) == "order_not_paid"
    refunded = replace(order, status=Status.REFUNDED)
    assert code_of(check, refunded, BUYER, None, now=PAID_AT) == "order_refunded"


def test_messages_are_1_to_2000_characters_from_a_party_or_an_admin() -> None:
    dispute = opened(paid_order())
    write = disputes.write
    assert write(dispute, Caller("x", is_admin=True), message_id="m", body="ok", now=PAID_AT)
    assert code_of(write, dispute, Caller("eve"), message_id="m", body="hi", now=PAID_AT) == (
        "not_a_party"
    )
    assert code_of(write, dispute, SELLER, message_id="m", body=" \n ", now=PAID_AT) == (
        "invalid_message"
    )
    long = "x" * 2001
    assert code_of(write, dispute, SELLER, message_id="m", body=long, now=PAID_AT) == (
        "invalid_message"
    )
    assert write(dispute, SELLER, message_id="m", body="x" * 2000, now=PAID_AT).body


def test_a_refund_is_at_most_what_is_left_and_one_at_a_time() -> None:
    order = replace(paid_order(), refunded_cents=500)
    dispute = opened(order)
    ask = disputes.ask_refund
    assert code_of(ask, dispute, order, amount_cents=10_001, now=PAID_AT) == (
        "refund_exceeds_payment"
    )
    assert code_of(ask, dispute, order, amount_cents=0, now=PAID_AT) == "invalid_amount"
    asked = ask(dispute, order, amount_cents=10_000, now=PAID_AT)
    assert (asked.refunds, disputes.refund_target(asked)) == (1, 10_500)
    assert ask(asked, order, amount_cents=10_000, now=PAID_AT) is asked  # a retry, same key
    assert code_of(ask, asked, order, amount_cents=1, now=PAID_AT) == "refund_in_progress"


def test_a_decision_for_the_seller_gives_nothing_back() -> None:
    dispute = opened(paid_order())
    check = disputes.check_decision
    assert code_of(check, dispute, Decision.SELLER, 1) == "invalid_amount"
    check(dispute, Decision.SELLER, 0)
    check(dispute, Decision.REFUND, 0)
    ended = disputes.resolve(dispute, disputes.Outcome.DECIDED_FOR_SELLER, now=PAID_AT)
    assert code_of(check, ended, Decision.REFUND, 0) == "dispute_resolved"


def test_a_partial_refund_keeps_the_order_paid_and_never_goes_back() -> None:
    order = paid_order()
    part = domain.refunded(order, refunded_cents=3_000, full=False, now=PAID_AT).order
    assert (part.status, part.refunded_cents) == (Status.PAID, 3_000)
    stale = domain.refunded(part, refunded_cents=2_000, full=False, now=PAID_AT)
    assert stale.order is part and stale.outcome == "ignored_partial_refund"
    assert disputes.refundable_cents(part) == 7_500


def _event(kind: str, author: str | None) -> Envelope:
    data = {
        "dispute_id": "d1",
        "order_id": "o1",
        "auction_id": "a1",
        "title": "A Leica M3",
        "buyer_id": "bob",
        "seller_id": "sam",
        "currency": "EUR",
        "reason": "not_received",
        "status": "open",
        "outcome": None,
        "paid_cents": 10_500,
        "refunded_cents": 0,
        "author_id": author,
        "author_role": None,
        "body": "hi",
        "amount_cents": None,
        "at": PAID_AT.isoformat(),
    }
    return Envelope(type=kind, producer="payment", data=data)


def test_the_other_party_hears_of_a_dispute() -> None:
    assert [n.user_id for n in notices.dispute(_event("DisputeOpened", "bob"))] == ["sam"]
    assert [n.user_id for n in notices.dispute(_event("DisputeMessage", "sam"))] == ["bob"]
    admin = notices.dispute(_event("DisputeMessage", "admin-1"))
    assert [n.user_id for n in admin] == ["bob", "sam"]
    resolved = notices.dispute(_event("DisputeResolved", "admin-1"))
    assert [(n.kind, n.user_id) for n in resolved] == [
        ("dispute_resolved", "bob"),
        ("dispute_resolved", "sam"),
    ]
