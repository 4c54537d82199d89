"""Who hears about what: each consumed event becomes notices for the right people.

Pure: an event in, a list of ``Notice`` out, no I/O. A notice names its template
(``kind``, a ``Kind``), the kind of notice the recipient's preferences are keyed by
(``preference``, a ``Preference``: one of identity's notices, or the account's
standing, which no preference switches off), the recipient and the values the
template reads. A missing field fails the event, which the broker retries and
then dead-letters (a malformed event must not be acknowledged silently).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auction_platform.contracts import payments
from auction_platform.contracts.events import Envelope

BIDDER = "bidder"  # the role every account has, and the only one a registration gives


class Kind(StrEnum):
    """A notice's template: ``email/<kind>.txt`` and ``.html``, ``sms/<kind>.txt``."""

    OUTBID = "outbid"
    ENDING_SOON = "ending_soon"
    WON = "won"
    SOLD = "sold"
    NOT_SOLD = "not_sold"
    RESERVE_NOT_MET = "reserve_not_met"
    LOST = "lost"
    AUCTION_CANCELLED = "auction_cancelled"
    AUCTION_CANCELLED_SELLER = "auction_cancelled_seller"
    PAYMENT_DUE = "payment_due"
    PAYMENT_REMINDER = "payment_reminder"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_RECEIVED_BUYER = "payment_received_buyer"
    PAYMENT_RECEIVED_SELLER = "payment_received_seller"
    REFUNDED_BUYER = "refunded_buyer"
    REFUNDED_SELLER = "refunded_seller"
    ORDER_SHIPPED = "order_shipped"
    ORDER_RECEIVED = "order_received"
    PAYOUT_SENT = "payout_sent"
    SECOND_CHANCE = "second_chance"
    FEEDBACK_RECEIVED = "feedback_received"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_MESSAGE = "dispute_message"
    DISPUTE_RESOLVED = "dispute_resolved"
    WELCOME = "welcome"
    REPORT_RESOLVED = "report_resolved"
    REPORT_WARNING = "report_warning"
    ACCOUNT_SUSPENDED = "account_suspended"
    ACCOUNT_REINSTATED = "account_reinstated"


class Preference(StrEnum):
    """What a recipient's preferences are keyed by: one of identity's notices, or one no
    preference switches off."""

    OUTBID = "outbid"
    ENDING_SOON = "ending_soon"
    WON = "won"
    SOLD = "sold"
    NOT_SOLD = "not_sold"
    AUCTION_CANCELLED = "auction_cancelled"
    PAYMENT_DUE = "payment_due"
    PAYMENT_RECEIVED = "payment_received"
    DELIVERY = "delivery"
    SECOND_CHANCE = "second_chance"
    FEEDBACK = "feedback"
    ACCOUNT = "account"
    # Told whatever the account's preferences say: not a notice a user can switch off
    # (an unlisted notice goes by email only).
    ACCOUNT_STANDING = "account_standing"


@dataclass(frozen=True, slots=True)
class Notice:
    """One message for one person, on whichever channels they allow for ``preference``."""

    kind: Kind
    preference: Preference
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
    return [Notice(Kind.OUTBID, Preference.OUTBID, str(data["user_id"]), values)]


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
        Notice(Kind.ENDING_SOON, Preference.ENDING_SOON, str(user), values)
        for user in _unique(data["recipient_ids"])
    ]


def auction_closed(event: Envelope) -> list[Notice]:
    """``bidding.AuctionClosed``: the winner, the seller, a missed reserve's top bidder, the rest.

    The top bidder of a lot whose reserve was not met and the bidders who did not
    win are told from ``leader_id`` and ``bidder_ids``. An event without them (sent
    before they were in the contract) tells only the winner and the seller: a losing
    bidder cannot be told apart from the top one, and telling the top bidder "you
    did not win" would be wrong.
    """
    data = event.data
    seller, winner, leader = str(data["seller_id"]), data.get("winner_id"), data.get("leader_id")
    sold = bool(data["sold"]) and winner is not None
    reserve_met, bid_count = bool(data["reserve_met"]), int(data["bid_count"])
    values = {
        "auction_id": str(data["auction_id"]),
        "title": str(data["title"]),
        "price_cents": int(data["price_cents"]),
        "currency": str(data["currency"]),
        "bid_count": bid_count,
        "sold": sold,
        "reserve_met": reserve_met,
        "by_buy_now": bool(data["by_buy_now"]),
        # How it was sold (absent from events older than the formats: English).
        "sale_format": str(data.get("format") or "english"),
    }
    if sold:
        top: str | None = str(winner)
        notices = [
            Notice(Kind.WON, Preference.WON, str(winner), values),
            Notice(Kind.SOLD, Preference.SOLD, seller, values),
        ]
    else:
        top = str(leader) if leader is not None and bid_count > 0 else None
        notices = [Notice(Kind.NOT_SOLD, Preference.NOT_SOLD, seller, values)]
        if top is not None and not reserve_met and top != seller:
            notices.append(Notice(Kind.RESERVE_NOT_MET, Preference.WON, top, values))
    return notices + _losers(data, top=top, seller=seller, values=values)


def _losers(
    data: Mapping[str, Any], *, top: str | None, seller: str, values: Mapping[str, Any]
) -> list[Notice]:
    """The bidders who did not win; none when the event does not say who bid or who led."""
    bidders = data.get("bidder_ids")
    if bidders is None or (top is None and int(data["bid_count"]) > 0):
        return []
    # Losing is the last outbid: it follows the "outbid" preference.
    return [
        Notice(Kind.LOST, Preference.OUTBID, user, values)
        for user in _unique(bidders)
        if user not in (top, seller)
    ]


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
        Notice(Kind.AUCTION_CANCELLED, Preference.AUCTION_CANCELLED, str(user), values)
        for user in _unique(data["bidder_ids"])
        if str(user) != seller
    ]
    if values["by"] == "admin":
        notices.append(
            Notice(Kind.AUCTION_CANCELLED_SELLER, Preference.AUCTION_CANCELLED, seller, values)
        )
    return notices


def payment_due(event: Envelope) -> list[Notice]:
    """``payment.OrderCreated`` and ``payment.PaymentReminderDue``: the buyer owes payment."""
    values = _order(event.data)
    if event.type == payments.PAYMENT_REMINDER:
        values["hours_after"] = int(event.data["hours_after"])
        return [Notice(Kind.PAYMENT_REMINDER, Preference.PAYMENT_DUE, values["buyer_id"], values)]
    return [Notice(Kind.PAYMENT_DUE, Preference.PAYMENT_DUE, values["buyer_id"], values)]


def payment_received(event: Envelope) -> list[Notice]:
    """``payment.OrderPaid``: a receipt for the buyer, the news for the seller (how to deliver)."""
    values = {**_order(event.data), **_delivery(event.data)}
    # The seller is paid the price less the fee, and the shipping to spend on sending it.
    values["payout_cents"] = (
        values["hammer_cents"] - values["seller_fee_cents"] + values["shipping_cents"]
    )
    return [
        Notice(
            Kind.PAYMENT_RECEIVED_BUYER, Preference.PAYMENT_RECEIVED, values["buyer_id"], values
        ),
        Notice(
            Kind.PAYMENT_RECEIVED_SELLER, Preference.PAYMENT_RECEIVED, values["seller_id"], values
        ),
    ]


def payment_failed(event: Envelope) -> list[Notice]:
    """``payment.PaymentFailed``: the buyer's card was declined; they may try again."""
    values = _order(event.data)
    values["reason"] = " ".join(str(event.data["reason"]).split())
    return [Notice(Kind.PAYMENT_FAILED, Preference.PAYMENT_DUE, values["buyer_id"], values)]


def refunded(event: Envelope) -> list[Notice]:
    """``payment.OrderRefunded``: the buyer has their money back; the seller loses the sale."""
    values = _order(event.data)
    values["refunded_cents"] = int(event.data["refunded_cents"])
    values["payout_cents"] = values["hammer_cents"] - values["seller_fee_cents"]
    return [
        Notice(Kind.REFUNDED_BUYER, Preference.PAYMENT_RECEIVED, values["buyer_id"], values),
        Notice(Kind.REFUNDED_SELLER, Preference.PAYMENT_RECEIVED, values["seller_id"], values),
    ]


def delivery(event: Envelope) -> list[Notice]:
    """``payment.OrderShipped``: the buyer hears the lot is on its way (and how to track it);
    ``payment.OrderReceived``: the seller hears the buyer has it."""
    values = {**_order(event.data), **_delivery(event.data)}
    if event.type == payments.ORDER_SHIPPED:
        return [Notice(Kind.ORDER_SHIPPED, Preference.DELIVERY, values["buyer_id"], values)]
    values["automatically"] = bool(event.data["automatically"])
    values["received_at"] = str(event.data["received_at"])
    return [Notice(Kind.ORDER_RECEIVED, Preference.DELIVERY, values["seller_id"], values)]


def _delivery(data: Mapping[str, Any]) -> dict[str, Any]:
    """How an order reaches its buyer; an event from before delivery says nothing of it."""
    address = data.get("delivery_address") or {}
    city = " ".join(str(address.get(k) or "") for k in ("postal_code", "city")).strip()
    lines = [str(address.get(k) or "") for k in ("name", "line1", "line2")] + [city]
    lines += [str(address.get(k) or "") for k in ("region", "country", "phone")]
    return {
        "delivery_method": data.get("delivery_method"),
        "address_lines": [line for line in lines if line] if address else [],
        "pickup_town": data.get("pickup_town"),
        "tracking_number": data.get("tracking_number"),
        "carrier": data.get("carrier"),
    }


def payout_sent(event: Envelope) -> list[Notice]:
    """``payment.PayoutSent``: the seller's money of one order is on its way to their account."""
    data = event.data
    values = {
        "payout_id": str(data["payout_id"]),
        "order_id": str(data["order_id"]),
        "title": str(data["title"]),
        "amount_cents": int(data["amount_cents"]),
        "currency": str(data["currency"]),
        "paid_at": str(data["paid_at"]),
    }
    return [Notice(Kind.PAYOUT_SENT, Preference.PAYMENT_RECEIVED, str(data["seller_id"]), values)]


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
    return [Notice(Kind.SECOND_CHANCE, Preference.SECOND_CHANCE, str(data["user_id"]), values)]


def feedback_left(event: Envelope) -> list[Notice]:
    """``payment.FeedbackLeft``: the rated party hears what the other said (and a change of it)."""
    data = event.data
    rated = str(data["ratee_id"])
    values = {
        "order_id": str(data["order_id"]),
        "auction_id": str(data["auction_id"]),
        "title": str(data["title"]),
        "rater_role": str(data["rater_role"]),
        "rating": str(data["rating"]),
        "comment": " ".join(str(data["comment"]).split()),
        "edited": bool(data["edited"]),
        "rated_id": rated,
    }
    return [Notice(Kind.FEEDBACK_RECEIVED, Preference.FEEDBACK, rated, values)]


def dispute(event: Envelope) -> list[Notice]:
    """``payment.DisputeOpened`` (to the seller), ``DisputeMessage`` (to the party who did not
    write it; an admin's to both) and ``DisputeResolved`` (to both parties)."""
    data = event.data
    buyer, seller = str(data["buyer_id"]), str(data["seller_id"])
    values = {
        "order_id": str(data["order_id"]),
        "title": str(data["title"]),
        "currency": str(data["currency"]),
        "reason": str(data["reason"]),
        "outcome": data.get("outcome"),
        "paid_cents": int(data["paid_cents"]),
        "refunded_cents": int(data["refunded_cents"]),
        "author_role": data.get("author_role"),
        "body": data.get("body"),
        "amount_cents": data.get("amount_cents"),
    }
    if event.type == payments.DISPUTE_OPENED:
        return [
            Notice(Kind.DISPUTE_OPENED, Preference.DELIVERY, seller, {**values, "side": "seller"})
        ]
    kind = (
        Kind.DISPUTE_RESOLVED if event.type == payments.DISPUTE_RESOLVED else Kind.DISPUTE_MESSAGE
    )
    author = data.get("author_id")
    told = [(buyer, "buyer"), (seller, "seller")]
    if kind is Kind.DISPUTE_MESSAGE:
        told = [(user, side) for user, side in told if user != author]
    return [
        Notice(kind, Preference.DELIVERY, user, {**values, "side": side}) for user, side in told
    ]


def welcome(event: Envelope) -> list[Notice]:
    """``identity.UserRegistered``: a welcome to the new account, in the words of its roles.

    An account registers as a bidder; one the event says was made with more roles
    (an admin from ``create-admin``) is not invited to ask for the seller role.
    """
    data = event.data
    roles = [str(role) for role in data.get("roles") or (BIDDER,)]
    values = {"display_name": str(data["display_name"]), "roles": roles}
    return [Notice(Kind.WELCOME, Preference.ACCOUNT, str(data["user_id"]), values)]


def report_resolved(event: Envelope) -> list[Notice]:
    """``auction.ReportResolved``: each reporter learns the outcome; a warned member is warned.

    The admin's note is for the member warned, not for the reporters.
    """
    data = event.data
    values = {
        "target_type": str(data["target_type"]),
        "target_id": str(data["target_id"]),
        "title": data.get("title"),
        "outcome": str(data["outcome"]),
    }
    answerable = str(data["answerable_id"])
    notices = [
        Notice(Kind.REPORT_RESOLVED, Preference.ACCOUNT, reporter, values)
        for reporter in _unique(data["reporter_ids"])
    ]
    if values["outcome"] == "warn":
        warning = {**values, "note": data.get("note")}
        notices.append(Notice(Kind.REPORT_WARNING, Preference.ACCOUNT, answerable, warning))
    return notices


def by_type(
    translations: Mapping[str, Callable[[Envelope], list[Notice]]],
) -> Callable[[Envelope], list[Notice]]:
    """One translation for a queue of several event types: each type's own."""

    def translate(event: Envelope) -> list[Notice]:
        return translations[event.type](event)

    return translate


def account_suspended(event: Envelope) -> list[Notice]:
    """``identity.UserSuspended``: the user learns why, and until when."""
    data = event.data
    values = {"reason": str(data["reason"]), "until": data.get("until")}
    return [
        Notice(Kind.ACCOUNT_SUSPENDED, Preference.ACCOUNT_STANDING, str(data["user_id"]), values)
    ]


def account_reinstated(event: Envelope) -> list[Notice]:
    """``identity.UserReinstated``: the user may sign in again."""
    return [
        Notice(Kind.ACCOUNT_REINSTATED, Preference.ACCOUNT_STANDING, str(event.data["user_id"]), {})
    ]


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
        "shipping_cents": int(data.get("shipping_cents") or 0),
        "due_at": str(data["due_at"]),
        "second_chance": bool(data.get("second_chance", False)),
    }


def _unique(ids: Any) -> list[str]:
    """Each id once, in order (a watcher who also bid is told once)."""
    return list(dict.fromkeys(str(user) for user in ids))
