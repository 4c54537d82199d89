"""Delivery on real RabbitMQ: shared queues, waiting out an SMTP outage, dead letters, dedupe.

The platform is identity and notification on PostgreSQL, Redis and RabbitMQ,
sending to a real SMTP server that a test can stop and start again.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from auction_platform.composition import Platform
from auction_platform.contracts import auctions
from auction_platform.contracts.events import Envelope
from auction_platform.settings import Settings
from support.accounts import Account, sign_up
from support.http_server import serving
from support.platforms import client, distributed_settings, running
from support.smtp import SmtpServer, smtp_server
from support.tcp_proxy import TcpProxy
from support.waiting import eventually

pytestmark = pytest.mark.rabbitmq

MakeSettings = Callable[..., Settings]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def make_settings(
    postgres_url: str, redis_url: str, rabbitmq_url: str, smtp: SmtpServer
) -> MakeSettings:
    """Real servers, this process's exchange and queues, email to the test's SMTP server."""

    def make(**overrides: Any) -> Settings:
        return distributed_settings(
            postgres_url=postgres_url,
            redis_url=redis_url,
            rabbitmq_url=rabbitmq_url,
            **{**smtp.settings(), **overrides},
        )

    return make


@contextlib.asynccontextmanager
async def notification_platform(
    settings: Settings, services: tuple[str, ...] = ("identity", "notification")
) -> AsyncIterator[Platform]:
    """A started platform on this process's queues (emptied before the next test)."""
    async with running(settings, services, embedded=True) as platform:
        yield platform


async def people(platform: Platform, smtp: SmtpServer, *names: str) -> list[Account]:
    """New accounts, once their welcome mail has arrived (so it cannot mix with a test's)."""
    async with client(platform.apps["identity"]) as identity:
        accounts = [await sign_up(identity, name=name) for name in names]
    for account in accounts:
        await smtp.wait_for(account.email, "welcome", timeout=20)
    return accounts


def outbid(person: Account, price_cents: int = 1_000) -> Envelope:
    data: auctions.OutbidData = {
        "auction_id": "auc-1",
        "user_id": person.id,
        "price_cents": price_cents,
        "currency": "EUR",
        "ends_at": "2030-05-14T18:30:00+00:00",
    }
    return Envelope(type=auctions.OUTBID, producer="bidding", data=dict(data))


def consumed(platform: Platform, consumer: str, outcome: str) -> float:
    sample = platform.metrics.registry.get_sample_value(
        "events_consumed_total",
        {"service": "notification", "consumer": consumer, "outcome": outcome},
    )
    return sample or 0.0


async def until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    async def probe() -> bool:
        return bool(condition())

    await eventually(probe, timeout=timeout)


def message_ids(smtp: SmtpServer, kind: str) -> Counter[str]:
    return Counter(str(mail.message["Message-ID"]) for mail in smtp.of_kind(kind))


async def test_two_replicas_share_the_queues_and_send_each_mail_once(
    make_settings: MakeSettings, smtp: SmtpServer
) -> None:
    settings = make_settings()
    async with (
        notification_platform(settings) as first,
        serving(first.apps["identity"]) as identity_url,
    ):
        second_settings = settings.model_copy(update={"identity_url": identity_url})
        async with notification_platform(second_settings, ("notification",)) as second:
            folks = await people(first, smtp, "Ann", "Bob", "Cleo", "Dan")
            events = [outbid(p, 1_000 + i) for i in range(10) for p in folks]
            assert first.broker is not None
            await first.broker.publish(events)
            for person in folks:
                await smtp.wait_for(person.email, "outbid", count=10, timeout=30)

            def total() -> float:
                return consumed(first, "outbid", "handled") + consumed(second, "outbid", "handled")

            await until(lambda: total() == len(events))
    ids = message_ids(smtp, "outbid")
    assert len(ids) == len(events) and set(ids.values()) == {1}
    assert consumed(first, "outbid", "handled") > 0
    assert consumed(second, "outbid", "handled") > 0


async def test_an_smtp_outage_longer_than_the_retry_budget_loses_no_mail(
    make_settings: MakeSettings, smtp: SmtpServer
) -> None:
    settings = make_settings(
        broker_max_retries=2, broker_outage_backoff=0.05, broker_outage_backoff_max=0.2
    )
    async with notification_platform(settings) as platform:
        folks = await people(platform, smtp, "Ann", "Bob", "Cleo")
        smtp.stop()
        assert platform.broker is not None
        await platform.broker.publish([outbid(p) for p in folks])
        # Far more tries than the budget of three: the queue waits for the server.
        await until(lambda: consumed(platform, "outbid", "unavailable") >= 4 * len(folks))
        assert consumed(platform, "outbid", "failed") == 0
        assert await platform.broker.take_dead_letters("notification.outbid") == []
        assert smtp.of_kind("outbid") == []
        smtp.start()
        for person in folks:
            await smtp.wait_for(person.email, "outbid", timeout=20)
        await until(lambda: consumed(platform, "outbid", "handled") == len(folks))
        assert await platform.broker.take_dead_letters("notification.outbid") == []
    assert set(message_ids(smtp, "outbid").values()) == {1}


async def test_a_lasting_failure_ends_in_the_dead_letter_queue_and_can_be_replayed(
    make_settings: MakeSettings, smtp: SmtpServer
) -> None:
    settings = make_settings(broker_max_retries=2, broker_retry_delay=0.05)
    async with notification_platform(settings) as platform:
        [ann] = await people(platform, smtp, "Ann")
        smtp.refuse(ann.email, code=451, times=3)  # deferred, every try of the budget
        broker = platform.broker
        assert broker is not None
        event = outbid(ann)
        await broker.publish([event])
        dead: list[Envelope] = []

        async def dead_lettered() -> bool:
            dead.extend(await broker.take_dead_letters("notification.outbid"))
            return bool(dead)

        await eventually(dead_lettered, timeout=20)
        assert [d.id for d in dead] == [event.id]
        assert consumed(platform, "outbid", "failed") == 3  # the first try and two retries
        await broker.publish(dead)  # what an operator's replay does
        [mail] = await smtp.wait_for(ann.email, "outbid")
        assert "€10.00" in mail.text


async def test_a_redelivered_event_does_not_repeat_its_mail(
    make_settings: MakeSettings, smtp: SmtpServer
) -> None:
    async with notification_platform(make_settings()) as platform:
        [ann] = await people(platform, smtp, "Ann")
        event = outbid(ann)
        assert platform.broker is not None
        await platform.broker.publish([event])
        await smtp.wait_for(ann.email, "outbid")
        await platform.broker.publish([event])  # the outbox published it again
        await until(lambda: consumed(platform, "outbid", "duplicate") == 1)
        assert len(smtp.to(ann.email, "outbid")) == 1


async def test_a_retried_event_sends_only_what_the_first_attempt_did_not(
    make_settings: MakeSettings, smtp: SmtpServer
) -> None:
    settings = make_settings(broker_retry_delay=0.05)
    async with notification_platform(settings) as platform:
        sam, ann, bob = await people(platform, smtp, "Sam", "Ann", "Bob")
        smtp.refuse(bob.email, code=451, times=2)  # "try again later", twice
        data: auctions.AuctionCancelledData = {
            "auction_id": "auc-1",
            "title": "A 1960s Leica M3",
            "seller_id": sam.id,
            "by": "admin",
            "bids_voided": True,
            "bidder_ids": [ann.id, bob.id],
        }
        event = Envelope(type=auctions.AUCTION_CANCELLED, producer="auction", data=dict(data))
        assert platform.broker is not None
        await platform.broker.publish([event])
        await smtp.wait_for(bob.email, "auction_cancelled", timeout=15)
        await until(lambda: consumed(platform, "auction_cancelled", "handled") == 1)
        assert consumed(platform, "auction_cancelled", "failed") == 2
        assert len(smtp.to(ann.email, "auction_cancelled")) == 1
        assert len(smtp.to(sam.email, "auction_cancelled_seller")) == 1


async def test_a_mailbox_refused_for_good_does_not_hold_back_the_event(
    make_settings: MakeSettings, smtp: SmtpServer
) -> None:
    async with notification_platform(make_settings()) as platform:
        ann, bob = await people(platform, smtp, "Ann", "Bob")
        smtp.refuse(bob.email, code=550, times=100)
        assert platform.broker is not None
        await platform.broker.publish([outbid(ann), outbid(bob)])
        await smtp.wait_for(ann.email, "outbid")
        await until(lambda: consumed(platform, "outbid", "handled") == 2)
        assert consumed(platform, "outbid", "failed") == 0
        assert smtp.to(bob.email, "outbid") == []
        assert await platform.broker.take_dead_letters("notification.outbid") == []
        undeliverable = platform.metrics.registry.get_sample_value(
            "notifications_total",
            {"channel": "email", "kind": "outbid", "outcome": "undeliverable"},
        )
        assert undeliverable == 1


async def test_identity_out_of_reach_delays_notices_without_losing_them(
    make_settings: MakeSettings, smtp: SmtpServer
) -> None:
    settings = make_settings(
        broker_max_retries=1, broker_outage_backoff=0.05, broker_outage_backoff_max=0.2
    )
    async with (
        notification_platform(settings, ("identity",)) as accounts,
        serving(accounts.apps["identity"]) as identity_url,
    ):
        proxy = TcpProxy("127.0.0.1", int(identity_url.rsplit(":", 1)[1]))
        await proxy.start()
        alone = settings.model_copy(update={"identity_url": f"http://127.0.0.1:{proxy.port}"})
        async with notification_platform(alone, ("notification",)) as notification:
            await proxy.cut()
            async with client(accounts.apps["identity"]) as identity:
                ann = await sign_up(identity, name="Ann")
            # Far more tries than the budget of two: the queue waits for identity.
            await until(lambda: consumed(notification, "account", "unavailable") >= 5)
            assert consumed(notification, "account", "failed") == 0
            assert smtp.mails == []
            await proxy.start()
            [mail] = await smtp.wait_for(ann.email, "welcome", timeout=15)
            assert mail.subject == "Welcome to Auction Platform, Ann"
            broker = notification.broker
            assert broker is not None
            assert await broker.take_dead_letters("notification.account") == []
        await proxy.cut()
