"""The notifier: preferences and addresses decide the channels; failures retry only what failed.

Identity is a fake of the ``Contacts`` port (``test_notification_ports`` tries the
HTTP adapter); the channels record what they were given (and fail when told to).
"""

from __future__ import annotations

from typing import Any

import pytest

from auction_platform.contracts.events import Envelope
from auction_platform.core.outages import dependency_down
from auction_platform.services.notification.channels import (
    DeliveryFailed,
    Outgoing,
    ProviderDown,
    Recipient,
    Undeliverable,
)
from auction_platform.services.notification.dedupe import MemorySentLog
from auction_platform.services.notification.dispatch import (
    NotificationDeferred,
    NotificationFailed,
    Notifier,
    Outcome,
)
from auction_platform.services.notification.notices import Notice
from auction_platform.services.notification.ports import Contact, ContactUnavailable
from auction_platform.services.notification.render import RenderedEmail, Templates

OUTBID = {"auction_id": "auc-1", "title": "Leica", "price_cents": 1_000, "currency": "EUR"}
VALUES = {**OUTBID, "ends_at": "2030-05-14T18:30:00+00:00"}


class Recorder:
    """A channel that keeps what it accepts and refuses whom it is told to."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[tuple[str, str]] = []
        self.failing: dict[str, Exception] = {}

    async def send(self, to: Recipient, message: RenderedEmail | str, *, about: Outgoing) -> None:
        failure = self.failing.get(to.address)
        if failure is not None:
            raise failure
        self.sent.append((to.address, about.kind))

    async def check(self) -> dict[str, Any]:
        return {"channel": "recorder"}

    async def close(self) -> None:
        pass


class Identity:
    """The contact book: people by id, who was asked for, and a switch to make it fail."""

    def __init__(self) -> None:
        self.people: dict[str, Contact] = {}
        self.asked: list[str] = []
        self.broken = False

    def add(self, user_id: str, *, phone: str | None = None, **preferences: Any) -> None:
        self.people[user_id] = Contact(
            user_id=user_id,
            display_name=user_id.title(),
            email=f"{user_id}@example.com",
            phone=phone,
            preferences=preferences or {"email": {"outbid": True}, "sms": {"outbid": True}},
        )

    async def get(self, user_id: str) -> Contact | None:
        self.asked.append(user_id)
        if self.broken:
            raise ContactUnavailable("identity answered 503")
        return self.people.get(user_id)


@pytest.fixture
def identity() -> Identity:
    return Identity()


@pytest.fixture
def notifier(identity: Identity) -> Notifier:
    return Notifier(
        templates=Templates(public_url="https://auctions.example.com"),
        contacts=identity,
        email=Recorder("email"),
        sms=Recorder("sms"),
        sent_log=MemorySentLog(),
    )


def outbid(*users: str) -> tuple[Envelope, list[Notice]]:
    event = Envelope(type="Outbid", producer="bidding", data={})
    return event, [Notice("outbid", "outbid", user, VALUES) for user in users]


def recorder(notifier: Notifier, channel: str) -> Recorder:
    kept = notifier.email if channel == "email" else notifier.sms
    assert isinstance(kept, Recorder)
    return kept


def sent(notifier: Notifier, channel: str) -> list[tuple[str, str]]:
    return recorder(notifier, channel).sent


async def test_each_allowed_channel_with_an_address_gets_the_notice(
    notifier: Notifier, identity: Identity
) -> None:
    identity.add("ann", phone="+4915112345678")
    identity.add("bob")  # no phone
    report = await notifier.notify(*outbid("ann", "bob"))
    assert sent(notifier, "email") == [("ann@example.com", "outbid"), ("bob@example.com", "outbid")]
    assert sent(notifier, "sms") == [("+4915112345678", "outbid")]
    assert sorted(report.outcomes) == sorted(
        [Outcome.SENT, Outcome.SENT, Outcome.SENT, Outcome.NO_ADDRESS]
    )


async def test_an_opt_out_stops_that_channel_only(notifier: Notifier, identity: Identity) -> None:
    identity.add("ann", phone="+4915112345678", email={"outbid": False}, sms={"outbid": True})
    report = await notifier.notify(*outbid("ann"))
    assert sent(notifier, "email") == []
    assert sent(notifier, "sms") == [("+4915112345678", "outbid")]
    assert Outcome.OPTED_OUT in report.outcomes


async def test_a_notice_the_preferences_do_not_name_goes_by_email_not_sms(
    notifier: Notifier, identity: Identity
) -> None:
    identity.add("ann", phone="+4915112345678", email={}, sms={})
    await notifier.notify(*outbid("ann"))
    assert sent(notifier, "email") == [("ann@example.com", "outbid")]
    assert sent(notifier, "sms") == []


async def test_an_unknown_user_is_skipped(notifier: Notifier, identity: Identity) -> None:
    report = await notifier.notify(*outbid("ghost"))
    assert report.outcomes == [Outcome.UNKNOWN_USER]


async def test_a_failed_provider_fails_the_event_after_trying_everyone(
    notifier: Notifier, identity: Identity
) -> None:
    identity.add("ann")
    identity.add("bob")
    email = recorder(notifier, "email")
    email.failing["ann@example.com"] = DeliveryFailed("451 try again later")
    event, found = outbid("ann", "bob")
    with pytest.raises(NotificationFailed, match="1 of 2") as failure:
        await notifier.notify(event, found)
    assert not dependency_down(failure.value)  # this event's own failure: its retry budget
    assert email.sent == [("bob@example.com", "outbid")]
    del email.failing["ann@example.com"]
    report = await notifier.notify(event, found)  # the redelivery
    assert email.sent == [("bob@example.com", "outbid"), ("ann@example.com", "outbid")]
    assert Outcome.DUPLICATE in report.outcomes and report.outcomes.count(Outcome.SENT) == 1


async def test_a_permanently_refused_address_is_not_retried(
    notifier: Notifier, identity: Identity
) -> None:
    identity.add("ann")
    email = notifier.email
    assert isinstance(email, Recorder)
    email.failing["ann@example.com"] = Undeliverable("550 no such mailbox")
    event, found = outbid("ann")
    first = await notifier.notify(event, found)
    assert Outcome.UNDELIVERABLE in first.outcomes
    again = await notifier.notify(event, found)
    assert Outcome.DUPLICATE in again.outcomes and again.repeated


async def test_identity_out_of_reach_defers_the_event(
    notifier: Notifier, identity: Identity
) -> None:
    identity.add("ann")
    identity.broken = True
    with pytest.raises(NotificationDeferred, match="identity answered 503") as failure:
        await notifier.notify(*outbid("ann"))
    assert dependency_down(failure.value)  # the queue pauses; the retry budget is kept


async def test_a_provider_down_defers_the_event_even_beside_another_failure(
    notifier: Notifier, identity: Identity
) -> None:
    identity.add("ann")
    identity.add("bob")
    email = recorder(notifier, "email")
    email.failing["ann@example.com"] = DeliveryFailed("451 try again later")
    email.failing["bob@example.com"] = ProviderDown("SMTP at mail:25: connection refused")
    with pytest.raises(NotificationDeferred, match=r"2 of 2.*connection refused") as failure:
        await notifier.notify(*outbid("ann", "bob"))
    assert dependency_down(failure.value)
    del email.failing["bob@example.com"]  # the server is back: Ann's own failure remains
    with pytest.raises(NotificationFailed, match="1 of 2") as own:
        await notifier.notify(*outbid("ann", "bob"))
    assert not dependency_down(own.value)
