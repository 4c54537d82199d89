"""Who hears about what: each event becomes the right notices for the right people."""

from __future__ import annotations

from typing import Any

import pytest

from auction_platform.contracts import auctions, payments
from auction_platform.contracts.events import Envelope
from auction_platform.core.broker.memory import topic_matches
from auction_platform.services.identity.domain import NOTICES
from auction_platform.services.notification import notices
from auction_platform.services.notification.consumers import SUBSCRIPTIONS
from auction_platform.services.notification.notices import Notice, Preference

ORDER: dict[str, Any] = {
    "order_id": "ord-1",
    "auction_id": "auc-1",
    "title": "Leica",
    "buyer_id": "bob",
    "seller_id": "sam",
    "currency": "EUR",
    "hammer_cents": 20_000,
    "buyers_premium_cents": 1_000,
    "seller_fee_cents": 2_000,
    "total_cents": 21_000,
    "due_at": "2030-05-18T10:00:00+00:00",
    "second_chance": False,
    "format": "english",
}


def event(producer: str, event_type: str, **data: Any) -> Envelope:
    return Envelope(type=event_type, producer=producer, data=data)


def closed(**overrides: Any) -> Envelope:
    data: dict[str, Any] = {
        "auction_id": "auc-1",
        "seller_id": "sam",
        "title": "Leica",
        "winner_id": "bob",
        "price_cents": 15_500,
        "currency": "EUR",
        "sold": True,
        "reserve_met": True,
        "runner_up_id": "ann",
        "runner_up_max_cents": 15_000,
        "bid_count": 3,
        "by_buy_now": False,
        "closed_at": "2030-05-14T18:30:00+00:00",
    }
    return event("bidding", auctions.AUCTION_CLOSED, **{**data, **overrides})


def who(found: list[Notice]) -> list[tuple[str, str, str]]:
    return [(n.kind, n.preference, n.user_id) for n in found]


def test_every_event_the_service_consumes_has_exactly_one_queue() -> None:
    consumed = [
        "bidding.Outbid",
        "auction.AuctionEndingSoon",
        "bidding.AuctionClosed",
        "auction.AuctionCancelled",
        "payment.OrderCreated",
        "payment.PaymentReminderDue",
        "payment.OrderPaid",
        "payment.PaymentFailed",
        "payment.OrderRefunded",
        "payment.SecondChanceOffered",
        "identity.UserRegistered",
    ]
    for key in consumed:
        queues = [s.name for s in SUBSCRIPTIONS if any(topic_matches(p, key) for p in s.patterns)]
        assert len(queues) == 1, (key, queues)
    ignored = ["bidding.BidPlaced", "payment.OrderExpired", "identity.UserRolesChanged"]
    for key in ignored:
        assert not any(topic_matches(p, key) for s in SUBSCRIPTIONS for p in s.patterns)


def test_the_former_leader_is_told_of_the_outbid() -> None:
    found = notices.outbid(
        event(
            "bidding",
            auctions.OUTBID,
            auction_id="auc-1",
            user_id="ann",
            price_cents=1_000,
            currency="EUR",
            ends_at="2030-05-14T18:30:00+00:00",
        )
    )
    assert who(found) == [("outbid", "outbid", "ann")]
    assert found[0].values["title"] is None  # not in the contract (yet)


def test_ending_soon_tells_each_recipient_once() -> None:
    found = notices.ending_soon(
        event(
            "auction",
            auctions.AUCTION_ENDING_SOON,
            auction_id="auc-1",
            title="Leica",
            ends_at="2030-05-14T18:30:00+00:00",
            minutes_left=5,
            recipient_ids=["ann", "bob", "ann"],
        )
    )
    assert who(found) == [
        ("ending_soon", "ending_soon", "ann"),
        ("ending_soon", "ending_soon", "bob"),
    ]


def test_a_sale_tells_the_winner_they_won_and_the_seller_they_sold() -> None:
    assert who(notices.auction_closed(closed())) == [
        ("won", "won", "bob"),
        ("sold", "sold", "sam"),
    ]


def test_every_notice_of_the_close_says_how_the_lot_was_sold() -> None:
    # An event from before there were formats was an English auction.
    assert {n.values["sale_format"] for n in notices.auction_closed(closed())} == {"english"}
    for sale_format in ("sealed_first_price", "sealed_second_price", "dutch"):
        found = notices.auction_closed(closed(format=sale_format, bidder_ids=["bob", "eve"]))
        assert len(found) == 3
        assert {n.values["sale_format"] for n in found} == {sale_format}


def test_no_sale_tells_only_the_seller() -> None:
    found = notices.auction_closed(closed(sold=False, winner_id=None, reserve_met=False))
    assert who(found) == [("not_sold", "not_sold", "sam")]
    assert found[0].values["reserve_met"] is False


def test_the_bidders_who_did_not_win_are_told_once_each() -> None:
    found = notices.auction_closed(closed(bidder_ids=["ann", "bob", "cleo", "ann"]))
    assert who(found) == [
        ("won", "won", "bob"),
        ("sold", "sold", "sam"),
        ("lost", "outbid", "ann"),
        ("lost", "outbid", "cleo"),
    ]
    assert found[2].values["sold"] is True


def test_a_missed_reserve_tells_the_seller_the_top_bidder_and_the_others() -> None:
    missed = closed(
        sold=False, winner_id=None, reserve_met=False, leader_id="bob", bidder_ids=["ann", "bob"]
    )
    found = notices.auction_closed(missed)
    assert who(found) == [
        ("not_sold", "not_sold", "sam"),
        ("reserve_not_met", "won", "bob"),
        ("lost", "outbid", "ann"),
    ]
    assert found[2].values["sold"] is False


def test_without_the_bidders_in_the_event_only_the_winner_and_seller_hear() -> None:
    # Until bidding's AuctionClosed names the leader, no bidder can be told they lost:
    # the top one of a missed reserve would be among them.
    unnamed = closed(sold=False, winner_id=None, reserve_met=False, bidder_ids=["ann", "bob"])
    assert who(notices.auction_closed(unnamed)) == [("not_sold", "not_sold", "sam")]
    no_bids = closed(sold=False, winner_id=None, reserve_met=False, bid_count=0, bidder_ids=[])
    assert who(notices.auction_closed(no_bids)) == [("not_sold", "not_sold", "sam")]


def test_a_cancellation_by_the_seller_tells_the_bidders_only() -> None:
    data = {"auction_id": "auc-1", "title": "Leica", "seller_id": "sam", "bids_voided": False}
    by_seller = event(
        "auction", auctions.AUCTION_CANCELLED, **data, by="seller", bidder_ids=["ann", "sam"]
    )
    assert who(notices.auction_cancelled(by_seller)) == [
        ("auction_cancelled", "auction_cancelled", "ann")
    ]
    by_admin = event("auction", auctions.AUCTION_CANCELLED, **data, by="admin", bidder_ids=["ann"])
    assert who(notices.auction_cancelled(by_admin)) == [
        ("auction_cancelled", "auction_cancelled", "ann"),
        ("auction_cancelled_seller", "auction_cancelled", "sam"),
    ]


def test_the_buyer_is_asked_to_pay_and_reminded() -> None:
    due = notices.payment_due(event("payment", payments.ORDER_CREATED, **ORDER))
    assert who(due) == [("payment_due", "payment_due", "bob")]
    reminder = event("payment", payments.PAYMENT_REMINDER, **ORDER, hours_after=48)
    [again] = notices.payment_due(reminder)
    assert (again.kind, again.preference, again.values["hours_after"]) == (
        "payment_reminder",
        "payment_due",
        48,
    )


def test_a_payment_is_news_for_the_buyer_and_the_seller() -> None:
    found = notices.payment_received(event("payment", payments.ORDER_PAID, **ORDER))
    assert who(found) == [
        ("payment_received_buyer", "payment_received", "bob"),
        ("payment_received_seller", "payment_received", "sam"),
    ]
    assert found[1].values["payout_cents"] == 18_000


def test_a_declined_payment_tells_the_buyer_why() -> None:
    failed = event("payment", payments.PAYMENT_FAILED, **ORDER, reason="Your card was\ndeclined.")
    [notice] = notices.payment_failed(failed)
    assert (notice.kind, notice.preference, notice.user_id) == (
        "payment_failed",
        "payment_due",
        "bob",
    )
    assert notice.values["reason"] == "Your card was declined."


def test_a_refund_tells_the_buyer_and_the_seller() -> None:
    found = notices.refunded(
        event("payment", payments.ORDER_REFUNDED, **ORDER, refunded_cents=21_000)
    )
    assert who(found) == [
        ("refunded_buyer", "payment_received", "bob"),
        ("refunded_seller", "payment_received", "sam"),
    ]
    assert (found[0].values["refunded_cents"], found[1].values["payout_cents"]) == (21_000, 18_000)


def test_a_payout_sent_tells_the_seller_under_payments_received() -> None:
    sent = {
        "payout_id": "po-1",
        "order_id": "ord-1",
        "title": "A Leica M3",
        "seller_id": "sam",
        "amount_cents": 18_000,
        "currency": "EUR",
        "paid_at": "2026-03-09T12:00:00+00:00",
    }
    found = notices.payout_sent(event("payment", payments.PAYOUT_SENT, **sent))
    assert who(found) == [("payout_sent", "payment_received", "sam")]
    assert (found[0].values["amount_cents"], found[0].values["title"]) == (18_000, "A Leica M3")


def test_the_runner_up_gets_the_second_chance() -> None:
    offer = event(
        "payment",
        payments.SECOND_CHANCE_OFFERED,
        offer_id="off-1",
        auction_id="auc-1",
        title="Leica",
        user_id="ann",
        seller_id="sam",
        price_cents=15_000,
        currency="EUR",
        due_at="2030-05-18T10:00:00+00:00",
    )
    assert who(notices.second_chance(offer)) == [("second_chance", "second_chance", "ann")]


def test_a_new_account_is_welcomed_as_an_account_notice() -> None:
    registered = event("identity", "UserRegistered", user_id="cleo", display_name="Cleo")
    [notice] = notices.welcome(registered)
    assert (notice.kind, notice.preference, notice.user_id) == ("welcome", "account", "cleo")
    assert notice.values["roles"] == ["bidder"]  # what a registration gives


def test_the_welcome_follows_the_roles_the_event_names() -> None:
    roles = ["bidder", "seller", "admin"]
    made = event("identity", "UserRegistered", user_id="root", display_name="Root", roles=roles)
    assert notices.welcome(made)[0].values["roles"] == roles


def test_a_malformed_event_fails_rather_than_being_acknowledged_silently() -> None:
    with pytest.raises(KeyError):
        notices.auction_closed(event("bidding", auctions.AUCTION_CLOSED, auction_id="auc-1"))


def test_feedback_goes_to_the_rated_party_under_its_own_preference() -> None:
    left = event(
        "payment",
        payments.FEEDBACK_LEFT,
        order_id="ord-1",
        auction_id="auc-1",
        title="Leica",
        rater_id="bob",
        rater_role="buyer",
        ratee_id="sam",
        rating="positive",
        comment="Great\n seller",
        edited=False,
        left_at="2030-05-18T10:00:00+00:00",
    )
    [notice] = notices.feedback_left(left)
    assert (notice.kind, notice.preference, notice.user_id) == (
        "feedback_received",
        "feedback",
        "sam",
    )
    assert (notice.values["comment"], notice.values["rater_role"]) == ("Great seller", "buyer")


def test_the_preferences_are_identitys_notices_and_the_accounts_standing() -> None:
    assert set(Preference) - {Preference.ACCOUNT_STANDING} == set(NOTICES)
    assert Preference.ACCOUNT_STANDING not in NOTICES  # nobody can switch it off
