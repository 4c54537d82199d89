"""What the notification service asks of others: where to reach a user, and what they want.

``Contacts`` is the notifier's view of the identity service: a user's ``Contact``
(addresses, display name, preferences per channel), None for no such user,
``ContactUnavailable`` when identity cannot say now (out of reach, or answering
429, 502, 503 or 504: the event waits for it), or ``ContactLookupFailed`` for any
other answer (the event is retried and, if it persists, dead-lettered). ``HttpContacts`` asks
identity's ``GET /api/v1/users/{id}/contact`` (service token only; in the embedded
mode the client goes in-process) and keeps the answers in-process for ``ttl``
seconds (bounded, least recently used first out), so a fan-out to many recipients
asks identity once per person and a change of preferences takes effect within the
TTL. Dispatch tests pass a fake.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from auction_platform.core.failures import Unavailable

CONTACT_TTL_SECONDS = 60.0
CONTACT_CACHE_SIZE = 10_000


class Channel(StrEnum):
    """A way to reach a user; a notice goes out on each one the user allows."""

    EMAIL = "email"
    SMS = "sms"


# A notice the preferences do not mention (a new kind, an old account): email
# yes, SMS no. SMS costs money and interrupts; nobody should get one unasked.
_UNLISTED: dict[str, bool] = {Channel.EMAIL: True, Channel.SMS: False}


class ContactUnavailable(Unavailable):
    """Identity could not say how to reach the user now; the event waits for it."""

    def __init__(self, message: str) -> None:
        super().__init__("identity_unavailable", message, retry_after=5)


class ContactLookupFailed(Exception):
    """Identity answered the contact lookup with an error that is not an outage."""


# Answers of an identity service that is down, overloaded or restarting.
_OUTAGE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Contact:
    """How to reach one user, and which notices they want on which channel."""

    user_id: str
    display_name: str
    email: str | None
    phone: str | None
    preferences: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)

    def wants(self, channel: str, notice: str) -> bool:
        """Whether the user allows ``notice`` on ``channel`` (``email`` or ``sms``)."""
        chosen = self.preferences.get(channel, {}).get(notice)
        return _UNLISTED.get(channel, False) if chosen is None else bool(chosen)

    def address(self, channel: str) -> str | None:
        """The address for ``channel``, or None when the user has none."""
        if channel == Channel.EMAIL:
            return self.email
        return self.phone if channel == Channel.SMS else None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Contact:
        """From identity's answer."""
        raw = body.get("preferences") or {}
        preferences = {
            str(channel): {str(k): bool(v) for k, v in notices.items()}
            for channel, notices in raw.items()
            if isinstance(notices, Mapping)
        }
        return cls(
            user_id=str(body["user_id"]),
            # One line: the name goes into mail headers and greetings.
            display_name=" ".join(str(body.get("display_name") or "").split()) or "there",
            email=str(body["email"]) if body.get("email") else None,
            phone=str(body["phone"]) if body.get("phone") else None,
            preferences=preferences,
        )


class Contacts(Protocol):
    """How to reach the platform's users."""

    async def get(self, user_id: str) -> Contact | None:
        """The user's contact; None when there is no such user.

        Raises ``ContactUnavailable`` when the answer cannot be had now.
        """
        ...


class HttpContacts:
    """``Contacts`` from identity's contact API, remembering answers for a while."""

    def __init__(
        self,
        client: Callable[[], httpx.AsyncClient],
        *,
        auth_headers: Callable[[], Awaitable[dict[str, str]]],
        ttl: float = CONTACT_TTL_SECONDS,
        max_entries: int = CONTACT_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._auth_headers = auth_headers
        self.ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._known: OrderedDict[str, tuple[float, Contact]] = OrderedDict()

    async def get(self, user_id: str) -> Contact | None:
        """The user's contact; None when identity knows no such user."""
        now = self._clock()
        known = self._known.get(user_id)
        if known is not None and known[0] > now:
            self._known.move_to_end(user_id)
            return known[1]
        contact = await self._fetch(user_id)
        if contact is not None:
            self._known[user_id] = (now + self.ttl, contact)
            self._known.move_to_end(user_id)
            while len(self._known) > self._max_entries:
                self._known.popitem(last=False)
        return contact

    def forget(self, user_id: str) -> None:
        """Drop what is known of a user (their contact or preferences changed)."""
        self._known.pop(user_id, None)

    async def _fetch(self, user_id: str) -> Contact | None:
        path = f"/api/v1/users/{quote(user_id, safe='')}/contact"
        try:
            headers = await self._auth_headers()
            response = await self._client().get(path, headers=headers)
        except httpx.HTTPError as exc:
            raise ContactUnavailable(f"identity unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            problem = f"identity answered {response.status_code} for the contact of {user_id}"
            if response.status_code in _OUTAGE_STATUSES:
                raise ContactUnavailable(problem)
            raise ContactLookupFailed(problem)
        return Contact.from_json(response.json())
