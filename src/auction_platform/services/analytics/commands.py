"""The commands of the analytics use cases: which report, over which range.

Search takes ``search.SearchQuery``. Standard library only, like ``domain``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class RecentEvents:
    """The newest events of the event store, of one type when ``event_type`` is given."""

    event_type: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Summary:
    """Totals and rates over UTC days ``start`` to ``end`` (by default the last 30 days)."""

    start: date | None = None
    end: date | None = None


@dataclass(frozen=True, slots=True)
class Daily:
    """Counters per UTC day, category and currency; one category when given."""

    start: date | None = None
    end: date | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class BidsPerMinute:
    """Bids per minute over every auction: the last ``minutes`` minutes, this one included."""

    minutes: int = 60


@dataclass(frozen=True, slots=True)
class AuctionReport:
    """One auction's facts."""

    auction_id: str


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Audit records newest first: by exact actor, action and target, from and to
    (``audit.moment``), after ``cursor``; ``limit`` per page (the export reads them all)."""

    actor_id: str | None = None
    action: str | None = None
    target: str | None = None
    start: str | None = None
    end: str | None = None
    cursor: str | None = None
    limit: int = 50
