"""The descending clock of a Dutch auction: the price at any moment, and when it next falls.

Pure: standard library and the shared formula only, plain values. The price is computed
from the rules and the moment asked about, never stored per tick, so every reader at the
same moment agrees; the formula itself is in ``contracts.dutch``, which the lot and the
site show the price by too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from auction_platform.contracts.dutch import next_drop_at, price_at

__all__ = ["DutchClock", "next_drop_at", "price_at"]


@dataclass(frozen=True, slots=True)
class DutchClock:
    """A Dutch lot's price falls by ``step_cents`` at each ``tick``, down to ``floor_cents``."""

    floor_cents: int
    step_cents: int
    tick: timedelta

    def __post_init__(self) -> None:
        # The floor's place below the start price is checked with the rules, which know both.
        if self.floor_cents <= 0 or self.step_cents <= 0 or self.tick <= timedelta(0):
            raise ValueError("a Dutch clock's floor, step and tick must be positive")

    def price_at(self, start_cents: int, starts_at: datetime, at: datetime) -> int:
        """``price_at`` under this clock."""
        return price_at(start_cents, self.floor_cents, self.step_cents, self.tick, starts_at, at)

    def next_drop_at(self, start_cents: int, starts_at: datetime, at: datetime) -> datetime | None:
        """``next_drop_at`` under this clock."""
        return next_drop_at(
            start_cents, self.floor_cents, self.step_cents, self.tick, starts_at, at
        )

    def price_until(
        self, start_cents: int, starts_at: datetime, ends_at: datetime, at: datetime
    ) -> int:
        """The price at ``at`` of a lot ending at ``ends_at``: the clock stops at the end."""
        return self.price_at(start_cents, starts_at, min(at, ends_at))

    def drop_before(
        self, start_cents: int, starts_at: datetime, ends_at: datetime, at: datetime
    ) -> datetime | None:
        """When the price next falls after ``at``; None at the floor or if the end comes first."""
        drop = self.next_drop_at(start_cents, starts_at, at)
        return drop if drop is not None and drop < ends_at else None
