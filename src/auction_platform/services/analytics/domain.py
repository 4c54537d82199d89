"""The arithmetic of the rollups and the search index's rules (standard library and the
shared Dutch clock only).

Rates are ``None`` when their denominator is zero: "no auction closed" is not a
sell-through of 0%. Times are UTC; a day is a UTC calendar day and a minute is
the bid's time with its seconds cut off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from auction_platform.contracts import dutch


class LotStatus(StrEnum):
    """Where a lot is in its life, as the search index sees it."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class SaleFormat(StrEnum):
    """How a lot is sold (``contracts.auctions.AuctionFormat``), in the order reports list them."""

    ENGLISH = "english"
    SEALED_FIRST_PRICE = "sealed_first_price"
    SEALED_SECOND_PRICE = "sealed_second_price"
    DUTCH = "dutch"


FORMAT_ORDER: tuple[str, ...] = tuple(fmt.value for fmt in SaleFormat)


def sale_format(data: Mapping[str, object]) -> str:
    """An event's format; absent (an event older than the formats) or unknown: English."""
    value = data.get("format")
    return str(value) if value in FORMAT_ORDER else SaleFormat.ENGLISH.value


def dutch_clock(data: Mapping[str, object]) -> dict[str, int] | None:
    """A Dutch listing's clock (floor, step, tick) as the search shows it; None otherwise."""
    clock = data.get("dutch")
    if sale_format(data) != SaleFormat.DUTCH or not isinstance(clock, Mapping):
        return None
    return {name: int(clock[name]) for name in ("floor_cents", "step_cents", "tick_seconds")}


def clock_priced(hit: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A hit as of ``now``: an open Dutch lot nobody has bought at its clock's price.

    The index keeps such a lot at its start price (a price that moves every tick would
    need a write per tick), so the price filters and sort go by the start price, and
    the answer shows the price a bidder would pay at ``now``, as the lot itself does.
    The clock stops at the lot's end.
    """
    clock, priced = hit.get("dutch"), dict(hit)
    if (
        hit.get("format") != SaleFormat.DUTCH
        or hit.get("status") != LotStatus.OPEN
        or int(hit.get("bid_count") or 0) > 0
        or not isinstance(clock, Mapping)
        or not hit.get("starts_at")
        or not hit.get("ends_at")
    ):
        return priced
    starts_at, ends_at = (datetime.fromisoformat(str(hit[k])) for k in ("starts_at", "ends_at"))
    start = int(hit["current_price_cents"])
    priced["current_price_cents"] = dutch.price_until(start, clock, starts_at, ends_at, now)
    return priced


# A status only moves forward, so a late or redelivered event can never reopen a closed lot.
STATUS_RANK: dict[str, int] = {
    LotStatus.SCHEDULED: 0,
    LotStatus.OPEN: 1,
    LotStatus.CLOSED: 2,
    LotStatus.CANCELLED: 2,
}
# Cancelled lots keep their document, but no search returns them.
SEARCHABLE_STATUSES = tuple(
    status.value for status in (LotStatus.SCHEDULED, LotStatus.OPEN, LotStatus.CLOSED)
)
UNKNOWN_CATEGORY = "unknown"
UNKNOWN_CURRENCY = "XXX"  # ISO 4217's code for "no currency"

# A report's range of UTC days: the last 30 up to today unless asked, three years at most.
DEFAULT_DAYS = 30
MAX_DAYS = 366 * 3

# Price bands of the search facets, in minor units: [low, high).
PRICE_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 1_000),
    (1_000, 5_000),
    (5_000, 10_000),
    (10_000, 50_000),
    (50_000, 100_000),
    (100_000, None),
)


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime (SQLite hands back naive ones; everything stored is UTC)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_time(value: object) -> datetime:
    """An event's ISO 8601 timestamp as an aware UTC datetime (a bad one fails the event)."""
    return utc(datetime.fromisoformat(str(value)))


def day_of(moment: datetime) -> date:
    """The UTC day a moment falls on."""
    return utc(moment).date()


def minute_of(moment: datetime) -> datetime:
    """The start of the UTC minute a moment falls in (the bids-per-minute bucket)."""
    return utc(moment).replace(second=0, microsecond=0)


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator`` rounded to four places, or None when nothing was counted."""
    if denominator <= 0:
        return None
    return round(numerator / denominator, 4)


def seconds_between(start: datetime, end: datetime) -> float:
    """Seconds from ``start`` to ``end``, never negative.

    A bid can carry a time a hair before the opening event's (two services, two
    clocks, and a bid may open the book before ``AuctionOpened`` arrives): that is
    a first bid at the opening, not a bid from the past.
    """
    return max(0.0, (utc(end) - utc(start)).total_seconds())


class BadRange(ValueError):
    """A range of days the reports refuse; the message says why."""


def report_days(start: date | None, end: date | None, *, today: date) -> tuple[date, date]:
    """The range a report covers: ``start`` to ``end`` inclusive, by default the last 30 days."""
    end = end or today
    if start is None:
        if end - date.min < timedelta(days=DEFAULT_DAYS - 1):
            raise BadRange(f"'to' must be after {date.min + timedelta(days=DEFAULT_DAYS - 1)}")
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise BadRange("'from' must not be after 'to'")
    if (end - start).days >= MAX_DAYS:
        raise BadRange(f"a range spans at most {MAX_DAYS} days")
    return start, end


def status_advances(current: str, new: str) -> bool:
    """True when ``new`` is later in a lot's life than ``current``."""
    return STATUS_RANK.get(new, -1) > STATUS_RANK.get(current, -1)


def price_band(cents: int) -> tuple[int, int | None]:
    """The facet band a price falls in."""
    for low, high in PRICE_BANDS:
        if high is None or cents < high:
            return low, high
    raise AssertionError("the last band is open-ended")  # pragma: no cover


def band_key(low: int, high: int | None) -> str:
    """A band's name in the API: ``"1000-5000"`` or ``"100000-"`` (minor units)."""
    return f"{low}-{high if high is not None else ''}"


@dataclass
class Totals:
    """Counters summed from daily rollup rows (one currency's money is kept apart)."""

    listed: int = 0
    opened: int = 0
    sold: int = 0
    unsold: int = 0
    cancelled: int = 0
    bids: int = 0
    closed_bids: int = 0
    first_bids: int = 0
    first_bid_seconds: float = 0.0
    gmv_cents: int = 0
    fees_cents: int = 0
    orders_created: int = 0
    orders_paid: int = 0
    orders_created_paid: int = 0
    refunds: int = 0
    refunded_cents: int = 0
    refunded_gmv_cents: int = 0
    refunded_fees_cents: int = 0

    def add(self, row: dict[str, object]) -> None:
        """Add one rollup row's counters."""
        for field in fields(self):
            value = row.get(field.name) or 0
            setattr(self, field.name, getattr(self, field.name) + value)

    def money(self) -> dict[str, int]:
        """GMV and fees as made (gross) and net of refunds, and what refunds gave back."""
        return {
            "gross_gmv_cents": int(self.gmv_cents),
            "net_gmv_cents": int(self.gmv_cents - self.refunded_gmv_cents),
            "gross_fees_cents": int(self.fees_cents),
            "net_fees_cents": int(self.fees_cents - self.refunded_fees_cents),
            "refunded_cents": int(self.refunded_cents),
        }

    def rates(self) -> dict[str, float | None]:
        """The derived measures of these counters."""
        closed = self.sold + self.unsold
        return {
            "sell_through_rate": rate(self.sold, closed),
            "bids_per_closed_auction": (round(self.closed_bids / closed, 2) if closed else None),
            "average_seconds_to_first_bid": (
                round(self.first_bid_seconds / self.first_bids, 1) if self.first_bids else None
            ),
            "payment_conversion_rate": rate(self.orders_created_paid, self.orders_created),
        }


def peak(buckets: list[tuple[datetime, int]]) -> int:
    """The busiest minute's bid count (0 without bids)."""
    return max((count for _, count in buckets), default=0)


def active_minutes_rate(buckets: list[tuple[datetime, int]]) -> float | None:
    """Bids per minute over the span from the first to the last bid's minute, inclusive."""
    if not buckets:
        return None
    first = min(minute for minute, _ in buckets)
    last = max(minute for minute, _ in buckets)
    minutes = int((last - first).total_seconds() // 60) + 1
    return round(sum(count for _, count in buckets) / minutes, 2)


def minute_series(
    buckets: list[tuple[datetime, int]], *, last: datetime, minutes: int
) -> list[tuple[datetime, int]]:
    """Every minute of the ``minutes`` up to ``last`` (inclusive), quiet ones as zero."""
    counts = {minute_of(minute): count for minute, count in buckets}
    first = minute_of(last) - timedelta(minutes=minutes - 1)
    series = [first + timedelta(minutes=step) for step in range(minutes)]
    return [(minute, counts.get(minute, 0)) for minute in series]
