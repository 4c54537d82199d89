"""The seller ledger and payout rules: credits, refund debits, payouts, and balances."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auction_platform.services.payment import domain, ledger
from auction_platform.services.payment.ledger import Entry, EntryKind, Payout, PayoutStatus

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TERMS = domain.Terms(Decimal("5"), Decimal("10"), timedelta(days=4))


def paid_order(order_id: str = "o1", hammer_cents: int = 10_000, shipping: int = 0) -> domain.Order:
    made = domain.new_order(
        order_id=order_id,
        auction_id=f"a-{order_id}",
        title="A Leica M3",
        buyer_id="bob",
        seller_id="sam",
        currency="EUR",
        hammer_cents=hammer_cents,
        terms=TERMS,
        now=NOW,
    )
    made = replace(made, shipping_cents=shipping)
    paid = domain.payment_succeeded(made, amount_cents=made.total_cents, now=NOW).order
    assert paid.status is domain.Status.PAID
    return paid


def test_a_paid_order_credits_hammer_less_the_seller_fee_once() -> None:
    order = paid_order()
    credit = ledger.credit_sale(order, [], now=NOW)
    assert credit is not None
    assert (credit.kind, credit.amount_cents, credit.signed_cents) == (EntryKind.SALE, 9_000, 9_000)
    assert ledger.credit_sale(order, [credit], now=NOW) is None


def test_shipping_is_credited_to_the_seller_without_a_fee() -> None:
    order = paid_order(shipping=1_500)
    assert order.total_cents == 10_000 + 500 + 1_500
    assert ledger.sale_credit(order) == 10_000 - 1_000 + 1_500
    credit = ledger.credit_sale(order, [], now=NOW)
    assert credit is not None
    debit = ledger.debit_refund(order, [credit], refunded_cents=order.total_cents, now=NOW)
    assert debit is not None and debit.amount_cents == 10_500


def test_a_full_refund_debits_exactly_what_was_credited() -> None:
    order = paid_order(hammer_cents=10_050)
    credit = ledger.credit_sale(order, [], now=NOW)
    assert credit is not None
    debit = ledger.debit_refund(order, [credit], refunded_cents=order.total_cents, now=NOW)
    assert debit is not None
    assert debit.amount_cents == credit.amount_cents
    assert ledger.net_cents([credit, debit]) == 0
    again = ledger.debit_refund(order, [credit, debit], refunded_cents=order.total_cents, now=NOW)
    assert again is None


def test_partial_refunds_debit_the_sellers_share_and_never_more_than_the_credit() -> None:
    order = paid_order()  # pays 10_500, credits 9_000
    credit = ledger.credit_sale(order, [], now=NOW)
    assert credit is not None
    first = ledger.debit_refund(order, [credit], refunded_cents=5_250, now=NOW)
    assert first is not None and first.amount_cents == 4_500
    second = ledger.debit_refund(order, [credit, first], refunded_cents=10_500, now=NOW)
    assert second is not None and second.amount_cents == 4_500
    assert second.ref != first.ref
    over = ledger.debit_refund(order, [credit, first, second], refunded_cents=99_999, now=NOW)
    assert over is None


def test_a_refund_of_an_order_never_credited_debits_nothing() -> None:
    assert ledger.debit_refund(paid_order(), [], refunded_cents=10_500, now=NOW) is None


def test_a_payout_is_released_for_what_the_sale_left() -> None:
    order = paid_order()
    credit = ledger.credit_sale(order, [], now=NOW)
    assert credit is not None
    ready = ledger.release(order, [credit], payout_id="p1", account_ready=True, now=NOW)
    assert ready is not None and (ready.amount_cents, ready.status) == (9_000, PayoutStatus.PENDING)
    waiting = ledger.release(order, [credit], payout_id="p1", account_ready=False, now=NOW)
    assert waiting is not None and waiting.status is PayoutStatus.AWAITING_ACCOUNT
    refund = ledger.debit_refund(order, [credit], refunded_cents=10_500, now=NOW)
    assert refund is not None
    assert (
        ledger.release(order, [credit, refund], payout_id="p1", account_ready=True, now=NOW) is None
    )


def a_payout(status: PayoutStatus = PayoutStatus.PENDING) -> Payout:
    return Payout("p1", "o1", "sam", "EUR", 9_000, NOW, NOW, status=status)


def test_a_held_payout_is_not_sent_until_released() -> None:
    held = ledger.hold(a_payout(), reason="dispute", now=NOW)
    assert (held.status, held.hold_reason) == (PayoutStatus.HELD, "dispute")
    with pytest.raises(ledger.Refused) as twice:
        ledger.hold(held, reason="again", now=NOW)
    assert twice.value.code == "payout_held"
    with pytest.raises(ledger.Refused):
        ledger.start_sending(held, now=NOW)
    released = ledger.unhold(held, account_ready=True, now=NOW)
    assert (released.status, released.hold_reason) == (PayoutStatus.PENDING, None)
    with pytest.raises(ledger.Refused) as not_held:
        ledger.unhold(released, account_ready=True, now=NOW)
    assert not_held.value.code == "payout_not_held"


@pytest.mark.parametrize(
    "status", [PayoutStatus.PAID, PayoutStatus.SENDING, PayoutStatus.CANCELLED]
)
def test_a_payout_sent_or_being_sent_is_not_held(status: PayoutStatus) -> None:
    with pytest.raises(ledger.Refused) as refused:
        ledger.hold(a_payout(status), reason="late", now=NOW)
    assert refused.value.code == f"payout_{status.value}"


def test_each_attempt_has_its_own_key_and_a_stuck_one_keeps_its_key() -> None:
    sending = ledger.start_sending(a_payout(), now=NOW)
    assert (sending.status, sending.attempts) == (PayoutStatus.SENDING, 1)
    assert ledger.start_sending(sending, now=NOW).attempts == 1
    failed = ledger.failed(sending, reason="insufficient funds", now=NOW)
    again = ledger.start_sending(ledger.unhold(failed, account_ready=True, now=NOW), now=NOW)
    assert again.attempts == 2


def test_a_reversed_transfer_credits_the_ledger_back() -> None:
    paid, debit = ledger.sent(
        ledger.start_sending(a_payout(), now=NOW), transfer_id="tr_1", now=NOW
    )
    assert (paid.status, debit.kind, debit.ref) == (PayoutStatus.PAID, EntryKind.PAYOUT, "tr_1")
    reversal = ledger.reversed_transfer(paid, now=NOW)
    assert reversal is not None
    failed, credit = reversal
    assert (failed.status, credit.kind, credit.amount_cents) == (
        PayoutStatus.FAILED,
        EntryKind.PAYOUT_REVERSED,
        9_000,
    )
    assert ledger.reversed_transfer(failed, now=NOW) is None


def test_a_refund_before_sending_shrinks_or_cancels_the_payout() -> None:
    order = paid_order()
    credit = ledger.credit_sale(order, [], now=NOW)
    assert credit is not None
    payout = ledger.release(order, [credit], payout_id="p1", account_ready=False, now=NOW)
    assert payout is not None
    half = ledger.debit_refund(order, [credit], refunded_cents=5_250, now=NOW)
    assert half is not None
    smaller = ledger.after_refund(payout, [credit, half], now=NOW)
    assert smaller.amount_cents == 4_500
    rest = ledger.debit_refund(order, [credit, half], refunded_cents=10_500, now=NOW)
    assert rest is not None
    gone = ledger.after_refund(smaller, [credit, half, rest], now=NOW)
    assert (gone.status, gone.amount_cents) == (PayoutStatus.CANCELLED, 0)
    paid = replace(payout, status=PayoutStatus.PAID)
    assert ledger.after_refund(paid, [credit, half, rest], now=NOW) is paid


def test_the_balance_shows_pending_available_paid_out_and_owed() -> None:
    at = NOW
    entries = [
        Entry("o1", "sam", EntryKind.SALE, 9_000, "EUR", at),  # not received: pending
        Entry("o2", "sam", EntryKind.SALE, 4_000, "EUR", at),  # released: available
        Entry("o3", "sam", EntryKind.SALE, 2_000, "EUR", at),  # paid out
        Entry("o3", "sam", EntryKind.PAYOUT, 2_000, "EUR", at, ref="tr_3"),
        Entry("o4", "sam", EntryKind.SALE, 1_000, "USD", at),  # paid out, then refunded
        Entry("o4", "sam", EntryKind.PAYOUT, 1_000, "USD", at, ref="tr_4"),
        Entry("o4", "sam", EntryKind.REFUND, 1_000, "USD", at, ref="1100"),
    ]
    payouts = [
        Payout("p2", "o2", "sam", "EUR", 4_000, at, at, status=PayoutStatus.HELD),
        Payout("p3", "o3", "sam", "EUR", 2_000, at, at, status=PayoutStatus.PAID),
        Payout("p4", "o4", "sam", "USD", 1_000, at, at, status=PayoutStatus.PAID),
    ]
    eur, usd = ledger.balances(entries, payouts)
    assert (eur.currency, eur.pending_cents, eur.available_cents, eur.paid_out_cents) == (
        "EUR",
        9_000,
        4_000,
        2_000,
    )
    assert (usd.paid_out_cents, usd.owed_cents, usd.pending_cents) == (1_000, 1_000, 0)


# --- any sequence of events -------------------------------------------------------------


@dataclass
class Books:
    """The ledger and payouts of a few orders, driven by the rules as the service drives them."""

    orders: dict[str, domain.Order]
    entries: list[Entry] = field(default_factory=list)
    payouts: dict[str, Payout] = field(default_factory=dict)
    refunded: dict[str, int] = field(default_factory=dict)
    paid: set[str] = field(default_factory=set)

    def of(self, order_id: str) -> list[Entry]:
        return [e for e in self.entries if e.order_id == order_id]

    def add(self, entry: Entry | None) -> None:
        if entry is not None:
            key = (entry.order_id, entry.kind, entry.ref)
            assert key not in {(e.order_id, e.kind, e.ref) for e in self.entries}
            self.entries.append(entry)

    def step(self, event: str, order_id: str, amount: int) -> None:
        order = self.orders[order_id]
        payout = self.payouts.get(order_id)
        if event == "paid":
            self.paid.add(order_id)
            self.add(ledger.credit_sale(order, self.of(order_id), now=NOW))
        elif event == "refund" and order_id in self.paid:
            total = min(order.total_cents, self.refunded.get(order_id, 0) + amount)
            self.refunded[order_id] = total
            entry = ledger.debit_refund(order, self.of(order_id), refunded_cents=total, now=NOW)
            self.add(entry)
            if payout is not None and entry is not None:
                self.payouts[order_id] = ledger.after_refund(payout, self.of(order_id), now=NOW)
        elif event == "received" and order_id in self.paid and payout is None:
            made = ledger.release(
                order, self.of(order_id), payout_id=order_id, account_ready=amount % 2 == 0, now=NOW
            )
            if made is not None:
                self.payouts[order_id] = made
        elif event == "send" and payout is not None:
            if payout.status is PayoutStatus.AWAITING_ACCOUNT:
                payout = ledger.account_connected(payout, now=NOW)
            if payout.status is PayoutStatus.PENDING:
                sending = ledger.start_sending(payout, now=NOW)
                done, debit = ledger.sent(sending, transfer_id=f"tr_{sending.attempts}", now=NOW)
                self.payouts[order_id] = done
                self.add(debit)
        elif event == "reverse" and payout is not None:
            reversal = ledger.reversed_transfer(payout, now=NOW)
            if reversal is not None:
                self.payouts[order_id], credit = reversal
                self.add(credit)
                self.payouts[order_id] = ledger.unhold(
                    self.payouts[order_id], account_ready=True, now=NOW
                )


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["paid", "refund", "received", "send", "reverse", "paid", "refund"]),
        st.sampled_from(["o1", "o2", "o3"]),
        st.integers(1, 12_000),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(EVENTS, st.lists(st.integers(100, 50_000), min_size=3, max_size=3))
def test_for_any_sequence_the_ledger_balances_and_payouts_never_exceed_credits(
    events: list[tuple[str, str, int]], hammers: list[int]
) -> None:
    books = Books({f"o{i + 1}": paid_order(f"o{i + 1}", h) for i, h in enumerate(hammers)})
    for event, order_id, amount in events:
        books.step(event, order_id, amount)
    credits = sum(e.amount_cents for e in books.entries if e.kind in ledger.CREDITS)
    debits = sum(e.amount_cents for e in books.entries if e.kind not in ledger.CREDITS)
    assert ledger.net_cents(books.entries) == credits - debits
    for order_id, order in books.orders.items():
        mine = books.of(order_id)
        sales = sum(e.amount_cents for e in mine if e.kind is EntryKind.SALE)
        refunds = sum(e.amount_cents for e in mine if e.kind is EntryKind.REFUND)
        sent = sum(e.amount_cents for e in mine if e.kind is EntryKind.PAYOUT)
        back = sum(e.amount_cents for e in mine if e.kind is EntryKind.PAYOUT_REVERSED)
        assert sales in (0, ledger.sale_credit(order))
        assert 0 <= refunds <= sales
        assert sent - back <= sales
        payout = books.payouts.get(order_id)
        if payout is not None:
            assert 0 <= payout.amount_cents <= sales
    for balance in ledger.balances(books.entries, books.payouts.values()):
        assert min(balance.pending_cents, balance.available_cents, balance.paid_out_cents) >= 0


def test_an_admin_hold_takes_over_a_disputes_hold() -> None:
    by_dispute = ledger.hold(a_payout(), reason=ledger.DISPUTE_HOLD, now=NOW)
    by_admin = ledger.hold(by_dispute, reason="Checking the seller", now=NOW)
    assert (by_admin.status, by_admin.hold_reason) == (PayoutStatus.HELD, "Checking the seller")
    with pytest.raises(ledger.Refused):
        ledger.hold(by_admin, reason=ledger.DISPUTE_HOLD, now=NOW)
