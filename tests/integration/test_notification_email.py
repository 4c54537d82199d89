"""Each consumer sends the right notice to the right people, through a real SMTP server.

Contacts come from the real identity service of the platform. Every test runs
embedded (SQLite, in-process broker) and distributed (PostgreSQL, Redis).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from auction_platform.composition import Platform
from auction_platform.contracts import auctions, payments
from auction_platform.contracts.events import Envelope
from auction_platform.services.identity import handlers as identity_handlers
from auction_platform.services.identity.domain import CreateAdmin
from auction_platform.services.notification.channels import LOG_PHRASE
from auction_platform.settings import Settings
from support.accounts import PASSWORD, Account, sign_up
from support.auctions import admin_token, create, seller
from support.platforms import client, running
from support.smtp import SmtpServer, smtp_server
from support.waiting import eventually

MakeSettings = Callable[..., Settings]
SERVICES = ("identity", "notification")
DUE = "2030-05-18T10:00:00+00:00"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def platform(make_settings: MakeSettings, smtp: SmtpServer) -> AsyncIterator[Platform]:
    """Identity and notification, sending email to the test's SMTP server."""
    async with running(make_settings(**smtp.settings()), SERVICES, embedded=True) as started:
        yield started


@pytest.fixture
async def identity(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with client(platform.apps["identity"]) as http:
        yield http


async def publish(platform: Platform, producer: str, event_type: str, data: Any) -> Envelope:
    assert platform.broker is not None
    event = Envelope(type=event_type, producer=producer, data=dict(data))
    await platform.broker.publish([event])
    return event


def handled(platform: Platform, consumer: str) -> float:
    sample = platform.metrics.registry.get_sample_value(
        "events_consumed_total",
        {"service": "notification", "consumer": consumer, "outcome": "handled"},
    )
    return sample or 0.0


def order(buyer: Account, seller: Account, **overrides: Any) -> payments.OrderData:
    data: payments.OrderData = {
        "order_id": "ord-1",
        "auction_id": "auc-1",
        "title": "A 1960s Leica M3",
        "buyer_id": buyer.id,
        "seller_id": seller.id,
        "currency": "EUR",
        "hammer_cents": 20_000,
        "buyers_premium_cents": 1_000,
        "seller_fee_cents": 2_000,
        "total_cents": 21_000,
        "due_at": DUE,
        "second_chance": False,
        "format": "english",
    }
    return {**data, **overrides}  # type: ignore[typeddict-item]


async def test_a_new_account_is_welcomed(smtp: SmtpServer, identity: httpx.AsyncClient) -> None:
    ann = await sign_up(identity, name="Ann")
    [mail] = await smtp.wait_for(ann.email, "welcome")
    assert mail.subject == "Welcome to Auction Platform, Ann"
    assert "Hi Ann," in mail.text
    assert "http://127.0.0.1:8080/auctions" in mail.text
    assert "<!DOCTYPE html>" in mail.html
    assert mail.message["From"] == "Auction Platform <no-reply@auction-platform.local>"


async def test_the_former_leader_hears_of_the_higher_bid(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    ann = await sign_up(identity, name="Ann")
    outbid: auctions.OutbidData = {
        "auction_id": "auc-1",
        "user_id": ann.id,
        "price_cents": 123_450,
        "currency": "EUR",
        "ends_at": "2030-05-14T18:30:00+00:00",
    }
    await publish(platform, "bidding", auctions.OUTBID, outbid)
    [mail] = await smtp.wait_for(ann.email, "outbid")
    assert mail.subject == "You've been outbid"
    assert "€1,234.50" in mail.text
    assert "Tuesday 14 May 2030, 18:30 UTC" in mail.text
    assert "http://127.0.0.1:8080/auctions/auc-1" in mail.html


async def test_ending_soon_reaches_every_watcher_and_bidder_once(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    ann, bob = await sign_up(identity, name="Ann"), await sign_up(identity, name="Bob")
    data: auctions.AuctionEndingSoonData = {
        "auction_id": "auc-1",
        "title": "A 1960s Leica M3",
        "ends_at": "2030-05-14T18:30:00+00:00",
        "minutes_left": 15,
        "recipient_ids": [ann.id, bob.id, ann.id],
    }
    await publish(platform, "auction", auctions.AUCTION_ENDING_SOON, data)
    for person in (ann, bob):
        [mail] = await smtp.wait_for(person.email, "ending_soon")
        assert mail.subject == "Ending in 15 minutes: “A 1960s Leica M3”"
    await until(lambda: handled(platform, "ending_soon") == 1)
    assert len(smtp.of_kind("ending_soon")) == 2


async def test_a_sale_tells_the_winner_and_the_seller(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    sam, bob = await sign_up(identity, name="Sam"), await sign_up(identity, name="Bob")
    await publish(platform, "bidding", auctions.AUCTION_CLOSED, closed(sam, winner=bob))
    [won] = await smtp.wait_for(bob.email, "won")
    [sold] = await smtp.wait_for(sam.email, "sold")
    assert won.subject == "You won “A 1960s Leica M3”"
    assert "winning bid of ¥15,500" in won.text
    assert sold.subject == "Sold: “A 1960s Leica M3” for ¥15,500"
    assert "after 3 bids" in sold.text
    assert smtp.to(bob.email, "sold") == [] and smtp.to(sam.email, "won") == []


async def test_no_sale_tells_only_the_seller_why(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    sam = await sign_up(identity, name="Sam")
    data = closed(sam, winner=None, reserve_met=False)
    await publish(platform, "bidding", auctions.AUCTION_CLOSED, data)
    [mail] = await smtp.wait_for(sam.email, "not_sold")
    assert mail.subject == "“A 1960s Leica M3” ended without a sale"
    assert "did not reach your reserve price" in mail.text
    assert smtp.of_kind("won") == []


async def test_the_bidders_who_did_not_win_hear_who_did(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    sam, ann, bob = [await sign_up(identity, name=n) for n in ("Sam", "Ann", "Bob")]
    data = {**closed(sam, winner=bob), "bidder_ids": [ann.id, bob.id, ann.id]}
    await publish(platform, "bidding", auctions.AUCTION_CLOSED, data)
    [lost] = await smtp.wait_for(ann.email, "lost")
    assert lost.subject == "You did not win “A 1960s Leica M3”"
    assert "Another bidder won it for ¥15,500." in lost.text
    assert "http://127.0.0.1:8080/auctions/auc-1" in lost.html
    await smtp.wait_for(bob.email, "won")
    await until(lambda: handled(platform, "auction_closed") == 1)
    assert smtp.to(bob.email, "lost") == [] and smtp.to(sam.email, "lost") == []


async def test_a_missed_reserve_tells_the_top_bidder_the_seller_and_the_others(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    sam, ann, bob = [await sign_up(identity, name=n) for n in ("Sam", "Ann", "Bob")]
    data = {
        **closed(sam, winner=None, reserve_met=False),
        "leader_id": bob.id,
        "bidder_ids": [ann.id, bob.id],
    }
    await publish(platform, "bidding", auctions.AUCTION_CLOSED, data)
    [top] = await smtp.wait_for(bob.email, "reserve_not_met")
    assert top.subject == "“A 1960s Leica M3” ended below the reserve price"
    assert "Yours was the highest bid, at €155.00," in top.text
    [mine] = await smtp.wait_for(sam.email, "not_sold")
    assert "did not reach your reserve price" in mine.text
    [lost] = await smtp.wait_for(ann.email, "lost")
    assert "did not reach the seller's reserve price" in lost.text
    await until(lambda: handled(platform, "auction_closed") == 1)
    assert smtp.to(bob.email, "lost") == [] and smtp.of_kind("won") == []


async def test_a_declined_payment_tells_the_buyer_to_try_again(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    sam, bob = await sign_up(identity, name="Sam"), await sign_up(identity, name="Bob")
    failed = {**order(bob, sam), "reason": "Your card has insufficient funds."}
    await publish(platform, "payment", payments.PAYMENT_FAILED, failed)
    [mail] = await smtp.wait_for(bob.email, "payment_failed")
    assert mail.subject == "Your payment for “A 1960s Leica M3” did not go through"
    assert "The payment provider said: Your card has insufficient funds." in mail.text
    assert "until Saturday 18 May 2030, 10:00 UTC" in mail.text
    assert "http://127.0.0.1:8080/orders/ord-1" in mail.text
    await until(lambda: handled(platform, "payment_failed") == 1)
    assert smtp.to(sam.email, "payment_failed") == []


async def test_a_refund_tells_the_buyer_and_the_seller(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    sam, bob = await sign_up(identity, name="Sam"), await sign_up(identity, name="Bob")
    refund = {**order(bob, sam), "refunded_cents": 21_000}
    await publish(platform, "payment", payments.ORDER_REFUNDED, refund)
    [buyer] = await smtp.wait_for(bob.email, "refunded_buyer")
    [news] = await smtp.wait_for(sam.email, "refunded_seller")
    assert buyer.subject == "Refund for “A 1960s Leica M3”: €210.00"
    assert "http://127.0.0.1:8080/orders/ord-1" in buyer.html
    assert news.subject == "The sale of “A 1960s Leica M3” was refunded"
    assert "its proceeds (€180.00) are no" in news.text


async def test_feedback_reaches_the_rated_party_only(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    sam, bob = await sign_up(identity, name="Sam"), await sign_up(identity, name="Bob")
    left: payments.FeedbackData = {
        "order_id": "ord-1",
        "auction_id": "auc-1",
        "title": "A 1960s Leica M3",
        "rater_id": bob.id,
        "rater_role": "buyer",
        "ratee_id": sam.id,
        "rating": "positive",
        "comment": "Well packed, as described",
        "edited": False,
        "left_at": DUE,
    }
    await publish(platform, "payment", payments.FEEDBACK_LEFT, left)
    [mail] = await smtp.wait_for(sam.email, "feedback_received")
    assert mail.subject == "New positive feedback from the buyer on “A 1960s Leica M3”"
    assert "“Well packed, as described”" in mail.text
    assert f"http://127.0.0.1:8080/users/{sam.id}" in mail.text
    await until(lambda: handled(platform, "feedback") == 1)
    assert smtp.to(bob.email, "feedback_received") == []


async def test_an_account_registered_as_an_admin_is_welcomed_as_one(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    root = await sign_up(identity, name="Root")
    [bidder] = await smtp.wait_for(root.email, "welcome")
    assert "Ask for the seller role" in bidder.text
    # What UserRegistered says of an account registered with every role.
    roles = ["bidder", "seller", "admin"]
    data = {"user_id": root.id, "display_name": "Root", "roles": roles}
    await publish(platform, "identity", "UserRegistered", data)
    admin = (await smtp.wait_for(root.email, "welcome", count=2))[1]
    assert "seller role" not in admin.text and "seller role" not in admin.html
    assert "Your administrator account is ready." in admin.text
    assert "http://127.0.0.1:8080/admin" in admin.text


async def test_create_admin_does_not_invite_the_admin_to_ask_for_the_seller_role(
    platform: Platform, smtp: SmtpServer
) -> None:
    admin, _ = await identity_handlers.create_admin(
        CreateAdmin("root@example.com", PASSWORD, "Root"),
        ctx=platform.runtimes["identity"].context,
    )
    [mail] = await smtp.wait_for(admin.email, "welcome")
    assert "seller role" not in mail.text
    assert "http://127.0.0.1:8080/admin" in mail.text


async def test_payment_due_and_its_reminder_go_to_the_buyer(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    sam, bob = await sign_up(identity, name="Sam"), await sign_up(identity, name="Bob")
    await publish(platform, "payment", payments.ORDER_CREATED, order(bob, sam))
    reminder = {**order(bob, sam), "hours_after": 24}
    await publish(platform, "payment", payments.PAYMENT_REMINDER, reminder)
    [due] = await smtp.wait_for(bob.email, "payment_due")
    [again] = await smtp.wait_for(bob.email, "payment_reminder")
    assert due.subject == "Payment due for “A 1960s Leica M3”: €210.00"
    assert "Buyer's premium: €10.00" in due.text
    assert "Saturday 18 May 2030, 10:00 UTC" in due.text
    assert "http://127.0.0.1:8080/orders/ord-1" in due.text
    assert again.subject == "Reminder: payment for “A 1960s Leica M3” is due 18 May, 10:00 UTC"
    assert smtp.to(sam.email, "payment_due") == []


async def test_a_payment_is_confirmed_to_the_buyer_and_announced_to_the_seller(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    sam, bob = await sign_up(identity, name="Sam"), await sign_up(identity, name="Bob")
    await publish(platform, "payment", payments.ORDER_PAID, order(bob, sam))
    [receipt] = await smtp.wait_for(bob.email, "payment_received_buyer")
    [news] = await smtp.wait_for(sam.email, "payment_received_seller")
    assert "received your payment of €210.00" in receipt.text
    assert "Your proceeds: €180.00" in news.text
    assert "Seller fee: -€20.00" in news.text


async def test_delivery_news_reaches_the_seller_then_the_buyer_then_the_seller(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    sam, bob = await sign_up(identity, name="Sam"), await sign_up(identity, name="Bob")
    address: payments.DeliveryAddressData = {
        "name": "Bob Buyer",
        "line1": "1 Hauptstraße",
        "line2": "",
        "city": "Berlin",
        "region": "",
        "postal_code": "10115",
        "country": "DE",
        "phone": "",
    }
    delivery = {
        "shipping_cents": 1_500,
        "total_cents": 22_500,
        "delivery_method": "shipping",
        "delivery_address": address,
        "pickup_town": None,
        "tracking_number": None,
        "carrier": None,
        "shipped_at": None,
    }
    await publish(platform, "payment", payments.ORDER_PAID, order(bob, sam, **delivery))
    [news] = await smtp.wait_for(sam.email, "payment_received_seller")
    assert "Ship to:\n  Bob Buyer\n  1 Hauptstraße\n  10115 Berlin\n  DE" in news.text
    assert "Your proceeds: €195.00" in news.text  # the price less the fee, and the shipping
    [receipt] = await smtp.wait_for(bob.email, "payment_received_buyer")
    assert "Shipping: €15.00" in receipt.text and "Total paid: €225.00" in receipt.text

    tracked = {**delivery, "tracking_number": "1Z999AA10123456784", "carrier": "UPS"}
    shipped = {**order(bob, sam, **tracked), "shipped_at": DUE}
    await publish(platform, "payment", payments.ORDER_SHIPPED, shipped)
    [sent] = await smtp.wait_for(bob.email, "order_shipped")
    assert sent.subject == "“A 1960s Leica M3” is on its way"
    assert "Tracking number: 1Z999AA10123456784" in sent.text and "Carrier: UPS" in sent.text
    received = {**shipped, "received_at": DUE, "automatically": False}
    await publish(platform, "payment", payments.ORDER_RECEIVED, received)
    [got] = await smtp.wait_for(sam.email, "order_received")
    assert got.subject == "“A 1960s Leica M3” was received"
    await until(lambda: handled(platform, "delivery") == 2)
    assert smtp.to(sam.email, "order_shipped") == [] and smtp.to(bob.email, "order_received") == []


async def test_the_runner_up_gets_a_second_chance(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    sam, ann = await sign_up(identity, name="Sam"), await sign_up(identity, name="Ann")
    offer: payments.SecondChanceOfferData = {
        "offer_id": "off-1",
        "auction_id": "auc-1",
        "title": "A 1960s Leica M3",
        "user_id": ann.id,
        "seller_id": sam.id,
        "price_cents": 1_234,
        "currency": "KWD",
        "due_at": DUE,
    }
    await publish(platform, "payment", payments.SECOND_CHANCE_OFFERED, offer)
    [mail] = await smtp.wait_for(ann.email, "second_chance")
    assert "at your highest bid: KWD 1.234" in mail.text
    assert "http://127.0.0.1:8080/offers/off-1" in mail.text


@pytest.mark.parametrize(("by", "seller_told"), [("admin", True), ("seller", False)])
async def test_a_cancellation_tells_the_bidders_and_the_seller_if_an_admin_cancelled(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient, by: str, seller_told: bool
) -> None:
    sam, ann, bob = [await sign_up(identity, name=n) for n in ("Sam", "Ann", "Bob")]
    data: auctions.AuctionCancelledData = {
        "auction_id": "auc-1",
        "title": "A 1960s Leica M3",
        "seller_id": sam.id,
        "by": by,
        "bids_voided": True,
        "bidder_ids": [ann.id, bob.id],
    }
    await publish(platform, "auction", auctions.AUCTION_CANCELLED, data)
    for bidder in (ann, bob):
        [mail] = await smtp.wait_for(bidder.email, "auction_cancelled")
        assert "your bids on it have been voided" in mail.text.lower()
    await until(lambda: handled(platform, "auction_cancelled") == 1)
    assert len(smtp.to(sam.email, "auction_cancelled_seller")) == (1 if seller_told else 0)


async def test_an_opt_out_is_respected_on_that_channel_only(
    platform: Platform, smtp: SmtpServer, identity: httpx.AsyncClient
) -> None:
    ann, bob = await sign_up(identity, name="Ann"), await sign_up(identity, name="Bob")
    await smtp.wait_for(ann.email, "welcome")
    changed = await identity.patch(
        "/api/v1/users/me/preferences", json={"email": {"outbid": False}}, headers=ann.headers
    )
    assert changed.status_code == 200, changed.text
    # What a "contact changed" event from identity would do; the welcome mail cached it.
    platform.runtimes["notification"].context.contacts.forget(ann.id)
    for person in (ann, bob):
        data = {**outbid_of(person), "price_cents": 5_000}
        await publish(platform, "bidding", auctions.OUTBID, data)
    await publish(platform, "payment", payments.ORDER_CREATED, order(ann, bob))
    await smtp.wait_for(bob.email, "outbid")
    await smtp.wait_for(ann.email, "payment_due")
    await until(lambda: handled(platform, "outbid") == 2)
    assert smtp.to(ann.email, "outbid") == []


async def test_the_log_channel_prints_each_message(
    make_settings: MakeSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="auction_platform.notification")
    async with (
        running(make_settings(), SERVICES, embedded=True) as platform,
        client(platform.apps["identity"]) as identity,
    ):
        registered = await identity.post(
            "/api/v1/auth/register",
            json={
                "email": "cleo@example.com",
                "password": "correct-Horse-battery-42",
                "display_name": "Cleo",
                "phone": "+4915112345678",
            },
        )
        assert registered.status_code == 201, registered.text
        user_id = registered.json()["user"]["id"]
        await publish(platform, "bidding", auctions.OUTBID, {**outbid_of(user_id)})

        def logged(fragment: str) -> bool:
            return any(
                LOG_PHRASE in r.getMessage() and fragment in r.getMessage() for r in caplog.records
            )

        await until(lambda: logged("Subject: Welcome to Auction Platform, Cleo"))
        await until(lambda: logged("sms to +4915112345678 (Cleo): Auction Platform"))
        await until(lambda: logged("email to Cleo <cleo@example.com>\nSubject: You"))


async def test_health_shows_the_providers_and_an_smtp_outage_only_degrades(
    platform: Platform, smtp: SmtpServer
) -> None:
    async with client(platform.apps["notification"]) as http:
        healthy = (await http.get("/health/detail")).json()
        checks = {c["name"]: c for c in healthy["checks"]}
        assert checks["email"]["status"] == "Healthy"
        assert checks["email"]["data"]["channel"] == "smtp"
        assert checks["sms"]["data"]["channel"] == "log"
        assert checks["rabbitmq"]["data"]["critical"] is True
        smtp.stop()
        degraded = await http.get("/health/detail")
        assert degraded.status_code == 200
        assert degraded.json()["status"] == "Degraded"
        ready = await http.get("/health/ready")
        assert ready.status_code == 200


async def test_real_bids_and_a_real_close_notify_the_outbid_the_winner_and_the_seller(
    make_settings: MakeSettings, smtp: SmtpServer
) -> None:
    every = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")
    async with (
        running(make_settings(**smtp.settings()), every, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        sam = await seller(http)
        ann, bob = await sign_up(http, name="Ann"), await sign_up(http, name="Bob")
        start = datetime.now(UTC) + timedelta(seconds=1)
        listed = await create(
            http,
            sam,
            publish=True,
            reserve_cents=None,
            buy_now_cents=None,
            start_cents=1000,
            soft_close=None,
            starts_at=start.isoformat(),
            ends_at=(start + timedelta(seconds=3)).isoformat(),
        )

        async def bid(who: Account, cents: int) -> bool:
            response = await http.post(
                f"/api/v1/auctions/{listed['id']}/bids",
                json={"max_amount": cents},
                headers=who.headers,
            )
            return response.status_code == 201

        await eventually(lambda: bid(ann, 1500))
        assert await bid(bob, 2000)
        [outbid] = await smtp.wait_for(ann.email, "outbid")
        assert "The current price is €15.50" in outbid.text
        [won] = await smtp.wait_for(bob.email, "won", timeout=15)
        [sold] = await smtp.wait_for(sam.email, "sold")
        assert "€15.50" in won.text and "€15.50" in sold.subject
        assert platform.runtimes["notification"].broker is not None


async def test_a_real_close_below_the_reserve_tells_the_seller_why(
    make_settings: MakeSettings, smtp: SmtpServer
) -> None:
    sam, _, _ = await close_below_the_reserve(make_settings, smtp)
    [mine] = await smtp.wait_for(sam.email, "not_sold", timeout=15)
    assert "The highest bid, €15.50, did not reach your reserve price" in " ".join(
        mine.text.split()
    )


async def test_a_real_close_below_the_reserve_tells_the_top_bidder_and_the_loser(
    make_settings: MakeSettings, smtp: SmtpServer
) -> None:
    _, ann, bob = await close_below_the_reserve(make_settings, smtp)
    [top] = await smtp.wait_for(bob.email, "reserve_not_met", timeout=15)
    assert "Yours was the highest bid, at €15.50," in top.text
    await smtp.wait_for(ann.email, "lost")


async def close_below_the_reserve(
    make_settings: MakeSettings, smtp: SmtpServer
) -> tuple[Account, Account, Account]:
    """Ann bids, Bob bids more, the lot closes below its reserve: seller, loser, top bidder."""
    every = ("identity", "auction", "bidding", "payment", "notification", "gateway")
    async with (
        running(make_settings(**smtp.settings()), every, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        sam = await seller(http)
        ann, bob = await sign_up(http, name="Ann"), await sign_up(http, name="Bob")
        start = datetime.now(UTC) + timedelta(seconds=1)
        listed = await create(
            http,
            sam,
            publish=True,
            reserve_cents=50_000,
            buy_now_cents=None,
            start_cents=1000,
            soft_close=None,
            starts_at=start.isoformat(),
            ends_at=(start + timedelta(seconds=8)).isoformat(),
        )

        async def bid(who: Account, cents: int) -> bool:
            response = await http.post(
                f"/api/v1/auctions/{listed['id']}/bids",
                json={"max_amount": cents},
                headers=who.headers,
            )
            return response.status_code == 201

        await eventually(lambda: bid(ann, 1500))
        assert await bid(bob, 2000)
        # Every notice of the close is sent before the platform stops.
        await until(lambda: handled(platform, "auction_closed") == 1, timeout=30)
    return sam, ann, bob


async def test_a_declined_card_then_a_refund_reach_the_buyer_and_the_seller(
    make_settings: MakeSettings, smtp: SmtpServer
) -> None:
    every = ("identity", "auction", "bidding", "payment", "notification", "gateway")
    async with (
        running(make_settings(**smtp.settings()), every, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        sam = await seller(http)
        bob = await sign_up(http, name="Bob")
        start = datetime.now(UTC) + timedelta(seconds=1)
        listed = await create(
            http,
            sam,
            publish=True,
            reserve_cents=None,
            buy_now_cents=5_000,
            start_cents=1000,
            soft_close=None,
            starts_at=start.isoformat(),
            ends_at=(start + timedelta(hours=1)).isoformat(),
        )

        async def bought() -> bool:
            response = await http.post(
                f"/api/v1/auctions/{listed['id']}/buy-now", headers=bob.headers
            )
            return response.status_code in (200, 201)

        await eventually(bought)

        async def ordered() -> str:
            found = (await http.get("/api/v1/orders", headers=bob.headers)).json()
            return str(found["items"][0]["id"]) if found["items"] else ""

        order_id = await eventually(ordered, timeout=15)
        pay = f"/api/v1/orders/{order_id}/pay"
        # Refused (how it answers is the payment service's): the attempt is an event.
        await http.post(pay, json={"card": "4000000000000002"}, headers=bob.headers)
        [failed] = await smtp.wait_for(bob.email, "payment_failed")
        assert "The payment provider said: Your card was declined." in failed.text
        paid = await http.post(pay, json={"card": "4242424242424242"}, headers=bob.headers)
        assert paid.status_code == 200, paid.text
        admin = await admin_token(http, platform)
        refunded = await http.post(f"/api/v1/orders/{order_id}/refund", headers=admin)
        assert refunded.status_code == 200, refunded.text
        [buyer] = await smtp.wait_for(bob.email, "refunded_buyer")
        [news] = await smtp.wait_for(sam.email, "refunded_seller")
        assert "€52.50 goes back" in buyer.text  # the price and the 5% buyer's premium
        assert f"http://127.0.0.1:8080/orders/{order_id}" in news.text


def outbid_of(person: Account | str) -> dict[str, Any]:
    user_id = person if isinstance(person, str) else person.id
    return {
        "auction_id": "auc-1",
        "user_id": user_id,
        "price_cents": 1_000,
        "currency": "EUR",
        "ends_at": "2030-05-14T18:30:00+00:00",
    }


def closed(
    seller: Account, *, winner: Account | None, reserve_met: bool = True
) -> auctions.AuctionClosedData:
    return {
        "auction_id": "auc-1",
        "seller_id": seller.id,
        "title": "A 1960s Leica M3",
        "winner_id": winner.id if winner else None,
        "price_cents": 15_500,
        "currency": "JPY" if winner else "EUR",
        "sold": winner is not None,
        "reserve_met": reserve_met,
        "runner_up_id": None,
        "runner_up_max_cents": None,
        "bid_count": 3,
        "by_buy_now": False,
        "closed_at": "2030-05-14T18:30:00+00:00",
    }


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def probe() -> bool:
        return condition()

    await eventually(probe, timeout=timeout)
