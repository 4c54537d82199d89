"""Event consumers and read use cases of the analytics service.

Three consumers, three queues, so one projection's trouble never holds up the
others: the event store keeps every event (``#``), the rollups count what the
admin reports show, and the search index follows the lots. Each runs in the
transaction that records the event in the inbox (``core.service``), so a
redelivered event changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from auction_platform.contracts.events import Envelope
from auction_platform.core.db import Database
from auction_platform.core.service import Consumer
from auction_platform.core.uow import Transaction
from auction_platform.services.analytics import domain, indexing, rollups, store
from auction_platform.services.analytics import rollup_store as rs
from auction_platform.services.analytics.search import SearchBackend


async def record_event(tx: Transaction, envelope: Envelope) -> None:
    """Keep every event the platform publishes in the event store."""
    await store.store_event(tx.conn, envelope)


def consumers(clock: Callable[[], datetime]) -> tuple[Consumer, ...]:
    """The analytics service's consumers."""

    async def update_rollups(tx: Transaction, envelope: Envelope) -> None:
        await rollups.update_rollups(tx, envelope, clock=clock)

    return (
        Consumer("event-store", ("#",), record_event),
        Consumer("rollups", tuple(f"*.{name}" for name in rollups.HANDLERS), update_rollups),
        Consumer(
            "search", tuple(f"*.{name}" for name in indexing.EVENT_TYPES), indexing.update_search
        ),
    )


@dataclass(frozen=True)
class Analytics:
    """What the analytics routes need: the database, search and the clock."""

    db: Database
    search: SearchBackend
    clock: Callable[[], datetime]


async def summary(ctx: Analytics, *, start: date, end: date) -> dict[str, Any]:
    """Totals and rates from ``start`` to ``end`` (UTC days, inclusive)."""
    async with ctx.db.read() as conn:
        rows = await rs.daily_rows(conn, start=start, end=end)
    totals = domain.Totals()
    money: dict[str, dict[str, int]] = {}
    for row in rows:
        totals.add(row)
        purse = money.setdefault(row["currency"], {"gmv_cents": 0, "fees_cents": 0})
        purse["gmv_cents"] += int(row["gmv_cents"])
        purse["fees_cents"] += int(row["fees_cents"])
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "auctions": {
            "listed": totals.listed,
            "opened": totals.opened,
            "sold": totals.sold,
            "unsold": totals.unsold,
            "cancelled": totals.cancelled,
        },
        "bids": totals.bids,
        "orders": {"created": totals.orders_created, "paid": totals.orders_paid},
        **totals.rates(),
        "money": [{"currency": currency, **amounts} for currency, amounts in sorted(money.items())],
    }


def _day_row(row: dict[str, Any]) -> dict[str, Any]:
    totals = domain.Totals()
    totals.add(row)
    return {
        "day": row["day"].isoformat(),
        "category": row["category"],
        "currency": row["currency"],
        **{name: int(row[name]) for name in store.COUNTERS},
        "gmv_cents": int(row["gmv_cents"]),
        "fees_cents": int(row["fees_cents"]),
        **totals.rates(),
    }


async def daily(ctx: Analytics, *, start: date, end: date, category: str | None) -> dict[str, Any]:
    """One row per UTC day, category and currency that saw anything."""
    async with ctx.db.read() as conn:
        rows = await rs.daily_rows(conn, start=start, end=end, category=category)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "category": category,
        "items": [_day_row(row) for row in rows],
    }


async def bids_per_minute(ctx: Analytics, *, minutes: int) -> dict[str, Any]:
    """Bids per minute over every auction, the last ``minutes`` up to this one, quiet ones as 0."""
    last = domain.minute_of(ctx.clock())
    first = last - timedelta(minutes=minutes - 1)
    async with ctx.db.read() as conn:
        buckets = await rs.bids_by_minute(conn, start=first, end=last)
    series = domain.minute_series(buckets, last=last, minutes=minutes)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "items": [{"minute": minute.isoformat(), "bids": count} for minute, count in series],
        "bids": sum(count for _, count in series),
        "peak_bids_per_minute": domain.peak(series),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def auction_report(ctx: Analytics, auction_id: str) -> dict[str, Any] | None:
    """One auction's facts: bids per minute, time to first bid, result; None if unknown."""
    async with ctx.db.read() as conn:
        facts = await rs.auction_facts(conn, auction_id)
        if facts is None:
            return None
        minutes = await rs.minutes_of(conn, auction_id)
    hammer = facts["hammer_cents"]
    return {
        "auction_id": auction_id,
        "title": facts["title"],
        "category": facts["category"],
        "currency": facts["currency"],
        "listed_at": _iso(facts["listed_at"]),
        "opened_at": _iso(facts["opened_at"]),
        "first_bid_at": _iso(facts["first_bid_at"]),
        "seconds_to_first_bid": facts["first_bid_seconds"],
        "bid_count": int(facts["bid_count"]),
        "closed_at": _iso(facts["closed_at"]),
        "sold": facts["sold"],
        "hammer_cents": int(hammer) if hammer is not None else None,
        "cancelled_at": _iso(facts["cancelled_at"]),
        "bids_per_minute": [
            {"minute": minute.isoformat(), "bids": count} for minute, count in minutes
        ],
        "peak_bids_per_minute": domain.peak(minutes),
        "average_bids_per_active_minute": domain.active_minutes_rate(minutes),
    }
