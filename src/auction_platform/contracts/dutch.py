"""The price of a Dutch lot's descending clock: the one formula every service shows.

A Dutch lot's price starts at its start price and falls by ``step_cents`` at each
``tick`` after the lot's start, never below ``floor_cents``. It is computed from the
rules and the moment asked about, never stored per tick: the bid book sells at it,
the lot and the site show it, and all agree at the same moment because they share
this formula. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any


def price_at(
    start_cents: int,
    floor_cents: int,
    step_cents: int,
    tick: timedelta,
    starts_at: datetime,
    at: datetime,
) -> int:
    """The price at ``at``: the start price until the first tick, a step less at each tick."""
    # Never below the floor: the lowest price the seller takes.
    return max(floor_cents, start_cents - _ticks(tick, starts_at, at) * step_cents)


def price_until(
    start_cents: int, clock: Mapping[str, Any], starts_at: datetime, ends_at: datetime, at: datetime
) -> int:
    """The price at ``at`` of a lot ending at ``ends_at`` (the clock stops at the end), its
    clock given as a listing states it (``floor_cents``, ``step_cents``, ``tick_seconds``)."""
    return price_at(
        start_cents,
        int(clock["floor_cents"]),
        int(clock["step_cents"]),
        timedelta(seconds=int(clock["tick_seconds"])),
        starts_at,
        min(at, ends_at),
    )


def next_drop_at(
    start_cents: int,
    floor_cents: int,
    step_cents: int,
    tick: timedelta,
    starts_at: datetime,
    at: datetime,
) -> datetime | None:
    """The first moment after ``at`` at which the price falls; None once it is at the floor."""
    if price_at(start_cents, floor_cents, step_cents, tick, starts_at, at) <= floor_cents:
        return None
    return starts_at + (_ticks(tick, starts_at, at) + 1) * tick


def _ticks(tick: timedelta, starts_at: datetime, at: datetime) -> int:
    # Whole ticks elapsed, so the price changes exactly at each tick and holds between them;
    # before the start no tick has passed.
    return max(0, (at - starts_at) // tick)
