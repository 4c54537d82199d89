"""A suspended member is told by mail, through a real SMTP server: the reason, the end
(or that it lasts until lifted), and then that it was lifted.

The suspension is an admin's, through identity's API; notification reads the
member's address from identity. Both run embedded and distributed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from auction_platform.composition import Platform
from auction_platform.settings import Settings
from support.accounts import sign_up
from support.auctions import admin_token
from support.platforms import client, running
from support.smtp import SmtpServer, smtp_server

MakeSettings = Callable[..., Settings]
SERVICES = ("identity", "notification")
REASON = "Repeated non-payment of won lots (orders 118, 131)."


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def platform(make_settings: MakeSettings, smtp: SmtpServer) -> AsyncIterator[Platform]:
    async with running(make_settings(**smtp.settings()), SERVICES, embedded=True) as started:
        yield started


@pytest.fixture
async def identity(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with client(platform.apps["identity"]) as http:
        yield http


async def test_the_suspended_member_gets_the_reason_and_the_end_then_the_reinstatement(
    smtp: SmtpServer, platform: Platform, identity: httpx.AsyncClient
) -> None:
    ann = await sign_up(identity, name="Ann")
    root = await admin_token(identity, platform)
    until = (datetime.now(UTC) + timedelta(days=7)).replace(
        hour=18, minute=30, second=0, microsecond=0
    )
    done = await identity.post(
        f"/api/v1/users/{ann.id}/suspension",
        json={"reason": REASON, "until": until.isoformat()},
        headers=root,
    )
    assert done.status_code == 201, done.text

    [mail] = await smtp.wait_for(ann.email, "account_suspended")
    assert mail.subject == "Your Auction Platform account has been suspended"
    day = f"{until.day} {until:%B} {until.year}, 18:30 UTC"
    for part in (mail.text, mail.html):
        assert REASON in part
        assert day in part
    assert "ends by itself at that time" in mail.text

    lifted = await identity.delete(f"/api/v1/users/{ann.id}/suspension", headers=root)
    assert lifted.status_code == 204, lifted.text
    [back] = await smtp.wait_for(ann.email, "account_reinstated")
    assert "lifted the suspension" in back.text
    assert len(smtp.to(ann.email, "account_suspended")) == 1


async def test_a_suspension_without_an_end_says_it_lasts_until_lifted(
    smtp: SmtpServer, platform: Platform, identity: httpx.AsyncClient
) -> None:
    bob = await sign_up(identity, name="Bob")
    root = await admin_token(identity, platform)
    done = await identity.post(
        f"/api/v1/users/{bob.id}/suspension", json={"reason": REASON}, headers=root
    )
    assert done.status_code == 201, done.text

    [mail] = await smtp.wait_for(bob.email, "account_suspended")
    assert REASON in mail.text
    assert "lasts until our team lifts it" in mail.text
    assert "Our team has suspended your account.\n" in mail.text
