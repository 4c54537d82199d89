"""Engine values to and from the JSON the book row keeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from auction_platform.services.bidding import engine


def rules_from(data: dict[str, Any]) -> engine.Rules:
    """Engine rules from an auction's rules (``AuctionRulesData``)."""
    soft, clock = data.get("soft_close"), data.get("dutch")
    return engine.Rules(
        start_cents=int(data["start_cents"]),
        reserve_cents=data.get("reserve_cents"),
        buy_now_cents=data.get("buy_now_cents"),
        seller_id=str(data["seller_id"]),
        starts_at=datetime.fromisoformat(data["starts_at"]),
        ends_at=datetime.fromisoformat(data["ends_at"]),
        soft_close=engine.SoftClose(
            window=timedelta(seconds=soft["window_seconds"]),
            extend_by=timedelta(seconds=soft["extend_seconds"]),
            max_extensions=int(soft["max_extensions"]),
        )
        if soft
        else None,
        increments=engine.IncrementTable(
            tuple((int(start), int(step)) for start, step in data["increments"])
        )
        if data.get("increments")
        else engine.EBAY_INCREMENTS,
        # Rules written before there were formats are English auctions.
        format=engine.Format(data.get("format") or engine.Format.ENGLISH),
        clock=engine.DutchClock(
            floor_cents=int(clock["floor_cents"]),
            step_cents=int(clock["step_cents"]),
            tick=timedelta(seconds=clock["tick_seconds"]),
        )
        if clock
        else None,
    )


_FIELDS = (
    "price_cents",
    "leader_id",
    "leader_max_cents",
    "runner_up_id",
    "runner_up_max_cents",
    "bid_count",
    "extensions",
    "buyer_id",
)


def dump(book: engine.Book) -> dict[str, Any]:
    """The mutable part of a book (its rules are stored beside it)."""
    state: dict[str, Any] = {name: getattr(book, name) for name in _FIELDS}
    state["ends_at"] = book.ends_at.isoformat()
    state["sealed"] = [[bidder_id, cents] for bidder_id, cents in book.sealed]
    return state


def load(state: dict[str, Any], rules: engine.Rules) -> engine.Book:
    """A book from its stored state and rules."""
    values: dict[str, Any] = {name: state.get(name) for name in _FIELDS}
    values["bid_count"] = int(values["bid_count"] or 0)
    values["extensions"] = int(values["extensions"] or 0)
    # A book stored before sealed bids existed has none.
    values["sealed"] = tuple((str(who), int(cents)) for who, cents in state.get("sealed") or ())
    return engine.Book(rules=rules, ends_at=datetime.fromisoformat(state["ends_at"]), **values)


def replay_keeping_end(bids: list[engine.Bid], before: engine.Book) -> engine.Book:
    """The book without a retracted bid: the remaining ledger replayed, the end kept.

    The end already announced stands (a retraction never shortens an auction), and
    every remaining bid was placed before it, so the replay runs against that end
    with no further extensions; the book then goes on under the original rules.
    """
    rules = before.rules
    frozen = replace(rules, ends_at=before.ends_at, soft_close=None)
    replayed = engine.replay(frozen, bids)
    return replace(replayed, rules=rules, ends_at=before.ends_at, extensions=before.extensions)
