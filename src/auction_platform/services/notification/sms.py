"""SMS through Twilio's SDK; its blocking client runs in a worker thread.

``TWILIO_FROM`` is a sender number in E.164 form, or a Messaging Service SID
(``MG...``). Twilio's answers that name the recipient as the problem (not a
valid or not a mobile number, unsubscribed with STOP, region not enabled) are
permanent (``Undeliverable``); Twilio out of reach or answering 5xx or 429 is
``ProviderDown``, waited out; every other failure is ``DeliveryFailed`` and
retried. ``api_base`` points the SDK at another host (a sandbox or a test
fake) through its documented custom-HTTP-client hook.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from twilio.base.exceptions import TwilioRestException  # type: ignore[import-untyped]
from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from auction_platform.services.notification.channels import (
    DeliveryFailed,
    Outgoing,
    ProviderDown,
    Recipient,
    Undeliverable,
)

# Twilio error codes that mean "this recipient cannot get this message, ever".
# https://www.twilio.com/docs/api/errors
RECIPIENT_ERRORS = frozenset({21211, 21214, 21217, 21408, 21610, 21612, 21614})

_SDK_LOGGER = "auction_platform.notification.twilio_http"


class _HttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Twilio's own HTTP client, sending to ``api_base`` instead of Twilio's hosts."""

    def __init__(self, *, api_base: str | None, timeout: float) -> None:
        quiet = logging.getLogger(_SDK_LOGGER)
        # The SDK logs every request and response at INFO; one line per SMS is ours.
        quiet.setLevel(logging.WARNING)
        super().__init__(pool_connections=True, timeout=timeout, logger=quiet)
        self._base = api_base.rstrip("/") if api_base else None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if self._base is not None:
            parts = urlsplit(url)
            url = self._base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, url, *args, **kwargs)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


class TwilioSms:
    """The ``SmsChannel`` on Twilio's Messages API."""

    name = "sms"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        timeout: float = 10.0,
        api_base: str | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.sender = sender
        self._configured = bool(account_sid and auth_token and sender)
        self._timeout = timeout
        self._http = _HttpClient(api_base=api_base, timeout=timeout)
        self._client = Client(account_sid or "-", auth_token or "-", http_client=self._http)

    async def send(self, to: Recipient, text: str, *, about: Outgoing) -> None:
        """Hand the text to Twilio; returns once Twilio accepted (queued) it."""
        if not self._configured:
            raise DeliveryFailed(
                "Twilio is not configured (TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM)"
            )
        try:
            # The thread may outlive the wait; the SDK's own timeout bounds it too.
            async with asyncio.timeout(self._timeout * 2):
                await asyncio.to_thread(self._create, to.address, text)
        except TwilioRestException as exc:
            detail = f"Twilio answered {exc.status} (error {exc.code}): {exc.msg}"
            if exc.code in RECIPIENT_ERRORS:
                raise Undeliverable(f"cannot text {to.address}: {detail}") from exc
            if exc.status == 429 or exc.status >= 500:
                raise ProviderDown(detail) from exc
            raise DeliveryFailed(detail) from exc
        except Exception as exc:
            raise ProviderDown(f"Twilio unreachable: {type(exc).__name__}: {exc}") from exc

    def _create(self, to: str, text: str) -> None:
        sender: dict[str, str] = (
            {"messaging_service_sid": self.sender}
            if self.sender.startswith("MG")
            else {"from_": self.sender}
        )
        self._client.messages.create(to=to, body=text, **sender)

    async def check(self) -> dict[str, Any]:
        """Healthy when configured (the check does not spend an API call)."""
        if not self._configured:
            raise RuntimeError("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM are needed")
        return {"channel": "twilio", "account": self.account_sid[:6] + "…", "from": self.sender}

    async def close(self) -> None:
        """Close the SDK's pooled HTTP session."""
        await asyncio.to_thread(self._http.close)
