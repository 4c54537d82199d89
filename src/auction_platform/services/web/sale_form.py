"""The timed-sale form: its fields, and the sale the API is sent from them; and what the
sale's page says once its seller has cancelled it.

Pure: what a seller typed in, the API's body (or the field at fault) out. Times are
typed in UTC, to the second (the page says what time it is in UTC), as on the
listing form; the interval between two lots' ends in seconds or minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from auction_platform.services.web.render import moment

# The API's bounds (``services.auction.sales.INTERVAL_SECONDS``), said in the form's help.
INTERVAL_SECONDS = (10, 3_600)
UNITS = {"seconds": 1, "minutes": 60}
# The form field an API refusal is about, so the page can mark it.
FIELD_OF_CODE = {
    "invalid_title": "title",
    "invalid_description": "description",
    "invalid_interval": "interval",
    "first_close_too_soon": "first_close_at",
    "sale_too_long": "first_close_at",
    "invalid_time": "first_close_at",
    "start_in_past": "starts_at",
}


class SaleFormProblem(Exception):
    """A field of the sale form that is not right; nothing was sent to the API."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.details = None


def blank_fields(*, now: datetime) -> dict[str, str]:
    """A new sale's form: the first lot closing in a day, a minute between lots, start now."""
    first = (now + timedelta(days=1)).astimezone(UTC).replace(second=0, microsecond=0)
    return {
        "title": "",
        "description": "",
        "first_close_at": _typed(first),
        "interval": "1",
        "unit": "minutes",
        "start": "now",
        "starts_at": "",
    }


def sale_fields(sale: Mapping[str, Any]) -> dict[str, str]:
    """A draft sale's form, as the API has it."""
    seconds = int(sale["interval_seconds"])
    minutes = seconds % 60 == 0
    starts = moment(sale.get("starts_at"))
    first = moment(sale["first_close_at"])
    assert first is not None  # a sale always has its first close
    return {
        "title": str(sale["title"]),
        "description": str(sale.get("description") or ""),
        "first_close_at": _typed(first),
        "interval": str(seconds // 60 if minutes else seconds),
        "unit": "minutes" if minutes else "seconds",
        "start": "at" if starts is not None else "now",
        "starts_at": _typed(starts) if starts is not None else "",
    }


def sale_body(fields: Mapping[str, str]) -> dict[str, Any]:
    """The API's body of a sale from its form (``SaleFormProblem`` names a bad field)."""
    title = fields.get("title", "").strip()
    if not title:
        raise SaleFormProblem("title", "Title: name the sale, e.g. “The Hartley estate”.")
    return {
        "title": title,
        "description": fields.get("description", "").strip(),
        "first_close_at": _moment(fields, "first_close_at", "First lot closes").isoformat(),
        "interval_seconds": _interval(fields),
        "starts_at": (
            _moment(fields, "starts_at", "Start time").isoformat()
            if fields.get("start", "now") == "at"
            else None
        ),
    }


def changed(body: Mapping[str, Any], sale: Mapping[str, Any]) -> dict[str, Any]:
    """What of ``body`` differs from the draft ``sale`` (``PATCH`` sends only that)."""
    changes: dict[str, Any] = {}
    for name in ("title", "description", "interval_seconds"):
        if body[name] != sale.get(name):
            changes[name] = body[name]
    for name in ("first_close_at", "starts_at"):
        if moment(body[name]) != moment(sale.get(name)):
            changes[name] = body[name]
    return changes


def _moment(fields: Mapping[str, str], name: str, label: str) -> datetime:
    text = fields.get(name, "").strip()
    try:
        typed = datetime.fromisoformat(text)
    except ValueError as error:
        raise SaleFormProblem(name, f"{label}: choose a date and a time (UTC).") from error
    return typed.replace(tzinfo=UTC) if typed.tzinfo is None else typed.astimezone(UTC)


def _interval(fields: Mapping[str, str]) -> int:
    text, unit = fields.get("interval", "").strip(), fields.get("unit", "seconds")
    low, high = INTERVAL_SECONDS
    message = f"Time between lots: {low} seconds to {high // 60} minutes."
    if not text.isdigit() or len(text) > 6 or unit not in UNITS:
        raise SaleFormProblem("interval", message)
    seconds = int(text) * UNITS[unit]
    if not low <= seconds <= high:
        raise SaleFormProblem("interval", message)
    return seconds


def _typed(found: datetime) -> str:
    """A moment as a ``datetime-local`` field shows it: UTC, to the second when it has some."""
    utc = found.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}" if utc.second else f"{utc:%Y-%m-%dT%H:%M}"


def interval_text(seconds: int) -> str:
    """``one a minute``, ``one every 30 seconds``, ``one every 2 minutes``."""
    if seconds == 60:
        return "one a minute"
    if seconds % 60 == 0:
        return f"one every {seconds // 60} minutes"
    return f"one every {seconds} seconds"


# Why a cancellation kept a lot, by the code the API gives: for one lot, for several.
KEPT_BECAUSE = {
    "has_bids": (
        "it has bids, and only the site's staff can withdraw a lot once someone has bid; "
        "it closes as planned",
        "they have bids, and only the site's staff can withdraw a lot once someone has bid; "
        "they close as planned",
    ),
    "not_cancellable": ("it has just ended", "they have just ended"),
    "conflict": (
        "it opened just then; cancel the sale again to withdraw it",
        "they opened just then; cancel the sale again to withdraw them",
    ),
}
# Kept lots named with their titles up to this many; beyond it, by number only.
_TITLED = 3


def cancellation_words(answer: Mapping[str, Any]) -> tuple[str, str]:
    """What the sale's page says after ``POST .../cancel``: the lots withdrawn, the lots
    kept and why; and the message's kind (``success``, ``warning`` or ``info``)."""
    sale = answer["sale"]
    gone = [lot["lot_number"] for lot in answer["cancelled"]]
    kept: dict[str, list[Mapping[str, Any]]] = {}
    for lot in answer["kept"]:
        kept.setdefault(lot["code"], []).append(lot)
    said = []
    if gone:
        numbers = _numbers(gone)
        verb = "is" if len(gone) == 1 else "are"
        if sale["state"] == "cancelled":
            said.append(f"“{sale['title']}” is cancelled: {numbers} {verb} withdrawn.")
        else:
            said.append(f"{numbers[:1].upper()}{numbers[1:]} {verb} withdrawn.")
    elif sale["state"] == "cancelled" and not kept:
        said.append("The sale is cancelled already: no lot of it was left to withdraw.")
    elif not kept:
        said.append("No lot was left to withdraw: every lot of the sale has ended.")
    titles = {lot["auction_id"]: lot["title"] for lot in sale["lots"]}
    for code, lots in kept.items():
        one, several = KEPT_BECAUSE.get(code, (lots[0]["message"], lots[0]["message"]))
        named = _named(lots, titles)
        verb, why = ("is", one) if len(lots) == 1 else ("are", several)
        said.append(f"{named[:1].upper()}{named[1:]} {verb} kept: {why}.")
    kind = "warning" if kept else ("success" if gone else "info")
    return " ".join(said), kind


def _numbers(numbers: list[int]) -> str:
    """``lot 2``, ``lots 1 and 3``, ``lots 1, 2 and 4``."""
    if len(numbers) == 1:
        return f"lot {numbers[0]}"
    listed = ", ".join(str(n) for n in numbers[:-1])
    return f"lots {listed} and {numbers[-1]}"


def _named(lots: list[Mapping[str, Any]], titles: Mapping[str, str]) -> str:
    """The kept lots by number, with their titles while they are few."""
    if len(lots) > _TITLED:
        return _numbers([lot["lot_number"] for lot in lots])
    each = [
        f"lot {lot['lot_number']} (“{titles.get(lot['auction_id'], lot['auction_id'])}”)"
        for lot in lots
    ]
    return each[0] if len(each) == 1 else f"{', '.join(each[:-1])} and {each[-1]}"
