"""How a lot looks from outside: to the public, to its seller, in events, to the bid book.

A lot's *document* is computed once per change (and cached): the public part
that anyone may see, and the private part only its seller and admins see (the
reserve, who leads, who won). ``for_viewer`` puts the answer together per
request, so one cached copy serves every caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from auction_platform.contracts.auctions import (
    AuctionCancelledData,
    AuctionEndingSoonData,
    AuctionRulesData,
    DutchClockData,
    SoftCloseData,
)
from auction_platform.contracts.dutch import price_until
from auction_platform.services.auction import delivery, domain
from auction_platform.services.auction.domain import Actor, Caller, Lot


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _soft_close(lot: Lot) -> SoftCloseData | None:
    soft = lot.terms.soft_close
    if soft is None:
        return None
    return {
        "window_seconds": soft.window_seconds,
        "extend_seconds": soft.extend_seconds,
        "max_extensions": soft.max_extensions,
    }


def _dutch(lot: Lot) -> DutchClockData | None:
    clock = lot.terms.dutch
    if clock is None:
        return None
    return {
        "floor_cents": clock.floor_cents,
        "step_cents": clock.step_cents,
        "tick_seconds": clock.tick_seconds,
    }


def _times(lot: Lot) -> tuple[str | None, str | None, int | None]:
    """Start, planned end and length as a reader sees them: what is not fixed yet is None.

    A draft left to start when published has only provisional times (as if published
    now); with a duration, its end is not known either.
    """
    terms = lot.terms
    length = terms.ends_at - terms.starts_at
    if not terms.starts_when_published:
        return terms.starts_at.isoformat(), terms.ends_at.isoformat(), int(length.total_seconds())
    if terms.duration is None:
        return None, terms.ends_at.isoformat(), None
    return None, None, int(terms.duration.total_seconds())


def document(lot: Lot) -> dict[str, Any]:
    """Everything about a lot as JSON: ``public`` for anyone, ``private`` for its owner."""
    terms = lot.terms
    available = domain.buy_now_available(lot)
    starts_at, planned_end, duration = _times(lot)
    public = {
        "id": lot.id,
        "seller_id": lot.seller_id,
        "title": terms.title,
        "description": terms.description,
        "category": terms.category,
        "images": list(terms.images),
        "currency": terms.currency,
        "status": lot.status.value,
        "outcome": lot.outcome.value if lot.outcome else None,
        "start_cents": terms.start_cents,
        "current_price_cents": lot.current_price_cents,
        "final_price_cents": lot.final_price_cents,
        "bid_count": lot.bid_count,
        "reserve_met": domain.reserve_met(lot),
        "buy_now_cents": terms.buy_now_cents if available else None,
        "buy_now_available": available,
        "increments": [list(row) for row in terms.increments],
        "soft_close": _soft_close(lot),
        "format": terms.format.value,
        "dutch": _dutch(lot),
        "extensions": lot.extensions,
        "starts_at": starts_at,
        "starts_when_published": terms.starts_when_published,
        "duration_seconds": duration,
        # The end as it stands: extended by late bids, or the moment of a Buy It Now.
        "ends_at": lot.ends_at.isoformat() if planned_end is not None else None,
        "scheduled_ends_at": planned_end,
        "cancelled_by": lot.cancelled_by.value if lot.cancelled_by else None,
        "published_at": _iso(lot.published_at),
        "opened_at": _iso(lot.opened_at),
        "closed_at": _iso(lot.closed_at),
        "created_at": lot.created_at.isoformat(),
        "updated_at": lot.updated_at.isoformat(),
        "relisted_from": lot.relisted_from,
        "sale_id": lot.sale_id,
        "delivery": delivery.to_data(terms.delivery),
    }
    private = {
        "reserve_cents": terms.reserve_cents,
        "buy_now_cents": terms.buy_now_cents,
        "leader_id": lot.leader_id,
        "winner_id": lot.winner_id,
        "relisted_as": lot.relisted_as,
    }
    return {"public": public, "private": private}


def current_price(lot: Lot, now: datetime) -> int:
    """A lot's price at ``now``: an open Dutch lot's by its clock (stopped at its end)."""
    clock = _dutch(lot)
    if lot.status is not domain.Status.OPEN or clock is None:
        return lot.current_price_cents
    return price_until(lot.terms.start_cents, clock, lot.terms.starts_at, lot.ends_at, now)


def clock_price(public: dict[str, Any], now: datetime) -> int | None:
    """An open Dutch lot's price at ``now`` (the clock stops at its end); None for any other.

    The document is cached per change, and a Dutch price changes at every tick with no
    change to the lot, so the price is worked out per answer from the lot's terms.
    """
    clock = public["dutch"]
    if public["format"] != "dutch" or public["status"] != "open" or clock is None:
        return None
    starts_at, ends_at = (datetime.fromisoformat(public[k]) for k in ("starts_at", "ends_at"))
    return price_until(public["start_cents"], clock, starts_at, ends_at, now)


def for_viewer(
    doc: dict[str, Any], viewer: Caller | None, *, now: datetime, summary: bool = False
) -> dict[str, Any]:
    """A lot as ``viewer`` may see it at ``now``: the reserve and bidders' ids for its owner."""
    public: dict[str, Any] = doc["public"]
    private: dict[str, Any] = doc["private"]
    view = dict(public)
    dutch_price = clock_price(public, now)
    if dutch_price is not None:
        view["current_price_cents"] = dutch_price
    if summary:
        del view["description"]
        view.pop("delivery", None)
    subject = viewer.user_id if viewer is not None else None
    is_seller = subject is not None and subject == public["seller_id"]
    if is_seller or (viewer is not None and viewer.admin):
        view.update(private)
    view["viewer"] = {
        "is_seller": is_seller,
        "is_leading": subject is not None and subject == private["leader_id"],
        "has_won": subject is not None and subject == private["winner_id"],
    }
    return view


def visible(doc: dict[str, Any], viewer: Caller | None) -> bool:
    """Drafts only for their seller and admins."""
    return domain.visible_to(
        domain.Status(doc["public"]["status"]),
        seller_id=doc["public"]["seller_id"],
        viewer_id=viewer.user_id if viewer is not None else None,
        admin=viewer is not None and viewer.admin,
    )


def rules(lot: Lot) -> AuctionRulesData:
    """What the bid book needs to run the auction (the seller's terms, not its progress)."""
    terms = lot.terms
    return {
        "auction_id": lot.id,
        "seller_id": lot.seller_id,
        "title": terms.title,
        "currency": terms.currency,
        "start_cents": terms.start_cents,
        "reserve_cents": terms.reserve_cents,
        "buy_now_cents": terms.buy_now_cents,
        "starts_at": terms.starts_at.isoformat(),
        "ends_at": terms.ends_at.isoformat(),
        "soft_close": _soft_close(lot),
        "increments": [list(row) for row in terms.increments],
        "format": terms.format.value,
        "dutch": _dutch(lot),
    }


def published(lot: Lot) -> dict[str, Any]:
    """``AuctionPublished`` and ``AuctionEdited``: the rules, what a catalogue shows, delivery."""
    return {
        **rules(lot),
        "category": lot.terms.category,
        "description": lot.terms.description,
        "images": list(lot.terms.images),
        "delivery": delivery.to_data(lot.terms.delivery),
    }


def cancelled(
    lot: Lot, *, by: Actor, bids_voided: bool, bidder_ids: list[str], reason: str | None = None
) -> AuctionCancelledData:
    """``AuctionCancelled``: who cancelled, why (when they said), and whose bids were voided."""
    data: AuctionCancelledData = {
        "auction_id": lot.id,
        "title": lot.terms.title,
        "seller_id": lot.seller_id,
        "by": by.value,
        "bids_voided": bids_voided,
        "bidder_ids": bidder_ids,
    }
    if reason:
        data["reason"] = reason
    return data


def ending_soon(lot: Lot, *, minutes_left: int, recipient_ids: list[str]) -> AuctionEndingSoonData:
    """``AuctionEndingSoon``: tell the watchers and bidders."""
    return {
        "auction_id": lot.id,
        "title": lot.terms.title,
        "ends_at": lot.ends_at.isoformat(),
        "minutes_left": minutes_left,
        "recipient_ids": recipient_ids,
    }
