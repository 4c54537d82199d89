"""What the bidding service's routes answer, as their OpenAPI document shows it.

Documentation only: the routes build their dicts (``queries``, ``api``) and are not
checked against these at run time; the API fuzz run checks every answer against its
documented schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auction_platform.contracts.books import Cents, PublicBook
from auction_platform.services.bidding.domain import Standing


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class YourStanding(_Answer):
    """Where the signed-in caller stands in this auction."""

    leading: bool | None = Field(
        description="Whether you lead; null in a sealed-bid auction until it is over."
    )
    max_cents: Cents | None = Field(description="Your highest maximum; null without a bid.")
    bids: list[int] = Field(description="The `seq` of each of your bids not retracted.")


class Book(PublicBook):
    """The book, and your standing in it when you are signed in."""

    you: YourStanding | None = Field(
        default=None, description="Only for a signed-in bidder (not in the live feed)."
    )


class AcceptedBid(PublicBook):
    """The bid stands: the book after it, and your standing."""

    accepted: Literal[True]
    leading: bool | None = Field(
        description=(
            "Whether your maximum leads (else you were outbid at once); null for a "
            "sealed bid, whose rank is secret until the close."
        )
    )
    your_max_cents: Cents


class BoughtNow(PublicBook):
    """You bought the lot at its Buy It Now price; the book is closed."""

    accepted: Literal[True]
    winner: Literal[True]


class HistoryEntry(_Answer):
    """One accepted bid, as anyone may see it: never a maximum."""

    seq: int
    bidder: str = Field(description="The bidder's pseudonym in this auction.")
    price_cents: Cents = Field(description="The price after this bid.")
    leader: str = Field(description="The leader's pseudonym after this bid.")
    amount_cents: Cents | None = Field(
        description=(
            "A sealed bid's amount, shown once the auction is over (a sealed-bid "
            "auction's history is empty before); null in other formats."
        )
    )
    placed_at: datetime
    retracted: bool


class BidHistory(_Answer):
    """The public bid history of an auction, in the order the bids were accepted."""

    auction_id: str
    bids: list[HistoryEntry]
    server_time: datetime


class MyLot(_Answer):
    """A lot you bid on, with your standing."""

    auction_id: str
    title: str
    currency: str
    status: Literal["open", "closed", "cancelled"]
    standing: Standing
    price_cents: Cents
    your_max_cents: Cents
    your_bids: int
    bid_count: int
    ends_at: datetime
    last_bid_at: datetime


class MyLots(_Answer):
    """The lots you bid on, latest first."""

    items: list[MyLot]
    server_time: datetime


class BookCancelled(_Answer):
    """The book takes no more bids; whose bids it voided."""

    bidder_ids: list[str]
    bids_voided: bool


REFUSED_BID: dict[int | str, dict[str, Any]] = {
    403: {"description": "Sellers cannot bid on their own lots (`seller_cannot_bid`)."},
    409: {
        "description": (
            "Refused by the book (`below_minimum`, `not_above_own_max`, `auction_ended`, "
            "`auction_not_open`, `auction_cancelled`, `buy_now_unavailable`, "
            "`sealed_bid_not_raised`, `dutch_accept_only`; `details` is the book as "
            "anyone may see it), or the same Idempotency-Key is in flight "
            "(`request_in_flight`)."
        )
    },
    503: {
        "description": (
            "Too busy to take it now (`overloaded`): nothing was recorded; retry after "
            "`Retry-After` seconds."
        )
    },
}
