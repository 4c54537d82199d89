"""The product copy: every kind renders as text, HTML and SMS; money and times read right."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from jinja2 import UndefinedError

from auction_platform.services.notification import formatting
from auction_platform.services.notification.notices import Kind
from auction_platform.services.notification.render import Templates

PUBLIC = "https://auctions.example.com/"

ORDER: dict[str, Any] = {
    "order_id": "ord-1",
    "auction_id": "auc-1",
    "title": "A 1960s Leica M3",
    "buyer_id": "u-buyer",
    "seller_id": "u-seller",
    "currency": "EUR",
    "hammer_cents": 20_000,
    "buyers_premium_cents": 1_000,
    "seller_fee_cents": 2_000,
    "total_cents": 21_000,
    "shipping_cents": 0,
    "due_at": "2030-05-18T10:00:00+00:00",
    "second_chance": False,
    "format": "english",
}
SHIPPED: dict[str, Any] = {
    **ORDER,
    "shipping_cents": 1_500,
    "total_cents": 22_500,
    "delivery_method": "shipping",
    "address_lines": ["Bob Buyer", "1 Hauptstraße", "10115 Berlin", "DE"],
    "pickup_town": None,
    "tracking_number": "1Z999AA10123456784",
    "carrier": "UPS",
}
LOT: dict[str, Any] = {"auction_id": "auc-1", "title": "A 1960s Leica M3"}
DISPUTE = {
    **LOT,
    "order_id": "ord-1",
    "currency": "EUR",
    "reason": "not_as_described",
    "outcome": None,
    "paid_cents": 10_500,
    "refunded_cents": 0,
    "author_role": "buyer",
    "body": "The lens is scratched",
    "amount_cents": None,
}
EXAMPLES: dict[str, dict[str, Any]] = {
    "outbid": {
        **LOT,
        "price_cents": 12_345,
        "currency": "EUR",
        "ends_at": "2030-05-14T18:30:00+00:00",
    },
    "ending_soon": {**LOT, "ends_at": "2030-05-14T18:30:00+00:00", "minutes_left": 15},
    "won": {
        **LOT,
        "price_cents": 15_500,
        "currency": "EUR",
        "bid_count": 3,
        "by_buy_now": False,
        "sale_format": "english",
    },
    "sold": {
        **LOT,
        "price_cents": 15_500,
        "currency": "EUR",
        "bid_count": 1,
        "by_buy_now": False,
        "sale_format": "english",
    },
    "not_sold": {
        **LOT,
        "price_cents": 900,
        "currency": "EUR",
        "bid_count": 2,
        "reserve_met": False,
        "by_buy_now": False,
        "sale_format": "english",
    },
    "payment_due": ORDER,
    "payment_reminder": {**ORDER, "hours_after": 24},
    "payment_received_buyer": ORDER,
    "payment_received_seller": {**SHIPPED, "payout_cents": 19_500},
    "order_shipped": SHIPPED,
    "order_received": {
        **SHIPPED,
        "automatically": False,
        "received_at": "2030-05-20T10:00:00+00:00",
    },
    "second_chance": {
        **LOT,
        "offer_id": "off-1",
        "price_cents": 14_000,
        "currency": "EUR",
        "due_at": "2030-05-18T10:00:00+00:00",
    },
    "lost": {
        **LOT,
        "price_cents": 15_500,
        "currency": "EUR",
        "bid_count": 3,
        "sold": True,
        "reserve_met": True,
        "by_buy_now": False,
        "sale_format": "english",
    },
    "reserve_not_met": {
        **LOT,
        "price_cents": 900,
        "currency": "EUR",
        "bid_count": 2,
        "sold": False,
        "reserve_met": False,
        "by_buy_now": False,
        "sale_format": "english",
    },
    "payment_failed": {**ORDER, "reason": "Your card was declined."},
    "refunded_buyer": {**ORDER, "refunded_cents": 21_000},
    "refunded_seller": {**ORDER, "refunded_cents": 21_000, "payout_cents": 18_000},
    "payout_sent": {
        "payout_id": "po-1",
        "order_id": "ord-1",
        "title": "A Leica M3",
        "amount_cents": 18_000,
        "currency": "EUR",
        "paid_at": "2026-03-09T12:00:00+00:00",
    },
    "auction_cancelled": {**LOT, "by": "admin", "bids_voided": True},
    "auction_cancelled_seller": {**LOT, "by": "admin", "bids_voided": True},
    "welcome": {"roles": ["bidder"]},
    "report_resolved": {**LOT, "target_type": "auction", "target_id": "a-1", "outcome": "warn"},
    "report_warning": {
        **LOT,
        "target_type": "auction",
        "target_id": "a-1",
        "outcome": "warn",
        "note": "Say it is a replica",
    },
    "account_suspended": {"reason": "Shill bidding on your own lots", "until": None},
    "account_reinstated": {},
    "dispute_opened": {**DISPUTE, "side": "seller"},
    "dispute_message": {**DISPUTE, "side": "buyer", "author_role": "seller"},
    "dispute_resolved": {**DISPUTE, "side": "buyer", "outcome": "decided_refund"},
    "feedback_received": {
        **LOT,
        "order_id": "ord-1",
        "rater_role": "buyer",
        "rating": "positive",
        "comment": "Lovely camera, well packed",
        "edited": False,
        "rated_id": "u-seller",
    },
}


def test_a_dispute_refund_names_what_was_given_back(templates: Templates) -> None:
    text = templates.email(
        "dispute_message", values("dispute_message", amount_cents=2_500, refunded_cents=2_500)
    ).text
    assert "The seller gave back €25.00" in text and "€25.00 of €105.00" in text


@pytest.fixture
def templates() -> Templates:
    return Templates(public_url=PUBLIC)


def values(kind: str, **overrides: Any) -> dict[str, Any]:
    return {**EXAMPLES[kind], "display_name": "Ann", **overrides}


def test_every_kind_of_notice_has_its_templates_and_no_template_is_left_over(
    templates: Templates,
) -> None:
    assert templates.kinds() == sorted(Kind)


def test_every_kind_has_an_example_here(templates: Templates) -> None:
    assert templates.kinds() == sorted(EXAMPLES)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_kind_renders_a_subject_a_text_an_html_part_and_an_sms(
    templates: Templates, kind: str
) -> None:
    email = templates.email(kind, values(kind))
    assert email.subject and "\n" not in email.subject
    assert email.text.startswith("Hi Ann,\n")
    assert "{{" not in email.text and "{%" not in email.text
    assert email.html.startswith("<!DOCTYPE html>")
    assert f"<title>{email.subject}</title>" in html.unescape(email.html)
    assert "https://auctions.example.com/account/notifications" in email.text
    assert "https://auctions.example.com/account/notifications" in email.html
    sms = templates.sms(kind, values(kind))
    assert "\n" not in sms and len(sms) <= 320
    assert "https://auctions.example.com/" in sms


# The kinds about a lot (not the account's own notices) show its title.
ABOUT_THE_ACCOUNT = {"welcome", "account_suspended", "account_reinstated"}


@pytest.mark.parametrize("kind", sorted(set(EXAMPLES) - ABOUT_THE_ACCOUNT))
def test_the_lot_title_is_escaped_in_html_and_kept_in_text(templates: Templates, kind: str) -> None:
    email = templates.email(kind, values(kind, title="Tom & Jerry <script>"))
    assert "Tom &amp; Jerry &lt;script&gt;" in email.html
    assert "<script>" not in email.html
    assert "Tom & Jerry <script>" in email.text


def test_the_display_name_is_escaped_in_html(templates: Templates) -> None:
    email = templates.email("welcome", values("welcome", display_name="<b>Ann</b>"))
    assert "Hi &lt;b&gt;Ann&lt;/b&gt;," in email.html
    assert email.subject == "Welcome to Auction Platform, <b>Ann</b>"


def test_links_are_built_from_the_public_url(templates: Templates) -> None:
    email = templates.email("payment_due", values("payment_due"))
    assert "Pay now: https://auctions.example.com/orders/ord-1" in email.text
    assert 'href="https://auctions.example.com/orders/ord-1"' in email.html
    assert templates.link("auctions", "a b/c") == "https://auctions.example.com/auctions/a%20b%2Fc"
    assert templates.link() == "https://auctions.example.com/"


def test_the_not_sold_notice_links_to_listing_the_lot_again(templates: Templates) -> None:
    relist = "https://auctions.example.com/auctions/auc-1/relist"
    email = templates.email("not_sold", values("not_sold"))
    assert f"List it again:\n{relist}" in email.text
    assert f'href="{relist}"' in email.html and "List it again" in email.html
    assert relist in templates.sms("not_sold", values("not_sold"))


def test_a_missing_value_fails_instead_of_rendering_a_blank(templates: Templates) -> None:
    broken = values("outbid")
    del broken["price_cents"]
    with pytest.raises(UndefinedError):
        templates.email("outbid", broken)


def test_amounts_use_the_currencys_minor_units(templates: Templates) -> None:
    yen = templates.email("payment_due", values("payment_due", currency="JPY"))
    assert "Total due: ¥21,000" in yen.text
    euro = templates.email("payment_due", values("payment_due"))
    assert "Total due: €210.00" in euro.text
    assert "Buyer's premium: €10.00" in euro.text


def test_times_are_in_utc_with_the_zone_named(templates: Templates) -> None:
    email = templates.email("outbid", values("outbid", ends_at="2030-05-14T20:30:00+02:00"))
    assert "The auction ends on Tuesday 14 May 2030, 18:30 UTC." in email.text
    assert "ends 14 May, 18:30 UTC" in templates.sms("outbid", values("outbid"))


def test_the_copy_follows_the_facts(templates: Templates) -> None:
    no_bids = templates.email("not_sold", values("not_sold", bid_count=0))
    assert "without any bids" in no_bids.text
    reserve = templates.email("not_sold", values("not_sold"))
    assert "The highest bid, €9.00," in reserve.text
    bought = templates.email("won", values("won", by_buy_now=True))
    assert "with Buy It Now for €155.00" in bought.text
    one_bid = templates.email("sold", values("sold"))
    assert "after 1 bid." in one_bid.text
    by_seller = templates.email("auction_cancelled", values("auction_cancelled", by="seller"))
    assert "cancelled by the seller" in by_seller.text
    untitled = templates.email("outbid", values("outbid", title=None))
    assert untitled.subject == "You've been outbid"


def test_the_close_tells_each_bidder_how_it_ended(templates: Templates) -> None:
    sold = templates.email("lost", values("lost"))
    assert sold.subject == "You did not win “A 1960s Leica M3”"
    assert "Another bidder won it for €155.00." in sold.text
    bought = templates.email("lost", values("lost", by_buy_now=True))
    assert "with Buy It Now for €155.00" in bought.text
    unsold = templates.email("lost", values("lost", sold=False, reserve_met=False))
    assert "did not reach the seller's reserve price" in unsold.text
    top = templates.email("reserve_not_met", values("reserve_not_met"))
    assert "Yours was the highest bid, at €9.00," in top.text
    assert "you owe nothing" in top.text


def test_each_format_is_told_how_it_was_sold(templates: Templates) -> None:
    def said(kind: str, sale_format: str, **overrides: Any) -> str:
        data = values(kind, sale_format=sale_format, **overrides)
        return templates.email(kind, data).text + templates.sms(kind, data)

    dutch = said("won", "dutch", by_buy_now=True)
    assert "You accepted the price of “A 1960s Leica M3” first, at €155.00" in dutch
    assert "Buy It Now" not in dutch
    second = said("won", "sealed_second_price")
    assert "It was a second-price sale, so\nyou pay €155.00" in second
    assert "you pay the second price, €155.00" in second
    assert "Your sealed bid of €155.00" in said("won", "sealed_first_price")
    assert "a bidder accepted the falling price" in said("sold", "dutch", by_buy_now=True)
    assert "after 3 sealed bids, at the second-highest bid." in said(
        "sold", "sealed_second_price", bid_count=3
    )
    assert "Another member accepted the price" in said("lost", "dutch", by_buy_now=True)
    opened = said("lost", "sealed_first_price")
    assert "The sealed bids on “A 1960s Leica M3” have been opened" in opened
    assert "fell to the floor you set" in said("not_sold", "dutch", bid_count=0)
    # A second-price close below the reserve carries the second bid: no amount is claimed as
    # the top bid's.
    for kind in ("not_sold", "reserve_not_met"):
        text = said(kind, "sealed_second_price")
        assert "highest sealed bid" in text and "€9.00" not in text


def test_a_declined_payment_says_why_and_until_when_to_retry(templates: Templates) -> None:
    email = templates.email("payment_failed", values("payment_failed"))
    assert "The payment provider said: Your card was declined." in email.text
    assert "until Saturday 18 May 2030, 10:00 UTC" in email.text
    assert 'href="https://auctions.example.com/orders/ord-1"' in email.html


def test_a_refund_names_the_amount_to_the_buyer_and_the_lost_proceeds_to_the_seller(
    templates: Templates,
) -> None:
    buyer = templates.email("refunded_buyer", values("refunded_buyer"))
    assert buyer.subject == "Refund for “A 1960s Leica M3”: €210.00"
    seller = templates.email("refunded_seller", values("refunded_seller"))
    assert "its proceeds (€180.00) are no" in seller.text


@pytest.mark.parametrize(
    ("roles", "says", "never"),
    [
        (["bidder"], "Ask for the seller role", "/admin"),
        (["bidder", "seller"], "https://auctions.example.com/sell", "seller role"),
        (["bidder", "seller", "admin"], "https://auctions.example.com/admin", "seller role"),
    ],
)
def test_the_welcome_fits_the_accounts_roles(
    templates: Templates, roles: list[str], says: str, never: str
) -> None:
    email = templates.email("welcome", values("welcome", roles=roles))
    sms = templates.sms("welcome", values("welcome", roles=roles))
    for text in (email.text, email.html):
        assert says in text
        assert never not in text
    assert ("/admin" in sms) is ("admin" in roles)


def test_a_long_sms_is_cut_to_two_segments(templates: Templates) -> None:
    sms = templates.sms("outbid", values("outbid", title="x" * 400))
    assert len(sms) == 320 and sms.endswith("…")


@pytest.mark.parametrize(
    ("cents", "currency", "expected"),
    [
        (123_450, "EUR", "€1,234.50"),
        (5, "EUR", "€0.05"),
        (0, "EUR", "€0.00"),
        (1_200_000, "JPY", "¥1,200,000"),
        (7, "JPY", "¥7"),
        (1_234, "KWD", "KWD 1.234"),
        (8_000, "CHF", "CHF 80.00"),
        (99, "usd", "$0.99"),
        (-2_000, "GBP", "-£20.00"),
        (150_000, "KRW", "KRW 150,000"),
    ],
)
def test_money_is_formatted_per_currency(cents: int, currency: str, expected: str) -> None:
    assert formatting.money(cents, currency) == expected


def test_minor_units_follow_iso_4217() -> None:
    assert formatting.minor_units("EUR") == 2
    assert formatting.minor_units("JPY") == 0
    assert formatting.minor_units("BHD") == 3
    assert formatting.minor_units("SEK") == 2


def test_moments_are_shown_in_utc_whatever_zone_they_came_in() -> None:
    cest = timezone(timedelta(hours=2))
    assert formatting.when(datetime(2030, 5, 14, 20, 30, tzinfo=cest)) == (
        "Tuesday 14 May 2030, 18:30 UTC"
    )
    assert formatting.when("2030-01-01T00:05:00") == "Tuesday 1 January 2030, 00:05 UTC"
    assert formatting.short_when(datetime(2030, 12, 24, 9, 0, tzinfo=UTC)) == "24 Dec, 09:00 UTC"


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 minute"),
        (15, "15 minutes"),
        (60, "1 hour"),
        (90, "1 hour 30 minutes"),
        (0, "0 minutes"),
    ],
)
def test_minutes_read_naturally(count: int, expected: str) -> None:
    assert formatting.minutes(count) == expected


def test_feedback_tells_the_rated_party_what_was_said_and_where_it_shows(
    templates: Templates,
) -> None:
    first = templates.email("feedback_received", values("feedback_received"))
    assert first.subject == "New positive feedback from the buyer on “A 1960s Leica M3”"
    assert "“Lovely camera, well packed”" in first.text
    assert "https://auctions.example.com/users/u-seller" in first.text
    assert "https://auctions.example.com/orders/ord-1" in first.text
    harsh = values(
        "feedback_received", comment="<b>Never</b> again", edited=True, rating="negative"
    )
    changed = templates.email("feedback_received", harsh)
    assert changed.subject == "The buyer changed their feedback on “A 1960s Leica M3”"
    assert "changed their feedback on the order to negative" in changed.text
    assert "&lt;b&gt;Never&lt;/b&gt; again" in changed.html and "<b>Never" not in changed.html
    by_seller = templates.sms("feedback_received", values("feedback_received", rater_role="seller"))
    assert by_seller.startswith('Auction Platform: the seller of "A 1960s Leica M3" left positive')


def test_the_paid_seller_is_told_how_to_deliver(templates: Templates) -> None:
    shipping = templates.email("payment_received_seller", values("payment_received_seller"))
    for part in (shipping.text, shipping.html):
        assert "Ship to" in part and "1 Hauptstraße" in part and "10115 Berlin" in part
        assert "€15.00" in part and "€195.00" in part  # the shipping is the seller's to spend
    sms = templates.sms("payment_received_seller", values("payment_received_seller"))
    assert "ship it to Bob Buyer, 1 Hauptstraße, 10115 Berlin, DE" in sms
    pickup = values(
        "payment_received_seller",
        delivery_method="pickup",
        address_lines=[],
        pickup_town="Leipzig",
        shipping_cents=0,
    )
    collected = templates.email("payment_received_seller", pickup)
    assert "collects the item in Leipzig" in collected.text
    assert "Ship to" not in collected.text and "Shipping paid" not in collected.text
    assert "collects it in Leipzig" in templates.sms("payment_received_seller", pickup)


def test_the_buyers_receipt_shows_the_shipping(templates: Templates) -> None:
    shipped = templates.email("payment_received_buyer", values("payment_received_buyer", **SHIPPED))
    assert "Shipping: €15.00" in shipped.text and "€225.00" in shipped.text
    plain = templates.email("payment_received_buyer", values("payment_received_buyer"))
    assert "Shipping" not in plain.text


def test_the_shipment_gives_the_buyer_its_tracking(templates: Templates) -> None:
    mail = templates.email("order_shipped", values("order_shipped"))
    assert mail.subject == "“A 1960s Leica M3” is on its way"
    for part in (mail.text, mail.html):
        assert "1Z999AA10123456784" in part and "UPS" in part
        assert "https://auctions.example.com/orders/ord-1" in part
    assert "tracking 1Z999AA10123456784" in templates.sms("order_shipped", values("order_shipped"))
    untracked = values("order_shipped", tracking_number=None, carrier=None)
    assert "Tracking" not in templates.email("order_shipped", untracked).text
    handed = templates.email("order_shipped", values("order_shipped", delivery_method="pickup"))
    assert "handed over" in handed.subject


def test_the_seller_hears_of_the_receipt_and_how_it_came(templates: Templates) -> None:
    confirmed = templates.email("order_received", values("order_received"))
    assert "The buyer has confirmed receiving" in confirmed.text
    automatic = templates.email("order_received", values("order_received", automatically=True))
    assert "has passed" in automatic.text and "The buyer has confirmed" not in automatic.text


@pytest.mark.parametrize("until", [None, "2030-05-18T10:00:00+00:00"])
def test_a_suspension_tells_its_reason_escaped_and_its_end(
    templates: Templates, until: str | None
) -> None:
    reason = "Selling <fakes> & more"
    email = templates.email(
        "account_suspended", values("account_suspended", reason=reason, until=until)
    )
    assert reason in email.text
    assert "Selling &lt;fakes&gt; &amp; more" in email.html
    ends = formatting.when(until) if until else None
    for text in (email.text, email.html):
        if ends:
            assert ends in text and "ends by itself" in text
        else:
            assert "until our team lifts it" in text
