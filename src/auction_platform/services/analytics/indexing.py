"""The search consumer: keeps each lot's search document current from events.

Handled in the transaction that records the event in the inbox. Events of one
lot can arrive late or out of order, so every change is one that order cannot
spoil: a status only moves forward (a closed lot never reopens), a bid applies
only when its ledger sequence is newer than the last one applied, an end only
moves later (but for an edit before the first bid, and a lot bought at once, which
ends then), and a listing's price and end apply only until the lot's first bid
(its words whenever the edit arrives).
Cancelled lots keep their row (so nothing can bring them back) but no backend
ever returns them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auction_platform.contracts.auctions import (
    AUCTION_CANCELLED,
    AUCTION_CLOSED,
    AUCTION_EDITED,
    AUCTION_EXTENDED,
    AUCTION_OPENED,
    AUCTION_PUBLISHED,
    BID_PLACED,
    BID_RETRACTED,
)
from auction_platform.contracts.events import Envelope
from auction_platform.core.uow import Transaction
from auction_platform.services.analytics import search_store as ss
from auction_platform.services.analytics.domain import (
    LotStatus,
    dutch_clock,
    parse_time,
    sale_format,
    status_advances,
    utc,
)

Change = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
# A lot takes bids and later ends only until it has closed or been cancelled.
_BEFORE_THE_END = (LotStatus.SCHEDULED, LotStatus.OPEN)


def _listing(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": str(data["title"]),
        "description": str(data.get("description") or ""),
        "category": str(data["category"]),
        "currency": str(data["currency"]),
        "format": sale_format(data),
        "dutch": dutch_clock(data),
        "start_cents": int(data["start_cents"]),
        "starts_at": parse_time(data["starts_at"]),
        "ends_at": parse_time(data["ends_at"]),
    }


async def listed(tx: Transaction, event: Envelope) -> None:
    """AuctionPublished / AuctionEdited: index the lot, or take its edited terms."""
    auction_id = str(event.data["auction_id"])
    listing = _listing(event.data)
    doc = await ss.document_for_update(tx.conn, auction_id)
    if doc is None:
        if await ss.add_listing(tx.conn, auction_id, listing, listed_at=utc(event.occurred_at)):
            return
        doc = await ss.document_for_update(tx.conn, auction_id)  # another replica won
        assert doc is not None
    if doc["status"] == LotStatus.CANCELLED:
        return
    # A lot is edited only before its first bid, so an edit always describes the lot;
    # but it may arrive after that bid (they travel on different queues). Its words
    # apply then too; its price and end do only while no bid has been applied, as a
    # bid carries the book's own (which followed the edit).
    fields = ss.LISTING_FIELDS if _unbid(doc) else ss.DESCRIPTION_FIELDS
    changes = {name: listing[name] for name in fields if doc[name] != listing[name]}
    if _unbid(doc) and doc["price_cents"] != listing["start_cents"]:
        changes["price_cents"] = listing["start_cents"]
    if changes:
        await ss.change(tx.conn, doc, **changes)


def _unbid(doc: dict[str, Any]) -> bool:
    """Whether the document still shows a lot's terms: before the end, no bid applied."""
    return doc["status"] in _BEFORE_THE_END and doc["last_seq"] == 0


def _moved_on(doc: dict[str, Any], status: LotStatus) -> dict[str, Any]:
    """The document's new status, if it is a step forward."""
    return {"status": status.value} if status_advances(doc["status"], status) else {}


def _opened(doc: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return _moved_on(doc, LotStatus.OPEN)


def _bid_placed(doc: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    seq = int(data["seq"])
    if doc["status"] not in _BEFORE_THE_END or seq <= doc["last_seq"]:
        return {}
    changes: dict[str, Any] = {
        "status": LotStatus.OPEN.value,
        "price_cents": int(data["price_cents"]),
        "bid_count": int(data["bid_count"]),
        "last_seq": seq,
    }
    ends_at = parse_time(data["ends_at"])
    if doc["ends_at"] is None or ends_at > doc["ends_at"]:
        changes["ends_at"] = ends_at
    return changes


def _retracted(doc: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    if doc["status"] != LotStatus.OPEN:
        return {}
    return {"price_cents": int(data["price_cents"]), "bid_count": int(data["bid_count"])}


def _extended(doc: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    ends_at = parse_time(data["ends_at"])
    if doc["status"] not in _BEFORE_THE_END:
        return {}
    if doc["ends_at"] is not None and ends_at <= doc["ends_at"]:
        return {}
    return {"ends_at": ends_at}


def _closed(doc: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    if not status_advances(doc["status"], LotStatus.CLOSED):
        return {}
    changes: dict[str, Any] = {
        "status": LotStatus.CLOSED.value,
        "price_cents": int(data["price_cents"]),
        "bid_count": int(data["bid_count"]),
    }
    if data.get("by_buy_now"):
        changes["ends_at"] = parse_time(data["closed_at"])  # bought at once: it ended then
    return changes


def _cancelled(doc: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return _moved_on(doc, LotStatus.CANCELLED)


_CHANGES: dict[str, Change] = {
    AUCTION_OPENED: _opened,
    BID_PLACED: _bid_placed,
    BID_RETRACTED: _retracted,
    AUCTION_EXTENDED: _extended,
    AUCTION_CLOSED: _closed,
    AUCTION_CANCELLED: _cancelled,
}
EVENT_TYPES = (AUCTION_PUBLISHED, AUCTION_EDITED, *_CHANGES)


async def update_search(tx: Transaction, event: Envelope) -> None:
    """Apply one event to the search documents."""
    if event.type in (AUCTION_PUBLISHED, AUCTION_EDITED):
        await listed(tx, event)
        return
    change = _CHANGES.get(event.type)
    if change is None:
        return
    doc = await ss.document_for_update(tx.conn, str(event.data["auction_id"]))
    if doc is None:
        return  # never listed here (or listed before analytics existed): nothing to update
    values = change(doc, event.data)
    if values:
        await ss.change(tx.conn, doc, **values)
