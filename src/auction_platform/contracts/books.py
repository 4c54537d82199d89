"""An auction's book as anyone may see it: bidding's answers and the live feed's messages.

A documented shape (the bidding service builds the dict, ``BookState.public``); the
gateway's API document describes each live feed message with the same schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Cents = Annotated[int, Field(ge=0)]


class BookClock(BaseModel):
    """A Dutch lot's falling price: from `start_cents` at `starts_at`, less `step_cents` at
    each tick of `tick_seconds`, never below `floor_cents`. The price at a moment is
    computed from these, so a page can show it falling without asking again."""

    model_config = ConfigDict(extra="forbid")

    start_cents: Cents
    floor_cents: Cents
    step_cents: Cents
    tick_seconds: float = Field(gt=0)
    starts_at: datetime
    next_drop_at: datetime | None = Field(
        description="When the price next falls; null at the floor or when the end comes first."
    )


class PublicBook(BaseModel):
    """An auction's book as anyone may see it: never a maximum bid, never a bidder's
    identity. Each live feed message is one of these."""

    model_config = ConfigDict(extra="forbid")

    auction_id: str
    status: Literal["open", "closed", "cancelled"] = Field(
        description="Where the auction is; `closed` and `cancelled` are final."
    )
    format: Literal["english", "sealed_first_price", "sealed_second_price", "dutch"] = Field(
        description=(
            "How the lot is sold. In the sealed-bid formats the price, leader and "
            "reserve stay as before the first bid until the close."
        ),
    )
    currency: str = Field(description="ISO 4217.", examples=["EUR"])
    price_cents: Cents = Field(
        description="The current price (a Dutch lot's clock price when the book was sent)."
    )
    leader: str | None = Field(
        description=(
            "The leading bidder's pseudonym in this auction (`bidder-` and six hex "
            "digits), or null before the first bid."
        ),
        examples=["bidder-3fa9c2"],
    )
    bid_count: Cents
    min_next_bid_cents: Cents | None = Field(
        description="The least the next bid may be; null once the book takes no bid."
    )
    buy_now_cents: Cents | None = Field(
        description="The Buy It Now price while it is offered (open, no bid yet), else null."
    )
    reserve_met: bool | None = Field(
        description="Whether the price reached the reserve; null without a reserve."
    )
    ends_at: datetime = Field(
        description="When bidding ends (it moves with an anti-sniping extension)."
    )
    dutch: BookClock | None = Field(
        description="An open Dutch lot's clock; null in other formats and once it is over."
    )
    seq: Cents = Field(
        description=(
            "The number of the last bid accepted (the bid history's `seq`); a "
            "retraction, a cancel or a close leaves it as it is."
        )
    )
    version: Cents = Field(
        description=(
            "The book's version: it grows with every change (bid, Buy It Now, "
            "retraction, extension, cancel, close). Of two books, show the one with "
            "the higher version."
        )
    )
    server_time: datetime = Field(
        description="The server's clock when the book was sent (to show a countdown)."
    )
