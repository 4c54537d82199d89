"""The site's templates and the filters they show money and time with."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, Undefined, select_autoescape

from auction_platform.contracts.countries import country_name
from auction_platform.contracts.money import format_money, minor_units
from auction_platform.services.web import formats

STATUS_LABELS = {
    "draft": "Draft",
    "scheduled": "Starts soon",
    "open": "Open",
    "closed": "Ended",
    "cancelled": "Cancelled",
}


def money(cents: Any, currency: str) -> str:
    """Minor units as people read them: ``$31.00``; a missing amount as a dash."""
    if cents is None or isinstance(cents, Undefined):
        return "—"
    return format_money(int(cents), currency)


def amount_input(cents: Any, currency: str) -> str:
    """Minor units as a form field's value: ``31.00`` (no symbol, no separators)."""
    if cents is None or isinstance(cents, Undefined):
        return ""
    places = minor_units(currency)
    whole, fraction = divmod(int(cents), 10**places)
    return f"{whole}.{fraction:0{places}d}" if places else str(whole)


def moment(value: Any) -> datetime | None:
    """An ISO 8601 string (or datetime) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def utc_text(value: Any) -> str:
    """``3 Dec 2026, 14:05 UTC``: what a page shows until its script shows local time."""
    found = moment(value)
    if found is None:
        return "—"
    found = found.astimezone(UTC)
    return f"{found.day} {found:%b %Y, %H:%M} UTC"


def utc_seconds(value: Any) -> str:
    """``3 Dec 2026, 14:05:30 UTC``: a moment to the second (a timed sale's lots)."""
    found = moment(value)
    if found is None:
        return "—"
    found = found.astimezone(UTC)
    return f"{found.day} {found:%b %Y, %H:%M:%S} UTC"


def duration_text(seconds: float) -> str:
    """``2d 4h``, ``3h 12m``, ``4m 05s``, ``12s``: time left, as an auction page counts it."""
    left = max(0, int(seconds))
    days, rest = divmod(left, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _now() -> datetime:
    return datetime.now(UTC)


def build_templates(clock: Callable[[], datetime] = _now) -> Environment:
    """The template environment: autoescaped HTML, the filters above; ``clock`` prices
    an open Dutch lot's card when it is drawn."""
    env = Environment(
        loader=PackageLoader("auction_platform.services.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        money=money,
        amount_input=amount_input,
        utc_text=utc_text,
        utc_seconds=utc_seconds,
        moment=moment,
    )
    env.globals.update(
        status_labels=STATUS_LABELS,
        duration_text=duration_text,
        country_name=country_name,
        format_of=formats.format_of,
        format_choices=formats.CHOICES,
        format_names=formats.NAMES,
        format_labels=formats.LABELS,
        format_card_names=formats.CARD_NAMES,
        sealed_formats=formats.SEALED,
        clock_text=formats.clock_text,
        every_text=formats.every_text,
        sealed_count=formats.sealed_count,
        card_price=lambda lot: formats.card_price(lot, clock()),
    )
    return env
