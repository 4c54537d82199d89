"""Who hears about what: each consumed event becomes notices for the right people.

Pure: an event in, a list of ``Notice`` out, no I/O. A notice names its template
(``kind``), the kind of notice the recipient's preferences are keyed by
(``preference``, one of identity's notices), the recipient and the values the
template reads. A missing field fails the event, which the broker retries and
then dead-letters (a malformed event must not be acknowledged silently).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auction_platform.contracts import payments
from auction_platform.contracts.events import Envelope


@dataclass(frozen=True, slots=True)
class Notice:
    """One message for one person, on whichever channels they allow for ``preference``."""

    kind: str
    preference: str
    user_id: str
    values: Mapping[str, Any]


def outbid(event: Envelope) -> list[Notice]:
    """``bidding.Outbid``: the former leader may bid again."""
    data = event.data
    values = {
        "auction_id": str(data["auction_id"]),
        # Not in the contract yet: the copy reads well without it.
        "title": data.get("title"),
        "price_cents": int(data["price_cents"]),
        "currency": str(data["currency"]),
        "ends_at": str(data["ends_at"]),
    }
    return [Notice("outbid", "outbid", str(data["user_id"]), values)]


def ending_soon(event: Envelope) -> list[Notice]:
    """``auction.AuctionEndingSoon``: every watcher and bidder it names."""
    data = event.data
    values = {
        "auction_id": str(data["auction_id"]),
        "title": str(data["title"]),
        "ends_at": str(data["ends_at"]),
        "minutes_left": int(data["minutes_left"]),
    }
    return [
        Notice("ending_soon", "ending_soon", str(user), values)
        for user in _unique(data["recipient_ids"])
    ]


def auction_closed(event: Envelope) -> list[Notice]:
    """``bidding.AuctionClosed``: the winner has won; the seller has sold, or not."""
    data = event.data
    values = {
        "auction_id": str(data["auction_id"]),
        "title": str(data["title"]),
        "price_cents": int(data["price_cents"]),
        "currency": str(data["currency"]),
        "bid_count": int(data["bid_count"]),
        "reserve_met": bool(data["reserve_met"]),
        "by_buy_now": bool(data["by_buy_now"]),
    }
    seller = str(data["seller_id"])
    winner = data.get("winner_id")
    if bool(data["sold"]) and winner is not None:
        return [
            Notice("won", "won", str(winner), values),
            Notice("sold", "sold", seller, values),
        ]
    return [Notice("not_sold", "not_sold", seller, values)]


def auction_cancelled(event: Envelope) -> list[Notice]:
    """``auction.AuctionCancelled``: its bidders; and the seller when an admin cancelled."""
    data = event.data
    values = {
        "auction_id": str(data["auction_id"]),
        "title": str(data["title"]),
        "by": str(data["by"]),
        "bids_voided": bool(data["bids_voided"]),
    }
    seller = str(data["seller_id"])
    notices = [
        Notice("auction_cancelled", "auction_cancelled", str(user), values)
        for user in _unique(data["bidder_ids"])
        if str(user) != seller
    ]
    if values["by"] == "admin":
        notices.append(Notice("auction_cancelled_seller", "auction_cancelled", seller, values))
    return notices


def payment_due(event: Envelope) -> list[Notice]:
    """``payment.OrderCreated`` and ``payment.PaymentReminderDue``: the buyer owes payment."""
    values = _order(event.data)
    if event.type == payments.PAYMENT_REMINDER:
        values["hours_after"] = int(event.data["hours_after"])
        return [Notice("payment_reminder", "payment_due", values["buyer_id"], values)]
    return [Notice("payment_due", "payment_due", values["buyer_id"], values)]


def payment_received(event: Envelope) -> list[Notice]:
    """``payment.OrderPaid``: a receipt for the buyer, the news for the seller."""
    values = _order(event.data)
    values["payout_cents"] = values["hammer_cents"] - values["seller_fee_cents"]
    return [
        Notice("payment_received_buyer", "payment_received", values["buyer_id"], values),
        Notice("payment_received_seller", "payment_received", values["seller_id"], values),
    ]


def second_chance(event: Envelope) -> list[Notice]:
    """``payment.SecondChanceOffered``: the runner-up may buy at their maximum."""
    data = event.data
    values = {
        "offer_id": str(data["offer_id"]),
        "auction_id": str(data["auction_id"]),
        "title": str(data["title"]),
        "price_cents": int(data["price_cents"]),
        "currency": str(data["currency"]),
        "due_at": str(data["due_at"]),
    }
    return [Notice("second_chance", "second_chance", str(data["user_id"]), values)]


def welcome(event: Envelope) -> list[Notice]:
    """``identity.UserRegistered``: a welcome to the new account."""
    data = event.data
    values = {"display_name": str(data["display_name"])}
    return [Notice("welcome", "account", str(data["user_id"]), values)]


def _order(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "order_id": str(data["order_id"]),
        "auction_id": str(data["auction_id"]),
        "title": str(data["title"]),
        "buyer_id": str(data["buyer_id"]),
        "seller_id": str(data["seller_id"]),
        "currency": str(data["currency"]),
        "hammer_cents": int(data["hammer_cents"]),
        "buyers_premium_cents": int(data["buyers_premium_cents"]),
        "seller_fee_cents": int(data["seller_fee_cents"]),
        "total_cents": int(data["total_cents"]),
        "due_at": str(data["due_at"]),
        "second_chance": bool(data.get("second_chance", False)),
    }


def _unique(ids: Any) -> list[str]:
    """Each id once, in order (a watcher who also bid is told once)."""
    return list(dict.fromkeys(str(user) for user in ids))
