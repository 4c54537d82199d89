"""The two channels (email, SMS), what a provider's refusal means, and the log channels.

A channel's ``send`` returns only once the provider has accepted the message;
anything else raises. ``DeliveryFailed`` (and any unexpected error) means "try
again later": the event is redelivered, spending its retry budget. ``ProviderDown``
is the provider out of reach as a whole (refused, timed out, answering "service not
available"): every message would fail alike, so the event waits for the provider
(``core.broker.pause``) instead of being dead-lettered by a long outage.
``Undeliverable`` means the provider refused this recipient for good (no such
mailbox, not a mobile number), where a retry can never help; the notice is dropped
with a warning instead.

The log channels are the embedded default: they log the rendered message at
INFO with the words "notification sent (log channel)", so a person running
``auction-platform up`` sees every message in the output.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from auction_platform.core.failures import Unavailable
from auction_platform.services.notification.render import RenderedEmail

log = logging.getLogger("auction_platform.notification")

LOG_PHRASE = "notification sent (log channel)"


class DeliveryFailed(Exception):
    """The provider did not accept the message now; a later attempt may succeed."""


class ProviderDown(DeliveryFailed, Unavailable):
    """The provider cannot be reached at all now; the event waits for it to return."""

    def __init__(self, message: str) -> None:
        Unavailable.__init__(self, "provider_unavailable", message, retry_after=5)


class Undeliverable(Exception):
    """The provider refused this recipient permanently; retrying cannot help."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where one message goes: an address (email) or an E.164 number (SMS), and a name."""

    address: str
    name: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What identifies one message: its kind and its dedupe key (also its Message-ID seed)."""

    kind: str
    key: str


class EmailChannel(Protocol):
    """Sends an email; returns once the provider accepted it."""

    name: str

    async def send(self, to: Recipient, email: RenderedEmail, *, about: Outgoing) -> None: ...

    async def check(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...


class SmsChannel(Protocol):
    """Sends a text message; returns once the provider accepted it."""

    name: str

    async def send(self, to: Recipient, text: str, *, about: Outgoing) -> None: ...

    async def check(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...


class LogEmail:
    """Email that goes to the log: the embedded default, and for development."""

    name = "email"

    async def send(self, to: Recipient, email: RenderedEmail, *, about: Outgoing) -> None:
        """Log the message (subject and text part) at INFO."""
        log.info(
            "%s: email to %s <%s>\nSubject: %s\n\n%s",
            LOG_PHRASE,
            to.name,
            to.address,
            email.subject,
            email.text,
            extra={"channel": "email", "notice": about.kind, "to": to.address},
        )

    async def check(self) -> dict[str, Any]:
        """Always healthy: nothing to reach."""
        return {"channel": "log"}

    async def close(self) -> None:
        """Nothing to close."""


class LogSms:
    """SMS that goes to the log: the embedded default, and for development."""

    name = "sms"

    async def send(self, to: Recipient, text: str, *, about: Outgoing) -> None:
        """Log the text at INFO."""
        log.info(
            "%s: sms to %s (%s): %s",
            LOG_PHRASE,
            to.address,
            to.name,
            text,
            extra={"channel": "sms", "notice": about.kind, "to": to.address},
        )

    async def check(self) -> dict[str, Any]:
        """Always healthy: nothing to reach."""
        return {"channel": "log"}

    async def close(self) -> None:
        """Nothing to close."""
