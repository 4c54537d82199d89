"""The SMTP channel against a real SMTP server, and the sent log shared on real Redis.

Replicas that share the platform cache (Redis) dedupe across processes: the
same event handled by two notifiers at once sends one mail.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiosmtplib
import httpx
import pytest

from auction_platform.contracts.events import Envelope
from auction_platform.core.cache import build_cache
from auction_platform.core.cache.base import Cache
from auction_platform.core.outages import dependency_down
from auction_platform.services.notification.channels import (
    DeliveryFailed,
    Outgoing,
    ProviderDown,
    Recipient,
    Undeliverable,
)
from auction_platform.services.notification.dedupe import CacheSentLog
from auction_platform.services.notification.dispatch import Notifier
from auction_platform.services.notification.mail import SmtpEmail
from auction_platform.services.notification.notices import Notice
from auction_platform.services.notification.ports import HttpContacts
from auction_platform.services.notification.render import RenderedEmail, Templates
from auction_platform.services.notification.sms import TwilioSms
from support.servers import unique_name
from support.smtp import SmtpServer, smtp_server
from support.waiting import PATIENCE

SENDER = "Auction Platform <no-reply@auctions.example.com>"
EMAIL = RenderedEmail("You've been outbid", "Hi Ann,\n\nText part.\n", "<p>HTML part</p>")
ANN = Recipient("ann@example.com", "Ann Example")
ABOUT = Outgoing("outbid", "event-1:outbid:ann:email")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def channel(smtp: SmtpServer, **overrides: Any) -> SmtpEmail:
    options: dict[str, Any] = {"host": smtp.host, "port": smtp.port, "tls": "none"}
    options.update(sender=SENDER, timeout=5.0, check_timeout=1.0)
    options.update(overrides)
    return SmtpEmail(**options)


async def test_a_mail_has_a_text_and_an_html_part_and_a_stable_message_id(
    smtp: SmtpServer,
) -> None:
    email = channel(smtp)
    await email.send(ANN, EMAIL, about=ABOUT)
    await email.send(ANN, EMAIL, about=ABOUT)
    first, second = smtp.to(ANN.address)
    assert first.sender == "no-reply@auctions.example.com"
    assert first.message["To"] == "Ann Example <ann@example.com>"
    assert first.subject == "You've been outbid"
    assert first.kind == "outbid"
    assert first.message["Auto-Submitted"] == "auto-generated"
    assert first.message.get_content_type() == "multipart/alternative"
    assert first.text == "Hi Ann,\n\nText part.\n"
    assert first.html.strip() == "<p>HTML part</p>"
    assert str(first.message["Message-ID"]).endswith("@auctions.example.com>")
    assert first.message["Message-ID"] == second.message["Message-ID"]


async def test_a_temporary_refusal_is_retried_and_a_permanent_one_is_not(
    smtp: SmtpServer,
) -> None:
    email = channel(smtp)
    smtp.refuse(ANN.address, code=451)
    with pytest.raises(DeliveryFailed, match="451") as deferred:
        await email.send(ANN, EMAIL, about=ABOUT)
    assert not dependency_down(deferred.value)  # this message's own failure: its budget
    smtp.refuse(ANN.address, code=550)
    with pytest.raises(Undeliverable, match="550"):
        await email.send(ANN, EMAIL, about=ABOUT)
    await email.send(ANN, EMAIL, about=ABOUT)
    assert len(smtp.to(ANN.address)) == 1


async def test_no_server_is_an_outage_and_an_unhealthy_check(smtp: SmtpServer) -> None:
    email = channel(smtp)
    assert await email.check() == {
        "channel": "smtp",
        "host": "127.0.0.1",
        "port": smtp.port,
        "tls": "none",
    }
    smtp.stop()
    with pytest.raises(ProviderDown, match=f"SMTP at 127.0.0.1:{smtp.port}") as down:
        await email.send(ANN, EMAIL, about=ABOUT)
    assert dependency_down(down.value)  # the queue pauses; the retry budget is kept
    with pytest.raises(aiosmtplib.SMTPConnectError):  # what the health check reports
        await email.check()


def test_an_unknown_tls_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="TLS mode"):
        SmtpEmail(host="localhost", port=25, tls="ssl", sender=SENDER)


@pytest.fixture
async def redis_cache(redis_url: str) -> AsyncIterator[Cache]:
    cache = build_cache(redis_url, prefix=unique_name("c") + ":")
    await cache.start()
    yield cache
    await cache.close()


def replica(smtp: SmtpServer, cache: Cache, http: httpx.AsyncClient) -> Notifier:
    """A notifier as another process would build it: its own everything but Redis."""

    async def headers() -> dict[str, str]:
        return {}

    return Notifier(
        templates=Templates(public_url="https://auctions.example.com"),
        contacts=HttpContacts(lambda: http, auth_headers=headers),
        email=channel(smtp),
        sms=TwilioSms(account_sid="", auth_token="", sender=""),
        sent_log=CacheSentLog(cache, lease=5.0, poll_interval=0.02),
    )


def contact(request: httpx.Request) -> httpx.Response:
    user_id = request.url.path.split("/")[-2]
    preferences = {"email": {"outbid": True}, "sms": {"outbid": False}}
    return httpx.Response(
        200,
        json={
            "user_id": user_id,
            "email": f"{user_id}@example.com",
            "phone": None,
            "display_name": user_id.title(),
            "preferences": preferences,
        },
    )


async def test_replicas_sharing_redis_send_a_doubly_delivered_event_once(
    smtp: SmtpServer, redis_cache: Cache
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(contact), base_url="http://identity"
    ) as http:
        one, two = replica(smtp, redis_cache, http), replica(smtp, redis_cache, http)
        event = Envelope(type="Outbid", producer="bidding", data={})
        values = {
            "auction_id": "auc-1",
            "title": "Leica",
            "price_cents": 1_000,
            "currency": "EUR",
            "ends_at": "2030-05-14T18:30:00+00:00",
        }
        notices = [Notice("outbid", "outbid", user, values) for user in ("ann", "bob", "cleo")]
        # The outbox published the event twice; two replicas took a copy each.
        await asyncio.gather(one.notify(event, notices), two.notify(event, notices))
        await one.notify(event, notices)  # and a late redelivery
        for notifier in (one, two):
            await notifier.close()
    for user in ("ann", "bob", "cleo"):
        assert len(smtp.to(f"{user}@example.com", "outbid")) == 1


async def test_a_replica_that_failed_lets_another_send_at_once(
    smtp: SmtpServer, redis_cache: Cache
) -> None:
    log_one = CacheSentLog(redis_cache, lease=30.0)
    log_two = CacheSentLog(redis_cache, lease=30.0)
    claim = await log_one.claim("event-9:outbid:ann:email")
    assert claim is not None
    await claim.release()  # the provider failed on replica one
    other = await asyncio.wait_for(log_two.claim("event-9:outbid:ann:email"), PATIENCE)
    assert other is not None
    await other.sent()
    assert await log_one.claim("event-9:outbid:ann:email") is None
