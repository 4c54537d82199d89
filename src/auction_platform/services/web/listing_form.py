"""The listing form: its fields, and the API's terms of a lot made from them.

Pure: what a seller typed in, the terms (or the field at fault) out. Amounts are
typed in major units and converted with the currency's minor units; times are UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from auction_platform.contracts.money import CURRENCIES, InvalidAmount, parse_amount
from auction_platform.services.web import delivery_form, formats
from auction_platform.services.web.delivery_form import (
    DeliveryProblem,
    delivery_fields,
    delivery_terms,
)
from auction_platform.services.web.render import amount_input, duration_text, moment

CURRENCY_CHOICES = ("USD", "EUR", "GBP", "CHF", "JPY", "SEK", "CAD", "AUD")
DURATIONS: tuple[tuple[int, str], ...] = (
    (600, "10 minutes"),
    (3_600, "1 hour"),
    (86_400, "1 day"),
    (3 * 86_400, "3 days"),
    (5 * 86_400, "5 days"),
    (7 * 86_400, "7 days"),
    (10 * 86_400, "10 days"),
)
DEFAULT_DURATION = 7 * 86_400
# What the "Soft close" box promises: a bid in the last 2 minutes adds 2 minutes.
SOFT_CLOSE = {"window_seconds": 120, "extend_seconds": 120, "max_extensions": 10}
# The form field an API refusal is about, so the page can mark it.
FIELD_OF_CODE = {
    "invalid_title": "title",
    "invalid_description": "description",
    "invalid_category": "category",
    "unknown_category": "category",
    "category_retired": "category",
    "invalid_image_url": "images",
    "too_many_images": "images",
    "unknown_currency": "currency",
    "invalid_start_price": "start_price",
    "invalid_reserve": "reserve_price",
    "invalid_buy_now": "buy_now_price",
    "invalid_duration": "duration",
    "end_in_past": "duration",
    "start_fixed": "starts_at",
    "currency_fixed": "currency",
    "start_in_past": "starts_at",
    "invalid_time": "starts_at",
    "invalid_soft_close": "soft_close",
    "unknown_format": "format",
    "invalid_format": "format",
    "dutch_clock_not_offered": "format",
    "buy_now_not_offered": "buy_now_price",
    "soft_close_not_offered": "soft_close",
    "reserve_not_offered": "reserve_price",
    "dutch_clock_required": "dutch_floor",
    "invalid_dutch_floor": "dutch_floor",
    "invalid_dutch_step": "dutch_step",
    "invalid_dutch_tick": "dutch_tick",
    **delivery_form.FIELD_OF_CODE,
}


class FormProblem(Exception):
    """A field of the listing form that is not right; nothing was sent to the API."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.details = None


def blank_fields() -> dict[str, str]:
    """A new listing form: rising bids in US dollars, starting now, a week long, a soft close."""
    return {
        "format": formats.ENGLISH,
        "currency": "USD",
        "start": "now",
        "tz_offset": "0",
        "duration": str(DEFAULT_DURATION),
        "soft_close": "on",
        "buyer_arranges": "on",  # the platform's default delivery
        **formats.tick_fields(None),
    }


def lot_fields(lot: Mapping[str, Any], *, now: datetime) -> dict[str, str]:
    """The listing form filled in with a lot's terms (as its seller sees them)."""
    currency = str(lot["currency"])
    # A draft left to start when published has no start yet (nor, run for a duration, an end).
    starts = moment(lot.get("starts_at")) or now
    duration = lot.get("duration_seconds")
    if duration is None:
        duration = int((lot_moment(lot["scheduled_ends_at"]) - starts).total_seconds())
    return {
        "title": str(lot["title"]),
        "description": str(lot.get("description") or ""),
        "category": str(lot["category"]),
        "images": "\n".join(lot.get("images") or []),
        "currency": currency,
        "start_price": amount_input(lot["start_cents"], currency),
        "reserve_price": amount_input(lot.get("reserve_cents"), currency),
        "buy_now_price": amount_input(lot.get("buy_now_cents"), currency),
        # A start that has passed (a draft's) is no use: the form offers "now" instead.
        "start": "at" if starts > now else "now",
        "starts_at": f"{starts:%Y-%m-%dT%H:%M}" if lot.get("starts_at") else "",
        "tz_offset": "0",
        "duration": str(duration),
        "soft_close": "on" if lot.get("soft_close") else "",
        **delivery_fields(lot.get("delivery"), currency),
        **_format_fields(lot, currency),
    }


def _format_fields(lot: Mapping[str, Any], currency: str) -> dict[str, str]:
    """The form's format fields of a lot: its format, and its Dutch clock if it has one."""
    clock = lot.get("dutch") or {}
    return {
        "format": formats.format_of(lot),
        "dutch_floor": amount_input(clock.get("floor_cents"), currency),
        "dutch_step": amount_input(clock.get("step_cents"), currency),
        **formats.tick_fields(clock.get("tick_seconds")),
    }


def relist_fields(lot: Mapping[str, Any], *, now: datetime) -> dict[str, str]:
    """The listing form of an ended lot listed again: its terms, starting now, as long as before."""
    return {**lot_fields(lot, now=now), "start": "now", "starts_at": ""}


def listing_terms(
    fields: Mapping[str, str], *, now: datetime, current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The API's terms of a lot from the form, or ``FormProblem`` naming the field at fault.

    "Start now" sends no start and the duration (the API starts the lot when it is
    published); a start time sends the start and the end. Only what the form itself
    can know is checked here (amounts, times); the API judges the rest and its
    refusal is shown on the form.

    Only rising bids (English) have a soft close, which is dropped for the other formats
    (the box is ticked by default); a Buy It Now price typed for them, or a reserve for a
    Dutch lot, is refused on its field, since those formats have none.
    """
    currency = fields.get("currency", "").strip().upper()
    if currency not in CURRENCIES:
        raise FormProblem("currency", "Currency: choose one from the list.")
    duration = _duration(fields)
    starts_at = _start(fields, now=now, current=current)
    try:
        delivery = delivery_terms(fields, currency)
    except DeliveryProblem as problem:
        raise FormProblem(problem.field, str(problem)) from problem
    times: dict[str, Any] = {"duration_seconds": duration}
    if starts_at is not None:
        ends_at = starts_at + timedelta(seconds=duration)
        times = {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}
    start_cents = _amount(fields, "start_price", "Start price", currency)
    reserve = _amount(fields, "reserve_price", "Reserve price", currency, optional=True)
    buy_now = _amount(fields, "buy_now_price", "Buy It Now price", currency, optional=True)
    try:
        how = formats.format_terms(fields, currency, start_cents or 0)
    except formats.FormatProblem as problem:
        raise FormProblem(problem.field, str(problem)) from problem
    english = how["format"] == formats.ENGLISH
    if buy_now is not None and not english:
        raise FormProblem(
            "buy_now_price",
            "Buy It Now price: only rising bids offer one. Leave it empty for this format.",
        )
    if reserve is not None and how["format"] == formats.DUTCH:
        raise FormProblem(
            "reserve_price",
            "Reserve price: a Dutch auction has none, its lowest price is its floor. "
            "Leave it empty.",
        )
    return {
        "title": fields.get("title", "").strip(),
        "description": fields.get("description", "").strip(),
        "category": "-".join(fields.get("category", "").lower().split()),
        "images": [line.strip() for line in fields.get("images", "").splitlines() if line.strip()],
        "currency": currency,
        "start_cents": start_cents,
        "reserve_cents": reserve,
        "buy_now_cents": buy_now,
        **times,
        "soft_close": dict(SOFT_CLOSE) if english and fields.get("soft_close") else None,
        **how,
        **({"delivery": delivery} if delivery is not None else {}),
    }


def changed_terms(terms: Mapping[str, Any], lot: Mapping[str, Any]) -> dict[str, Any]:
    """The terms that differ from the lot's: what a PATCH sends.

    A soft close counts as unchanged while it stays on, so a lot listed through
    the API with its own soft-close numbers keeps them when its title is edited.
    "Start now" on a lot with a start time asks it to start when published (a
    listed lot: now), with its duration. An open lot keeps its start (the API
    refuses to move it): only its length, and so its end, may change. A lot from
    before formats existed is an English one; a Dutch clock counts as unchanged when
    its numbers are the same.
    """
    started = lot.get("status") == "open"
    changes: dict[str, Any] = {}
    for name, value in terms.items():
        if name == "duration_seconds":
            if started:
                if value != lot.get("duration_seconds"):
                    changes[name] = value
            elif lot.get("starts_at") is not None or value != lot.get("duration_seconds"):
                changes.update(starts_at=None, duration_seconds=value)
        elif name == "starts_at" and started:
            continue
        elif name in ("starts_at", "ends_at"):
            before = lot["starts_at" if name == "starts_at" else "scheduled_ends_at"]
            if before is None or lot_moment(value) != lot_moment(before):
                changes[name] = value
        elif name == "soft_close":
            if (value is None) != (lot.get("soft_close") is None):
                changes[name] = value
        elif name == "format":
            if value != formats.format_of(lot):
                changes[name] = value
        elif name == "dutch":
            if not formats.same_clock(value, lot.get("dutch")):
                changes[name] = value
        elif value != lot.get(name):
            changes[name] = value
    return changes


def _amount(
    fields: Mapping[str, str], name: str, label: str, currency: str, *, optional: bool = False
) -> int | None:
    text = fields.get(name, "").strip()
    if optional and not text:
        return None
    try:
        return parse_amount(text, currency)
    except InvalidAmount as error:
        raise FormProblem(name, f"{label}: {error}.") from error


def _start(
    fields: Mapping[str, str], *, now: datetime, current: Mapping[str, Any] | None
) -> datetime | None:
    """The start time typed in, or None for "start now"."""
    if fields.get("start", "now") != "at":
        return None
    try:
        typed = datetime.fromisoformat(fields.get("starts_at", "").strip())
    except ValueError as error:
        raise FormProblem(
            "starts_at", "Start time: choose a date and a time, or start now."
        ) from error
    # ``tz_offset`` is minutes as a browser's getTimezoneOffset() counts them (UTC minus
    # local time); no script fills it yet, so it stays 0 and times are UTC.
    offset = fields.get("tz_offset", "0").strip().lstrip("-")
    minutes = int(fields["tz_offset"]) if offset.isdigit() and int(offset) <= 14 * 60 else 0
    starts = typed.replace(tzinfo=UTC) + timedelta(minutes=minutes)
    before = moment(current.get("starts_at")) if current is not None else None
    # The form shows minutes only: the lot's own start, to the minute, is kept as it is.
    if before is not None and starts == before.replace(second=0, microsecond=0):
        return before
    return starts


def _duration(fields: Mapping[str, str]) -> int:
    text = fields.get("duration", "")
    if not text.isdigit() or not 1 <= int(text) <= 400 * 86_400:
        raise FormProblem("duration", "Duration: choose how long the lot runs.")
    return int(text)


def duration_choices(
    fields: Mapping[str, str], *, shortest: int, kept: str = "as now"
) -> list[tuple[str, str]]:
    """The duration choices; a lot's own, when it is none of them, is kept as a choice.

    Where the platform allows lots shorter than the shortest choice (a demonstration,
    a test), the shortest it allows is offered first.
    """
    choices = [(str(seconds), label) for seconds, label in DURATIONS]
    if shortest < DURATIONS[0][0]:
        choices.insert(0, (str(shortest), f"{duration_text(shortest)} (the shortest allowed)"))
    chosen = fields.get("duration", "")
    if chosen.isdigit() and chosen not in dict(choices):
        choices.append((chosen, f"{duration_text(int(chosen))} ({kept})"))
    return choices


def currency_choices(fields: Mapping[str, str]) -> list[str]:
    chosen = fields.get("currency", "")
    choices = list(CURRENCY_CHOICES)
    return choices if chosen in choices or chosen not in CURRENCIES else [*choices, chosen]


def lot_moment(value: Any) -> datetime:
    """One of a lot's times as an aware UTC datetime (a lot always has its times)."""
    found = moment(value)
    if found is None:
        raise ValueError("a lot always has its times")
    return found
