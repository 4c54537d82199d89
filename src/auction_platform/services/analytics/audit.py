"""The audit log's rules: which records a query asks for, and where a page ends.

Standard library only, like ``domain``. ``from`` and ``to`` are each a UTC date (the
whole day: ``from`` its first instant, ``to`` its last) or an ISO date-time (a
moment without an offset is UTC); both are inclusive. Pages run newest first, and
a cursor names the last record of the page before (when it was taken, its id).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any


class BadQuery(ValueError):
    """A filter or cursor the log cannot answer; ``code`` names it for the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Scope:
    """Which records: exact actor, action and target when given, ``since <= at < until``."""

    actor_id: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def moment(text: str, *, name: str, end: bool) -> datetime:
    """A bound of the range as an aware UTC datetime; an end bound is exclusive."""
    try:
        if len(text) == len("2024-01-31"):
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError) as error:
        raise BadQuery("invalid_range", f"{name} is not an ISO date or date-time") from error
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return parsed + timedelta(microseconds=1) if end else parsed


def scope(
    *,
    actor_id: str | None,
    action: str | None,
    target: str | None,
    start: str | None,
    end: str | None,
) -> Scope:
    """The records a query's filters ask for; ``invalid_range`` when ``from`` is after ``to``."""
    since = moment(start, name="from", end=False) if start else None
    until = moment(end, name="to", end=True) if end else None
    if since is not None and until is not None and since >= until:
        raise BadQuery("invalid_range", "from must not be after to")
    return Scope(actor_id or None, action or None, target or None, since, until)


def encode_cursor(record: dict[str, Any]) -> str:
    """An opaque cursor: the next page goes on after this record."""
    raw = f"{record['at']}|{record['id']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def position(record: dict[str, Any]) -> tuple[datetime, str]:
    """Where a record stands in the log's order: when it was taken, then its id."""
    return datetime.fromisoformat(record["at"]), record["id"]


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The record a cursor names; ``invalid_cursor`` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, event_id = raw.split("|", 1)
        taken = datetime.fromisoformat(at)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise BadQuery("invalid_cursor", "the cursor is not valid") from error
    if taken.tzinfo is None or not event_id:
        raise BadQuery("invalid_cursor", "the cursor is not valid")
    return taken.astimezone(UTC), event_id


def when(data: dict[str, Any], *, fallback: datetime) -> datetime:
    """When an action was taken, as its record says (its event's time if it cannot)."""
    try:
        taken = datetime.fromisoformat(str(data.get("at")))
    except ValueError:
        return fallback.astimezone(UTC)
    return taken.replace(tzinfo=UTC) if taken.tzinfo is None else taken.astimezone(UTC)
