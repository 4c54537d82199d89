"""Identity's contact API behind the ``Contacts`` port: asked with a service token, cached.

Identity is an ``httpx.MockTransport`` answering ``GET /api/v1/users/{id}/contact``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from auction_platform.core.outages import dependency_down
from auction_platform.services.notification.ports import (
    CONTACT_TTL_SECONDS,
    Channel,
    Contact,
    ContactLookupFailed,
    ContactUnavailable,
    HttpContacts,
)


class Identity:
    """The contact API: people by id, and how many times each was asked for."""

    def __init__(self) -> None:
        self.people: dict[str, dict[str, Any]] = {}
        self.asked: list[str] = []
        self.broken = False
        self.status = 503  # what a broken identity answers

    def add(self, user_id: str, *, phone: str | None = None, **preferences: Any) -> None:
        self.people[user_id] = {
            "user_id": user_id,
            "email": f"{user_id}@example.com",
            "phone": phone,
            "display_name": user_id.title(),
            "preferences": preferences or {"email": {"outbid": True}, "sms": {"outbid": True}},
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer service-token"
        user_id = request.url.path.split("/")[-2]
        self.asked.append(user_id)
        if self.broken:
            return httpx.Response(self.status, json={"error": {"code": "broken"}})
        person = self.people.get(user_id)
        return httpx.Response(200, json=person) if person else httpx.Response(404)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def identity() -> Identity:
    return Identity()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def contacts(identity: Identity, clock: Clock) -> AsyncIterator[HttpContacts]:
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(identity.handle), base_url="http://identity"
    )

    async def headers() -> dict[str, str]:
        return {"Authorization": "Bearer service-token"}

    yield HttpContacts(lambda: http, auth_headers=headers, ttl=60.0, max_entries=2, clock=clock)
    await http.aclose()


async def test_a_contact_carries_addresses_and_preferences(
    contacts: HttpContacts, identity: Identity
) -> None:
    identity.add("ann", phone="+4915112345678", email={"outbid": False}, sms={"outbid": True})
    ann = await contacts.get("ann")
    assert ann is not None
    assert (ann.display_name, ann.address(Channel.EMAIL), ann.address(Channel.SMS)) == (
        "Ann",
        "ann@example.com",
        "+4915112345678",
    )
    assert not ann.wants(Channel.EMAIL, "outbid")
    assert ann.wants(Channel.SMS, "outbid")


async def test_a_notice_the_preferences_do_not_name_goes_by_email_not_sms(
    contacts: HttpContacts, identity: Identity
) -> None:
    identity.add("ann", phone="+4915112345678", email={}, sms={})
    ann = await contacts.get("ann")
    assert ann is not None
    assert ann.wants(Channel.EMAIL, "won") and not ann.wants(Channel.SMS, "won")


async def test_an_unknown_user_has_no_contact(contacts: HttpContacts) -> None:
    assert await contacts.get("ghost") is None


@pytest.mark.parametrize(
    ("status", "error"),
    [(status, ContactUnavailable) for status in (429, 502, 503, 504)]
    + [(status, ContactLookupFailed) for status in (400, 401, 500)],
)
async def test_identity_down_is_an_outage_and_another_error_a_failed_lookup(
    contacts: HttpContacts, identity: Identity, status: int, error: type[Exception]
) -> None:
    identity.add("ann")
    identity.broken, identity.status = True, status
    with pytest.raises(error, match=str(status)) as failure:
        await contacts.get("ann")
    # An outage: the event waits, its retry budget kept; else the budget is spent.
    assert dependency_down(failure.value) is (error is ContactUnavailable)


async def test_a_transport_failure_is_contact_unavailable(clock: Clock) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async def headers() -> dict[str, str]:
        return {}

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(refuse), base_url="http://identity"
    ) as http:
        contacts = HttpContacts(lambda: http, auth_headers=headers, clock=clock)
        with pytest.raises(ContactUnavailable, match="unreachable") as failure:
            await contacts.get("ann")
        assert dependency_down(failure.value)


async def test_contacts_are_asked_for_once_within_their_ttl(
    contacts: HttpContacts, identity: Identity, clock: Clock
) -> None:
    identity.add("ann")
    await contacts.get("ann")
    await contacts.get("ann")
    assert identity.asked == ["ann"]
    contacts.forget("ann")
    await contacts.get("ann")
    assert identity.asked == ["ann", "ann"]
    clock.now += 61
    await contacts.get("ann")
    assert identity.asked == ["ann", "ann", "ann"]


async def test_a_closed_account_is_reached_by_no_one_within_a_minute(
    identity: Identity, clock: Clock
) -> None:
    # Decision: no UserErased consumer here; identity answers 404 for a closed account
    # and the cache keeps an answer at most a minute, so that is the longest a notice
    # can still go to the old address.
    async def headers() -> dict[str, str]:
        return {"Authorization": "Bearer service-token"}

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(identity.handle), base_url="http://identity"
    ) as http:
        contacts = HttpContacts(lambda: http, auth_headers=headers, clock=clock)
        identity.add("ann")
        assert await contacts.get("ann") is not None
        del identity.people["ann"]  # closed: identity's contact answers 404
        assert CONTACT_TTL_SECONDS <= 60
        clock.now += CONTACT_TTL_SECONDS + 0.001
        assert await contacts.get("ann") is None


async def test_the_least_recently_used_contact_is_dropped_first(
    contacts: HttpContacts, identity: Identity
) -> None:
    for user in ("ann", "bob", "cid"):
        identity.add(user)
    await contacts.get("ann")
    await contacts.get("bob")
    await contacts.get("ann")  # bob is now the least recently used
    await contacts.get("cid")
    await contacts.get("ann")
    await contacts.get("bob")
    assert identity.asked == ["ann", "bob", "cid", "bob"]


def test_a_display_name_is_kept_to_one_line() -> None:
    contact = Contact.from_json(
        {"user_id": "ann", "email": "ann@example.com", "display_name": "Ann\r\nBcc: x@y.z"}
    )
    assert contact.display_name == "Ann Bcc: x@y.z"
    assert Contact.from_json({"user_id": "bob", "display_name": " "}).display_name == "there"
