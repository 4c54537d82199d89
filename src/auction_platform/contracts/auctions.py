"""Event schemas of the auction and bidding services (the ``data`` of each envelope).

Producers build these dicts, consumers read them; both import the names from here,
so a field renamed on one side fails the type check on the other. Money is integer
minor units with an ISO 4217 currency; times are ISO 8601 strings in UTC.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class SoftCloseData(TypedDict):
    """Soft-close settings: a bid within ``window_seconds`` of the end extends it."""

    window_seconds: int
    extend_seconds: int
    max_extensions: int


class DutchClockData(TypedDict):
    """A Dutch auction's clock: the price falls by ``step_cents`` each tick to ``floor_cents``."""

    floor_cents: int
    step_cents: int
    tick_seconds: int


# How a lot is sold: the English proxy auction, sealed bids paying the winner's own bid or
# the second-highest (Vickrey), or a descending Dutch clock.
AuctionFormat = Literal["english", "sealed_first_price", "sealed_second_price", "dutch"]


class AuctionRulesData(TypedDict):
    """Everything the bidding service needs to run an auction's book."""

    auction_id: str
    seller_id: str
    title: str
    currency: str
    start_cents: int
    reserve_cents: int | None
    buy_now_cents: int | None
    starts_at: str
    ends_at: str
    soft_close: SoftCloseData | None
    increments: list[list[int]]  # [[from_cents, increment_cents], ...] ascending
    # Absent in rules written before there were formats: an English auction.
    format: NotRequired[AuctionFormat]
    dutch: NotRequired[DutchClockData | None]  # the clock of a "dutch" format only


class ShippingRateData(TypedDict):
    """A flat shipping cost to every country of a list (ISO 3166-1 alpha-2, upper case)."""

    countries: list[str]
    cost_cents: int


class DeliveryData(TypedDict):
    """How a lot reaches its buyer: at least one of the three ways is offered.

    ``shipping`` lists the seller's flat rates (empty: the seller ships nowhere);
    ``buyer_arranges`` lets the buyer send a courier; ``pickup_town`` is where the
    buyer may collect the lot (None: no pickup). A listing that says nothing offers
    ``DEFAULT_DELIVERY``: the buyer arranges.
    """

    shipping: list[ShippingRateData]
    buyer_arranges: bool
    pickup_town: str | None


DEFAULT_DELIVERY: DeliveryData = {"shipping": [], "buyer_arranges": True, "pickup_town": None}


# --- auction service ---------------------------------------------------------

# draft -> scheduled (listed); data: AuctionRulesData, the category and ``delivery``
# (DeliveryData); a lot published with its timed sale adds ``sale_id`` and ``lot_number``
AUCTION_PUBLISHED = "AuctionPublished"
# a listed lot's terms changed: before it opened, or while open until its first bid
# (the bid book took the new rules first); data as AuctionPublished
AUCTION_EDITED = "AuctionEdited"
AUCTION_OPENED = "AuctionOpened"  # scheduled -> open; data: AuctionRulesData


class AuctionEndingSoonData(TypedDict):
    """An open auction ends in ``minutes_left`` minutes; tell watchers and bidders."""

    auction_id: str
    title: str
    ends_at: str
    minutes_left: int
    recipient_ids: list[str]


AUCTION_ENDING_SOON = "AuctionEndingSoon"


class AuctionCancelledData(TypedDict):
    """The seller (before any bid) or an admin (any time, voiding bids) cancelled."""

    auction_id: str
    title: str
    seller_id: str
    by: str  # "seller" | "admin"
    bids_voided: bool
    bidder_ids: list[str]
    reason: NotRequired[str]  # why, when the canceller said (at most 500 characters)


AUCTION_CANCELLED = "AuctionCancelled"
AUCTION_RESULT_RECORDED = "AuctionResultRecorded"  # the auction service recorded AuctionClosed


class ReportResolvedData(TypedDict):
    """An admin resolved every open report on one target (a listing or a member) at once."""

    report_ids: list[str]
    reporter_ids: list[str]  # each once: every one of them learns the outcome
    target_type: str  # "auction" | "user"
    target_id: str
    title: str | None  # the listing's title; None for a member
    answerable_id: str  # the member answerable: the listing's seller, or the member
    outcome: str  # "dismiss" | "warn" | "remove_listing" | "suspend"
    note: str | None  # the admin's words; told to the answerable member on a warning only
    resolved_by: str
    at: str


REPORT_RESOLVED = "ReportResolved"


# --- bidding service ---------------------------------------------------------


class BidPlacedData(TypedDict):
    """An accepted bid (public facts only travel to clients; ids stay internal)."""

    auction_id: str
    seq: int
    bidder_id: str
    # None for a sealed bid: before the close it shows no leader, and the start price.
    leader_id: str | None
    price_cents: int
    currency: str
    bid_count: int
    ends_at: str
    placed_at: str
    format: NotRequired[AuctionFormat]  # absent: "english" (events older than the formats)


BID_PLACED = "BidPlaced"


class OutbidData(TypedDict):
    """The former leader has been outbid."""

    auction_id: str
    user_id: str
    price_cents: int
    currency: str
    ends_at: str


OUTBID = "Outbid"


class AuctionExtendedData(TypedDict):
    """A bid in the soft-close window moved the end."""

    auction_id: str
    ends_at: str
    extensions: int


AUCTION_EXTENDED = "AuctionExtended"


class BuyNowUsedData(TypedDict):
    """Buy It Now closed the auction at its price."""

    auction_id: str
    seller_id: str
    buyer_id: str
    price_cents: int
    currency: str
    at: str
    format: NotRequired[AuctionFormat]  # "dutch": the acceptance of the clock's price


BUY_NOW_USED = "BuyNowUsed"


class BidRetractedData(TypedDict):
    """A bid was retracted and the book recomputed."""

    auction_id: str
    bidder_id: str
    seq: int
    price_cents: int
    leader_id: str | None
    bid_count: int


BID_RETRACTED = "BidRetracted"


class AuctionClosedData(TypedDict):
    """The hammer fell: the result of an auction, at its effective end or by Buy It Now."""

    auction_id: str
    seller_id: str
    title: str
    winner_id: str | None
    # The top bidder, sold or not (the buyer after Buy It Now); None without a bid. The
    # one told "reserve not met" when the reserve was missed.
    leader_id: str | None
    price_cents: int
    currency: str
    sold: bool
    reserve_met: bool
    runner_up_id: str | None
    runner_up_max_cents: int | None
    bid_count: int
    # Everyone who bid on the lot, each once, first bidder first (a retracted bid
    # counts: its bidder took part): who is told they did not win.
    bidder_ids: list[str]
    by_buy_now: bool
    closed_at: str
    format: NotRequired[AuctionFormat]


AUCTION_CLOSED = "AuctionClosed"


def feed_channel(auction_id: str) -> str:
    """The publish/subscribe channel of an auction's live feed (bidding -> gateway)."""
    return f"feed:auction:{auction_id}"
