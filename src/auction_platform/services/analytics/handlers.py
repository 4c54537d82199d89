"""Read use cases of the analytics service: the admin reports and search.

Each takes a command of ``commands`` (search a ``search.SearchQuery``) and returns
the report, or raises a domain error of ``core.failures``. What feeds the reports
is in ``consumers``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from auction_platform.contracts.categories import index, roll_up, subtree
from auction_platform.core.db import Database
from auction_platform.core.failures import Invalid, NotFound
from auction_platform.services.analytics import audit, audit_store, domain, store
from auction_platform.services.analytics import rollup_store as rs
from auction_platform.services.analytics.category_tree import CategoryTree, FixedTree
from auction_platform.services.analytics.commands import (
    AuctionReport,
    AuditQuery,
    BidsPerMinute,
    Daily,
    RecentEvents,
    Summary,
)
from auction_platform.services.analytics.search import (
    MAX_WINDOW,
    SearchBackend,
    SearchPage,
    SearchQuery,
)


@dataclass(frozen=True)
class Analytics:
    """What the analytics routes need: the database, search and the clock."""

    db: Database
    search: SearchBackend
    clock: Callable[[], datetime]
    categories: CategoryTree = field(default_factory=FixedTree)


def _days(start: date | None, end: date | None, ctx: Analytics) -> tuple[date, date]:
    try:
        return domain.report_days(start, end, today=ctx.clock().date())
    except domain.BadRange as error:
        raise Invalid("validation_error", str(error)) from error


async def recent_events(command: RecentEvents, *, ctx: Analytics) -> list[dict[str, Any]]:
    """The newest events in the event store."""
    async with ctx.db.read() as conn:
        return await store.recent_events(conn, event_type=command.event_type, limit=command.limit)


async def summary(command: Summary, *, ctx: Analytics) -> dict[str, Any]:
    """Totals and rates from ``start`` to ``end`` (UTC days, inclusive)."""
    start, end = _days(command.start, command.end, ctx)
    async with ctx.db.read() as conn:
        rows = await rs.daily_rows(conn, start=start, end=end)
        format_rows = await rs.daily_format_rows(conn, start=start, end=end)
    totals = domain.Totals()
    purses: dict[str, domain.Totals] = {}
    for row in rows:
        totals.add(row)
        purses.setdefault(row["currency"], domain.Totals()).add(row)
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
        "orders": {
            "created": totals.orders_created,
            "paid": totals.orders_paid,
            "refunded": totals.refunds,
        },
        **totals.rates(),
        "money": _money(purses),
        "formats": _by_format(format_rows),
    }


def _money(purses: dict[str, domain.Totals]) -> list[dict[str, Any]]:
    return [
        {"currency": currency, "refunds": purse.refunds, **purse.money()}
        for currency, purse in sorted(purses.items())
    ]


def _by_format(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The summary's breakdown by sale format: counts, rates and money per currency."""
    totals: dict[str, domain.Totals] = {}
    purses: dict[str, dict[str, domain.Totals]] = {}
    for row in rows:
        totals.setdefault(row["format"], domain.Totals()).add(row)
        by_currency = purses.setdefault(row["format"], {})
        by_currency.setdefault(row["currency"], domain.Totals()).add(row)
    return [
        {
            "format": fmt,
            "listed": totals[fmt].listed,
            "sold": totals[fmt].sold,
            "unsold": totals[fmt].unsold,
            "cancelled": totals[fmt].cancelled,
            "bids": totals[fmt].bids,
            "orders": {
                "created": totals[fmt].orders_created,
                "paid": totals[fmt].orders_paid,
                "refunded": totals[fmt].refunds,
            },
            **totals[fmt].rates(),
            "money": _money(purses[fmt]),
        }
        for fmt in domain.FORMAT_ORDER
        if fmt in totals
    ]


def _day_row(row: dict[str, Any]) -> dict[str, Any]:
    totals = domain.Totals()
    totals.add(row)
    return {
        "day": row["day"].isoformat(),
        "category": row["category"],
        "currency": row["currency"],
        **{name: int(row[name]) for name in store.COUNTERS},
        **totals.money(),
        **totals.rates(),
    }


async def daily(command: Daily, *, ctx: Analytics) -> dict[str, Any]:
    """One row per UTC day, category and currency that saw anything."""
    start, end = _days(command.start, command.end, ctx)
    category = command.category
    async with ctx.db.read() as conn:
        rows = await rs.daily_rows(conn, start=start, end=end, category=category)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "category": category,
        "items": [_day_row(row) for row in rows],
    }


async def bids_per_minute(command: BidsPerMinute, *, ctx: Analytics) -> dict[str, Any]:
    """Bids per minute over every auction, the last ``minutes`` up to this one, quiet ones as 0."""
    minutes = command.minutes
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


async def auction_report(command: AuctionReport, *, ctx: Analytics) -> dict[str, Any]:
    """One auction's facts: bids per minute, time to first bid, result."""
    auction_id = command.auction_id
    async with ctx.db.read() as conn:
        facts = await rs.auction_facts(conn, auction_id)
        if facts is None:
            raise NotFound("not_found", "analytics has no record of this auction")
        minutes = await rs.minutes_of(conn, auction_id)
        refunds = await rs.refunds_of(conn, auction_id)
    hammer = facts["hammer_cents"]
    gross = int(hammer) if facts["sold"] and hammer is not None else 0
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
        "gross_gmv_cents": gross,
        "net_gmv_cents": gross - refunds["refunded_gmv_cents"],
        "refunds": refunds["refunds"],
        "refunded_cents": refunds["refunded_cents"],
        "refunded_at": _iso(refunds["refunded_at"]),
        "cancelled_at": _iso(facts["cancelled_at"]),
        "bids_per_minute": [
            {"minute": minute.isoformat(), "bids": count} for minute, count in minutes
        ],
        "peak_bids_per_minute": domain.peak(minutes),
        "average_bids_per_active_minute": domain.active_minutes_rate(minutes),
    }


async def search(query: SearchQuery, *, ctx: Analytics) -> SearchPage:
    """Lots matching a query, with facets; no page beyond the ``MAX_WINDOW``-th hit."""
    if query.offset + query.limit > MAX_WINDOW:
        raise Invalid("validation_error", f"offset + limit may not pass {MAX_WINDOW}")
    low, high = query.min_price_cents, query.max_price_cents
    if low is not None and high is not None and low > high:
        raise Invalid("validation_error", "min_price must not exceed max_price")
    tree = await ctx.categories.current()
    if query.category is not None:
        query = replace(query, categories=frozenset(subtree(tree, query.category)))
    page = await ctx.search.search(query)
    page.categories = {
        slug: count for slug, count in roll_up(tree, page.categories).items() if count
    }
    page.names = index(tree)
    now = ctx.clock()
    page.items = [domain.clock_priced(item, now) for item in page.items]
    return page


# The export reads the log a page at a time, each page in its own short read.
EXPORT_PAGE = 500


def _audit_scope(query: AuditQuery) -> tuple[audit.Scope, tuple[datetime, str] | None]:
    try:
        scope = audit.scope(
            actor_id=query.actor_id,
            action=query.action,
            target=query.target,
            start=query.start,
            end=query.end,
        )
        return scope, audit.decode_cursor(query.cursor) if query.cursor else None
    except audit.BadQuery as error:
        raise Invalid(error.code, str(error)) from error


async def audit_page(query: AuditQuery, *, ctx: Analytics) -> dict[str, Any]:
    """One page of the audit log, newest first, and the cursor of the next (None on the last)."""
    scope, after = _audit_scope(query)
    async with ctx.db.read() as conn:
        found = await audit_store.records(conn, scope, after=after, limit=query.limit + 1)
    page = found[: query.limit]
    more = len(found) > query.limit
    return {"items": page, "next_cursor": audit.encode_cursor(page[-1]) if more else None}


def audit_export(query: AuditQuery, *, ctx: Analytics) -> AsyncIterator[dict[str, Any]]:
    """Every record a query asks for, newest first (its filters checked before the first)."""
    scope, after = _audit_scope(query)

    async def every_record() -> AsyncIterator[dict[str, Any]]:
        position = after
        while True:
            async with ctx.db.read() as conn:
                page = await audit_store.records(conn, scope, after=position, limit=EXPORT_PAGE)
            for record in page:
                yield record
            if len(page) < EXPORT_PAGE:
                return
            position = audit.position(page[-1])

    return every_record()
