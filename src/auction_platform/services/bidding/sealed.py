"""The standing bids of a sealed-bid auction: one per bidder, best first, and the price due.

Pure: standard library only, plain values. A bidder's standing bid is ``(bidder_id,
amount_cents)``; the tuple is ordered by amount, highest first, and among equal amounts
by the moment each was made, so its head is the leader.
"""

from __future__ import annotations

from typing import NamedTuple

Standing = tuple[tuple[str, int], ...]


class Top(NamedTuple):
    """Who leads and who follows, by their standing bids, and what the leader would pay."""

    price_cents: int
    leader_id: str | None
    leader_max_cents: int | None
    runner_up_id: str | None
    runner_up_max_cents: int | None


def own_bid(standing: Standing, bidder_id: str) -> int | None:
    """The bidder's standing bid, or None if they have not bid."""
    return next((amount for who, amount in standing if who == bidder_id), None)


def with_bid(standing: Standing, bidder_id: str, amount_cents: int) -> Standing:
    """The standing bids once ``bidder_id`` bids ``amount_cents`` (a first bid or a raise)."""
    others = [entry for entry in standing if entry[0] != bidder_id]
    # A tie goes to the earlier bid, and a raise is made now: it queues behind every bid
    # already standing at its amount.
    place = next((i for i, (_, amount) in enumerate(others) if amount < amount_cents), len(others))
    return (*others[:place], (bidder_id, amount_cents), *others[place:])


def price(
    standing: Standing, *, second_price: bool, start_cents: int, reserve_cents: int | None
) -> int:
    """What the leader would pay if the auction closed now (the start price with no bids)."""
    # First price: the leader's bid. Second price (Vickrey): the second-highest bid, or the
    # start price with a single bidder, raised to the reserve when the leader meets it.
    if not standing:
        return start_cents
    top = standing[0][1]
    if not second_price:
        return top
    due = standing[1][1] if len(standing) > 1 else start_cents
    # Below the reserve the lot does not sell, and the price says so by staying under it.
    if reserve_cents is not None and top >= reserve_cents:
        due = max(due, reserve_cents)
    return due


def top(
    standing: Standing, *, second_price: bool, start_cents: int, reserve_cents: int | None
) -> Top:
    """The leader and runner-up of ``standing`` and the price (see ``price``)."""
    due = price(
        standing, second_price=second_price, start_cents=start_cents, reserve_cents=reserve_cents
    )
    leader_id, leader_cents = standing[0] if standing else (None, None)
    runner_up_id, runner_up_cents = standing[1] if len(standing) > 1 else (None, None)
    return Top(due, leader_id, leader_cents, runner_up_id, runner_up_cents)
