"""The Twilio adapter, with Twilio's real SDK pointed at a local fake of the Messages API.

The fake answers like Twilio: 201 with a message resource, or an error body
``{"code", "message", "status"}``. No test reaches Twilio itself.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from auction_platform.core.outages import dependency_down
from auction_platform.services.notification.channels import (
    DeliveryFailed,
    Outgoing,
    ProviderDown,
    Recipient,
    Undeliverable,
)
from auction_platform.services.notification.sms import TwilioSms
from support.http_server import free_port, serving

SID = "AC" + "0" * 32
TOKEN = "twilio-test-token"
ABOUT = Outgoing("outbid", "e1:outbid:ann:sms")


@dataclass
class FakeTwilio:
    """What the fake received, and the error it should answer next (if any)."""

    received: list[dict[str, Any]] = field(default_factory=list)
    answer: tuple[int, dict[str, Any]] | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/2010-04-01/Accounts/{account}/Messages.json")
        async def create(account: str, request: Request) -> JSONResponse:
            form = dict(parse_qsl((await request.body()).decode()))
            scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
            user = base64.b64decode(credentials).decode() if scheme == "Basic" else ""
            self.received.append({"account": account, "auth": user, **form})
            if self.answer is not None:
                status, body = self.answer
                return JSONResponse(body, status_code=status)
            message = {"sid": "SM" + "1" * 32, "status": "queued", "to": form["To"]}
            message.update(body=form["Body"], account_sid=account)
            return JSONResponse(message, status_code=201)

        return app


@pytest.fixture
async def twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()
    async with serving(fake.app()) as url:
        yield fake, url


def adapter(url: str, **overrides: Any) -> TwilioSms:
    options: dict[str, Any] = {
        "account_sid": SID,
        "auth_token": TOKEN,
        "sender": "+15005550006",
        "timeout": 5.0,
        "api_base": url,
    }
    options.update(overrides)
    return TwilioSms(**options)


async def test_a_text_is_handed_to_the_messages_api(twilio: tuple[FakeTwilio, str]) -> None:
    fake, url = twilio
    sms = adapter(url)
    try:
        await sms.send(Recipient("+4915112345678", "Ann"), "You've been outbid", about=ABOUT)
    finally:
        await sms.close()
    [request] = fake.received
    assert request["account"] == SID
    assert request["auth"] == f"{SID}:{TOKEN}"
    assert request["To"] == "+4915112345678"
    assert request["From"] == "+15005550006"
    assert request["Body"] == "You've been outbid"


async def test_a_messaging_service_can_be_the_sender(twilio: tuple[FakeTwilio, str]) -> None:
    fake, url = twilio
    sms = adapter(url, sender="MG" + "2" * 32)
    try:
        await sms.send(Recipient("+4915112345678", "Ann"), "Hello", about=ABOUT)
    finally:
        await sms.close()
    [request] = fake.received
    assert request["MessagingServiceSid"] == "MG" + "2" * 32
    assert "From" not in request


async def test_a_number_twilio_calls_invalid_is_undeliverable(
    twilio: tuple[FakeTwilio, str],
) -> None:
    fake, url = twilio
    fake.answer = (400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})
    sms = adapter(url)
    try:
        with pytest.raises(Undeliverable, match="21211"):
            await sms.send(Recipient("+10000000", "Ann"), "Hello", about=ABOUT)
    finally:
        await sms.close()


@pytest.mark.parametrize(
    ("answer", "down"),
    [
        ((500, {"code": 20500, "message": "Internal Server Error", "status": 500}), True),
        ((503, {"code": 20503, "message": "Service Unavailable", "status": 503}), True),
        ((429, {"code": 20429, "message": "Too Many Requests", "status": 429}), True),
        ((401, {"code": 20003, "message": "Authenticate", "status": 401}), False),
    ],
)
async def test_other_refusals_are_retried_and_an_outage_is_waited_out(
    twilio: tuple[FakeTwilio, str], answer: tuple[int, dict[str, Any]], down: bool
) -> None:
    fake, url = twilio
    fake.answer = answer
    sms = adapter(url)
    try:
        with pytest.raises(DeliveryFailed, match=str(answer[0])) as failure:
            await sms.send(Recipient("+4915112345678", "Ann"), "Hello", about=ABOUT)
    finally:
        await sms.close()
    assert isinstance(failure.value, ProviderDown) is down
    assert dependency_down(failure.value) is down


async def test_twilio_out_of_reach_is_an_outage() -> None:
    sms = adapter(f"http://127.0.0.1:{free_port()}", timeout=2.0)
    try:
        with pytest.raises(ProviderDown, match="unreachable") as failure:
            await sms.send(Recipient("+4915112345678", "Ann"), "Hello", about=ABOUT)
    finally:
        await sms.close()
    assert dependency_down(failure.value)


async def test_the_check_says_whether_twilio_is_configured() -> None:
    configured = adapter("http://127.0.0.1:9")
    assert (await configured.check())["channel"] == "twilio"
    unconfigured = adapter("http://127.0.0.1:9", auth_token="")
    with pytest.raises(RuntimeError, match="TWILIO_AUTH_TOKEN"):
        await unconfigured.check()
    with pytest.raises(DeliveryFailed, match="not configured") as failure:
        await unconfigured.send(Recipient("+4915112345678", "Ann"), "Hello", about=ABOUT)
    assert not dependency_down(failure.value)  # a configuration error is not waited out
    await configured.close()
    await unconfigured.close()
