"""Email over SMTP (aiosmtplib): one connection per message, TLS mode from settings.

``SMTP_TLS`` is ``none`` (plain, for a local relay), ``starttls`` (upgrade on
port 587) or ``tls`` (implicit TLS, port 465). A server's 5xx answer to the
recipient is permanent (``Undeliverable``); a server out of reach (no connection, a
timeout, a dropped connection, a 421) is ``ProviderDown``, waited out; everything else
that is not an acceptance (a 4xx deferral, say) is ``DeliveryFailed`` and retried.
"""

from __future__ import annotations

import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

import aiosmtplib

from auction_platform.services.notification.channels import (
    DeliveryFailed,
    Outgoing,
    ProviderDown,
    Recipient,
    Undeliverable,
)
from auction_platform.services.notification.render import RenderedEmail

KIND_HEADER = "X-Auction-Notice"


class SmtpEmail:
    """The ``EmailChannel`` on an SMTP server."""

    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        tls: str,
        sender: str,
        username: str = "",
        password: str = "",
        timeout: float = 10.0,
        check_timeout: float = 2.0,
    ) -> None:
        if tls not in ("none", "starttls", "tls"):
            raise ValueError(f"unknown SMTP TLS mode {tls!r}; use none, starttls or tls")
        self.host, self.port, self.tls = host, port, tls
        self.sender = sender
        self._username, self._password = username, password
        self._timeout, self._check_timeout = timeout, check_timeout
        domain = parseaddr(sender)[1].rpartition("@")[2]
        self._domain = domain or "auction-platform.local"

    def message(self, to: Recipient, email: RenderedEmail, *, about: Outgoing) -> EmailMessage:
        """The MIME message: text and HTML alternatives, with a stable Message-ID."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = Address(display_name=to.name, addr_spec=to.address)
        message["Subject"] = email.subject
        message["Date"] = formatdate(usegmt=True)
        # The same notice always has the same id, so a mail system that dedupes on
        # Message-ID also drops the rare duplicate our own dedupe cannot prevent.
        digest = hashlib.sha256(about.key.encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@{self._domain}>"
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message[KIND_HEADER] = about.kind
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    async def send(self, to: Recipient, email: RenderedEmail, *, about: Outgoing) -> None:
        """Hand the message to the SMTP server; returns once it accepted it."""
        message = self.message(to, email, about=about)
        try:
            await aiosmtplib.send(message, **self._connection(self._timeout))
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = [r.code for r in refused.recipients]
            detail = "; ".join(f"{r.code} {r.message}" for r in refused.recipients)
            if codes and all(500 <= code < 600 for code in codes):
                raise Undeliverable(f"the mail server refused {to.address}: {detail}") from refused
            raise DeliveryFailed(f"the mail server deferred {to.address}: {detail}") from refused
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            detail = f"SMTP at {self.host}:{self.port}: {_describe(exc)}"
            if _server_down(exc):
                raise ProviderDown(detail) from exc
            raise DeliveryFailed(detail) from exc

    async def check(self) -> dict[str, Any]:
        """Connect, EHLO and QUIT within the check timeout."""
        client = aiosmtplib.SMTP(**self._connection(self._check_timeout))
        try:
            await client.connect()
            await client.ehlo()
            await client.quit()
        finally:
            client.close()
        return {"channel": "smtp", "host": self.host, "port": self.port, "tls": self.tls}

    async def close(self) -> None:
        """Nothing held between messages."""

    def _connection(self, timeout: float) -> dict[str, Any]:
        options: dict[str, Any] = {
            "hostname": self.host,
            "port": self.port,
            "timeout": timeout,
            "use_tls": self.tls == "tls",
            "start_tls": self.tls == "starttls",
        }
        if self._username:
            options.update(username=self._username, password=self._password)
        return options


def _server_down(exc: BaseException) -> bool:
    """True when the server is out of reach or closing (not refusing this message).

    No connection, a timeout, a dropped connection, or a 421 ("service not
    available, closing transmission channel", RFC 5321).
    """
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code == 421
    return isinstance(
        exc,
        (
            aiosmtplib.SMTPConnectError,
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPTimeoutError,
            OSError,
            TimeoutError,
        ),
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
