"""A real SMTP server for tests (aiosmtpd on a free loopback port), collecting mail.

The server runs in its own thread. It can be stopped and started again on the
same port (an outage), and told to refuse a recipient a number of times, with
a temporary (4xx) or permanent (5xx) answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from support.http_server import free_port
from support.waiting import PATIENCE


@dataclass(frozen=True)
class Mail:
    """One received message."""

    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        """The decoded subject."""
        return str(self.message["Subject"])

    @property
    def kind(self) -> str:
        """The kind of notice (the ``X-Auction-Notice`` header)."""
        return str(self.message["X-Auction-Notice"])

    @property
    def text(self) -> str:
        """The plain-text part (line endings as written, not as sent)."""
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, "no text part"
        return str(part.get_content()).replace("\r\n", "\n")

    @property
    def html(self) -> str:
        """The HTML part (line endings as written, not as sent)."""
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None, "no HTML part"
        return str(part.get_content()).replace("\r\n", "\n")


@dataclass
class _Refusal:
    code: int
    times: int


@dataclass
class _Handler:
    """aiosmtpd's handler: answers RCPT (maybe refusing) and keeps each message."""

    mails: list[Mail] = field(default_factory=list)
    refusals: dict[str, _Refusal] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        with self.lock:
            refusal = self.refusals.get(address.lower())
            if refusal is not None and refusal.times > 0:
                refusal.times -= 1
                if refusal.code >= 500:
                    return f"{refusal.code} 5.1.1 <{address}>: no such mailbox"
                return f"{refusal.code} 4.2.0 <{address}>: try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        mail = Mail(str(envelope.mail_from), tuple(envelope.rcpt_tos), parsed)
        with self.lock:
            self.mails.append(mail)
        return "250 Message accepted for delivery"


class SmtpServer:
    """An SMTP server on 127.0.0.1 that keeps what it receives."""

    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._handler = _Handler()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        """Whether the server accepts connections now."""
        return self._controller is not None

    def start(self) -> None:
        """Listen (again) on the same port."""
        if self._controller is None:
            controller = Controller(self._handler, hostname=self.host, port=self.port)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start``."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def settings(self) -> dict[str, Any]:
        """The settings overrides that send email here."""
        return {
            "email_channel": "smtp",
            "smtp_host": self.host,
            "smtp_port": self.port,
            "smtp_tls": "none",
        }

    def refuse(self, address: str, *, code: int = 451, times: int = 1) -> None:
        """Refuse ``address`` at RCPT the next ``times`` times (4xx: later; 5xx: never)."""
        with self._handler.lock:
            self._handler.refusals[address.lower()] = _Refusal(code, times)

    @property
    def mails(self) -> list[Mail]:
        """Everything received so far, in order."""
        with self._handler.lock:
            return list(self._handler.mails)

    def to(self, address: str, kind: str | None = None) -> list[Mail]:
        """Mail received for ``address`` (optionally of one kind of notice)."""
        wanted = address.lower()
        return [
            mail
            for mail in self.mails
            if wanted in (r.lower() for r in mail.recipients)
            and (kind is None or mail.kind == kind)
        ]

    def of_kind(self, kind: str) -> list[Mail]:
        """Mail of one kind of notice, to anyone."""
        return [mail for mail in self.mails if mail.kind == kind]

    async def wait_for(
        self, address: str, kind: str | None = None, *, count: int = 1, timeout: float = PATIENCE
    ) -> list[Mail]:
        """Wait until ``count`` mails (of ``kind``) reached ``address``; they are returned."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.to(address, kind)
            if len(found) >= count:
                return found
            if loop.time() > deadline:
                got = [(m.recipients, m.kind) for m in self.mails]
                raise AssertionError(f"{count} {kind or 'mail'} for {address} not received: {got}")
            await asyncio.sleep(0.05)


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """A started SMTP server, stopped afterwards."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
