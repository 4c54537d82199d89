"""The ways a lot is sold, in words and in numbers: what the pages say and compute about them.

Pure: standard library and the money contract only. The English proxy auction, sealed
bids (the winner paying their own bid, or the second-highest: Vickrey) and the Dutch
clock, whose price falls by a step at each tick down to a floor. A Dutch lot's price is
computed here exactly as the bidding service computes it, so a page shows the price a
bidder would pay at that moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from auction_platform.contracts import dutch
from auction_platform.contracts.money import InvalidAmount, format_money, parse_amount

ENGLISH = "english"
SEALED_FIRST_PRICE = "sealed_first_price"
SEALED_SECOND_PRICE = "sealed_second_price"
DUTCH = "dutch"
FORMATS = (ENGLISH, SEALED_FIRST_PRICE, SEALED_SECOND_PRICE, DUTCH)
SEALED = frozenset({SEALED_FIRST_PRICE, SEALED_SECOND_PRICE})

# The sell form's choices: a short name and what it means for seller and bidders.
CHOICES: tuple[tuple[str, str, str], ...] = (
    (
        ENGLISH,
        "Rising bids (English auction)",
        "Bids rise in the open and we bid for each bidder up to their maximum. "
        "A reserve, Buy It Now and a soft close are yours to choose.",
    ),
    (
        SEALED_FIRST_PRICE,
        "Sealed bids, first price",
        "Each bidder makes one secret bid, which they may raise. At the end the "
        "highest bid wins and pays what it bid.",
    ),
    (
        SEALED_SECOND_PRICE,
        "Sealed bids, second price (Vickrey)",
        "Secret bids as above, but the highest bid pays the second-highest bid (or "
        "your reserve, if higher), so bidders can safely bid what it is worth to them.",
    ),
    (
        DUTCH,
        "Dutch auction (falling price)",
        "The price starts at your start price and falls at each interval down to your "
        "lowest price. The first bidder to accept the price buys it at once.",
    ),
)
NAMES = {value: name for value, name, _ in CHOICES}

# What a card in a list says about how a lot is sold, under its title (an English lot
# says nothing: the default).
CARD_NAMES = {
    SEALED_FIRST_PRICE: "Sealed bids",
    SEALED_SECOND_PRICE: "Sealed bids, second price",
    DUTCH: "Dutch auction",
}

# The catalogue's format filter, in words.
FILTER_NAMES = {
    ENGLISH: "Rising bids",
    SEALED_FIRST_PRICE: "Sealed bids, first price",
    SEALED_SECOND_PRICE: "Sealed bids, second price",
    DUTCH: "Dutch auction",
}

# What a lot's page says about how it is sold (an English lot says nothing: the default).
LABELS = {
    ENGLISH: "Rising bids: the highest bidder wins",
    SEALED_FIRST_PRICE: "Sealed bids, highest bid wins and pays their bid",
    SEALED_SECOND_PRICE: "Sealed bids, highest bid wins and pays the second-highest",
    DUTCH: "Dutch auction: the price falls until someone buys",
}

# The units a seller may give the Dutch clock's interval in, in seconds.
TICK_UNITS = {"seconds": 1, "minutes": 60}

# The bidding service's refusals that only the newer formats give, in words.
REFUSALS = {
    "sealed_bid_not_raised": "A sealed bid can only be raised: bid more than your bid",
    "sealed_bid_final": "A sealed bid is final: it cannot be withdrawn or lowered",
    "dutch_accept_only": (
        "This is a Dutch auction: it takes no bids. Buy it at the current price instead"
    ),
}


class FormatProblem(ValueError):
    """A format field of the listing form that is not right; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def format_of(lot: Mapping[str, Any] | None) -> str:
    """A lot's (or a book's) format; a lot from before formats existed is English."""
    value = (lot or {}).get("format") or ENGLISH
    return str(value) if value in FORMATS else ENGLISH


def filter_choices(facets: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The catalogue's format options, ``(value, label)``: every format, with its hits when
    the search counted them (a format the search has no hits of shows no count)."""
    counts = {str(facet["value"]): int(facet["count"]) for facet in facets}
    return [
        (fmt, f"{FILTER_NAMES[fmt]} ({counts[fmt]})" if fmt in counts else FILTER_NAMES[fmt])
        for fmt in FORMATS
    ]


def is_sealed(fmt: str) -> bool:
    """True for the formats whose bids stay secret until the close."""
    return fmt in SEALED


# --- the Dutch clock -------------------------------------------------------------------


def clock_of(lot: Mapping[str, Any], book: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An open Dutch lot's clock: the book's, or else made from the listing's terms.

    A lot has no book for a moment after it opens; its listing says the same thing
    (start price, start, floor, step and tick), so the page shows the price anyway.
    """
    if book and book.get("dutch"):
        return dict(book["dutch"])
    terms = lot.get("dutch")
    # A search hit names no start price: its price is the clock's already (search prices it).
    if format_of(lot) != DUTCH or not terms or not lot.get("starts_at") or "start_cents" not in lot:
        return None
    return {
        "start_cents": int(lot["start_cents"]),
        "floor_cents": int(terms["floor_cents"]),
        "step_cents": int(terms["step_cents"]),
        "tick_seconds": float(terms["tick_seconds"]),
        "starts_at": str(lot["starts_at"]),
        "next_drop_at": None,
    }


def _clock_args(clock: Mapping[str, Any]) -> tuple[int, int, int, timedelta, datetime]:
    return (
        int(clock["start_cents"]),
        int(clock["floor_cents"]),
        int(clock["step_cents"]),
        timedelta(seconds=float(clock["tick_seconds"])),
        datetime.fromisoformat(str(clock["starts_at"])),
    )


def price_at(clock: Mapping[str, Any], at: datetime) -> int:
    """The clock's price at ``at``: the start less a step a tick, never below the floor."""
    return dutch.price_at(*_clock_args(clock), at)


def next_drop_at(clock: Mapping[str, Any], at: datetime) -> datetime | None:
    """When the price next falls after ``at``; None once it is at the floor."""
    return dutch.next_drop_at(*_clock_args(clock), at)


def card_price(lot: Mapping[str, Any], now: datetime) -> int:
    """What a card shows as a lot's price: an open Dutch lot's clock price at ``now`` (the
    clock stops at the lot's end); a search hit's price, which search gave by the clock."""
    stored = int(lot.get("current_price_cents") or lot.get("start_cents") or 0)
    clock = clock_of(lot, None) if lot.get("status") == "open" else None
    if clock is None or not lot.get("ends_at"):
        return stored
    return price_at(clock, min(now, datetime.fromisoformat(str(lot["ends_at"]))))


def every_text(seconds: float) -> str:
    """``every 10 seconds``, ``every minute``, ``every 5 minutes``, ``every 1 min 30 s``."""
    whole = max(1, round(float(seconds)))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    if not minutes and not secs and hours:
        return "every hour" if hours == 1 else f"every {hours} hours"
    if hours:
        return f"every {hours} h {minutes} min" + (f" {secs} s" if secs else "")
    if not minutes:
        return "every second" if secs == 1 else f"every {secs} seconds"
    if not secs:
        return "every minute" if minutes == 1 else f"every {minutes} minutes"
    return f"every {minutes} min {secs} s"


def clock_text(clock: Mapping[str, Any], currency: str) -> str:
    """``falls by €1.00 every 10 seconds until €5.00``."""
    step = format_money(int(clock["step_cents"]), currency)
    floor = format_money(int(clock["floor_cents"]), currency)
    return f"falls by {step} {every_text(clock['tick_seconds'])} until {floor}"


# --- the listing form ------------------------------------------------------------------


def format_terms(fields: Mapping[str, str], currency: str, start_cents: int) -> dict[str, Any]:
    """The listing's ``format`` (and, for a Dutch lot, its ``dutch`` clock) from the form.

    Raises ``FormatProblem`` naming the field at fault. The amounts are the floor (the
    lowest price the lot sells at) and the step it falls by; the interval is typed in
    seconds or minutes and sent in whole seconds. The API judges the interval's bounds.
    """
    fmt = fields.get("format", "").strip() or ENGLISH
    if fmt not in FORMATS:
        raise FormatProblem(
            "format",
            "Format: choose rising bids, sealed bids (first or second price) or a Dutch auction.",
        )
    if fmt != DUTCH:
        return {"format": fmt}
    floor = _amount(fields, "dutch_floor", "Lowest price", currency)
    step = _amount(fields, "dutch_step", "Price drop", currency)
    if floor >= start_cents:
        raise FormatProblem("dutch_floor", "Lowest price: it must be below the start price.")
    return {
        "format": DUTCH,
        "dutch": {"floor_cents": floor, "step_cents": step, "tick_seconds": tick_seconds(fields)},
    }


def tick_seconds(fields: Mapping[str, str]) -> int:
    """The Dutch clock's interval in whole seconds, from its number and unit."""
    unit = TICK_UNITS.get(fields.get("dutch_tick_unit", "minutes"))
    if unit is None:
        raise FormatProblem("dutch_tick", "Price drops every: choose seconds or minutes.")
    text = fields.get("dutch_tick", "").strip().replace(",", ".")
    try:
        number = Decimal(text) if text and len(text) <= 12 else None
    except InvalidOperation:
        number = None
    seconds = number * unit if number is not None and number.is_finite() else None
    if seconds is None or seconds <= 0 or seconds != seconds.to_integral_value():
        raise FormatProblem(
            "dutch_tick", "Price drops every: a number of seconds or minutes, like 30 or 1.5."
        )
    return int(seconds)


def tick_fields(seconds: float | None) -> dict[str, str]:
    """The form's interval fields for a clock's tick: in minutes when it is whole minutes."""
    if not seconds:
        return {"dutch_tick": "1", "dutch_tick_unit": "minutes"}
    whole = int(seconds)
    if whole % 60 == 0:
        return {"dutch_tick": str(whole // 60), "dutch_tick_unit": "minutes"}
    return {"dutch_tick": str(whole), "dutch_tick_unit": "seconds"}


def same_clock(sent: Mapping[str, Any] | None, kept: Mapping[str, Any] | None) -> bool:
    """Whether two Dutch clocks are the same (a tick of 60 and one of 60.0 are)."""
    if not sent or not kept:
        return not sent and not kept
    return all(
        float(sent[name]) == float(kept.get(name) or 0)
        for name in ("floor_cents", "step_cents", "tick_seconds")
    )


def _amount(fields: Mapping[str, str], name: str, label: str, currency: str) -> int:
    text = fields.get(name, "").strip()
    if not text:
        raise FormatProblem(name, f"{label}: a Dutch auction needs it.")
    try:
        cents = parse_amount(text, currency)
    except InvalidAmount as error:
        raise FormatProblem(name, f"{label}: {error}.") from error
    if cents <= 0:
        raise FormatProblem(name, f"{label}: it must be more than zero.")
    return cents


# --- the bidding service's answers, in words -------------------------------------------


def refusal_words(code: str, *, currency: str, own_cents: int | None = None) -> str | None:
    """A refusal of a sealed bid or a bid on a Dutch lot as a sentence; None for others."""
    words = REFUSALS.get(code)
    if words is None:
        return None
    if code == "sealed_bid_not_raised" and own_cents:
        return f"{words} of {format_money(own_cents, currency)}."
    return f"{words}."


def sealed_count(count: int) -> str:
    """``No sealed bids yet``, ``1 sealed bid``, ``3 sealed bids``."""
    if count <= 0:
        return "No sealed bids yet"
    return f"{count} sealed bid{'' if count == 1 else 's'}"
