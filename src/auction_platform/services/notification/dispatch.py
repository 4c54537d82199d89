"""Sending an event's notices: each recipient, each channel they allow, exactly once.

For every notice the recipient's contact is looked up; for email, then SMS, the
notice goes out when the user allows it on that channel and has an address
there. Each (event, notice, recipient, channel) is claimed in the sent log,
rendered, handed to the provider, and recorded only once the provider accepted
it. A provider failure releases the claim and, once every other recipient of
the event has been tried, fails the event: the broker redelivers it (the ones
already sent are skipped) and dead-letters it after its retry limit. When a
provider or identity is down (``ProviderDown``, ``ContactUnavailable``) the event
fails as ``NotificationDeferred``, an outage: the queue pauses and the event waits
for the dependency without spending its retry limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from prometheus_client import Counter

from auction_platform.contracts.events import Envelope
from auction_platform.core.failures import Unavailable
from auction_platform.core.outages import dependency_down
from auction_platform.services.notification.channels import (
    EmailChannel,
    Outgoing,
    Recipient,
    SmsChannel,
    Undeliverable,
)
from auction_platform.services.notification.dedupe import SentLog
from auction_platform.services.notification.notices import Notice
from auction_platform.services.notification.ports import Channel, Contact, Contacts
from auction_platform.services.notification.render import Templates

log = logging.getLogger("auction_platform.notification")

CHANNELS = (Channel.EMAIL, Channel.SMS)  # in this order
FAN_OUT = 8  # recipients of one event served at once


class Outcome(StrEnum):
    """What became of one notice on one channel."""

    SENT = "sent"
    DUPLICATE = "duplicate"  # sent by an earlier delivery of the event
    OPTED_OUT = "opted_out"
    NO_ADDRESS = "no_address"
    UNKNOWN_USER = "unknown_user"
    UNDELIVERABLE = "undeliverable"
    FAILED = "failed"


class NotificationFailed(Exception):
    """Some notices of an event were not accepted by their provider; retry the event."""


class NotificationDeferred(NotificationFailed, Unavailable):
    """Some notices failed because a provider or identity is down: the event waits.

    The broker keeps it without spending its retry budget (``core.broker.pause``);
    once the dependency is back, a notice that still fails on its own account
    spends the budget as usual.
    """

    def __init__(self, message: str) -> None:
        Unavailable.__init__(self, "notification_deferred", message, retry_after=5)


@dataclass
class Report:
    """The outcomes of one event's notices."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def repeated(self) -> bool:
        """True when an earlier delivery of the event had sent everything: nothing went out."""
        return Outcome.DUPLICATE in self.outcomes and Outcome.SENT not in self.outcomes


class Notifier:
    """Sends notices on the channels their recipients allow."""

    def __init__(
        self,
        *,
        templates: Templates,
        contacts: Contacts,
        email: EmailChannel,
        sms: SmsChannel,
        sent_log: SentLog,
        counter: Counter | None = None,
        fan_out: int = FAN_OUT,
    ) -> None:
        self.templates = templates
        self.contacts = contacts
        self.email = email
        self.sms = sms
        self.sent_log = sent_log
        self._counter = counter
        self._fan_out = fan_out

    async def notify(self, event: Envelope, notices: Sequence[Notice]) -> Report:
        """Send every notice of ``event``; raises ``NotificationFailed`` if any failed."""
        report = Report()
        gate = asyncio.Semaphore(self._fan_out)

        async def one(notice: Notice) -> list[Outcome]:
            async with gate:
                return await self._notice(event, notice)

        results = await asyncio.gather(*(one(n) for n in notices), return_exceptions=True)
        errors: list[BaseException] = []
        for notice, result in zip(notices, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                errors.append(result)
                log.warning(
                    "consumer could not notify %s of %s (%s): %s",
                    notice.user_id,
                    notice.kind,
                    event.id,
                    result,
                )
                report.outcomes.append(Outcome.FAILED)
            else:
                report.outcomes.extend(result)
        if errors:
            down = [error for error in errors if dependency_down(error)]
            summary = f"{len(errors)} of {len(notices)} notice(s) of event {event.id} not delivered"
            if down:
                raise NotificationDeferred(f"{summary}: {down[0]}") from down[0]
            raise NotificationFailed(summary) from errors[0]
        return report

    async def _notice(self, event: Envelope, notice: Notice) -> list[Outcome]:
        contact = await self.contacts.get(notice.user_id)
        if contact is None:
            log.warning("no such user %s for %s of event %s", notice.user_id, notice.kind, event.id)
            return [self._count("none", notice, Outcome.UNKNOWN_USER)]
        outcomes: list[Outcome] = []
        failure: Exception | None = None
        for channel in CHANNELS:
            try:
                outcomes.append(await self._on(channel, event, notice, contact))
            except Exception as exc:  # the other channel still gets its turn
                self._count(channel, notice, Outcome.FAILED)
                failure = failure or exc
        if failure is not None:
            raise failure
        return outcomes

    async def _on(
        self, channel: Channel, event: Envelope, notice: Notice, contact: Contact
    ) -> Outcome:
        if not contact.wants(channel, notice.preference):
            return self._count(channel, notice, Outcome.OPTED_OUT)
        address = contact.address(channel)
        if address is None:
            return self._count(channel, notice, Outcome.NO_ADDRESS)
        key = f"{event.id}:{notice.kind}:{notice.user_id}:{channel}"
        claim = await self.sent_log.claim(key)
        if claim is None:
            return self._count(channel, notice, Outcome.DUPLICATE)
        values = {**notice.values, "display_name": contact.display_name}
        to = Recipient(address, contact.display_name)
        about = Outgoing(notice.kind, key)
        try:
            if channel is Channel.EMAIL:
                await self.email.send(to, self.templates.email(notice.kind, values), about=about)
            else:
                await self.sms.send(to, self.templates.sms(notice.kind, values), about=about)
        except Undeliverable as exc:
            # Recorded like a sent one: a redelivery would be refused the same way.
            await claim.sent()
            log.warning("%s of event %s is undeliverable: %s", notice.kind, event.id, exc)
            return self._count(channel, notice, Outcome.UNDELIVERABLE)
        except BaseException:
            await asyncio.shield(claim.release())
            raise
        await claim.sent()
        return self._count(channel, notice, Outcome.SENT)

    def _count(self, channel: str, notice: Notice, outcome: Outcome) -> Outcome:
        if self._counter is not None:
            self._counter.labels(channel, notice.kind, outcome.value).inc()
        return outcome

    async def close(self) -> None:
        """Close the channels' providers."""
        await self.email.close()
        await self.sms.close()
