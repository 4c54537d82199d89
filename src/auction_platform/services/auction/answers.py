"""What the auction service's routes answer, as their OpenAPI document shows it.

Documentation only: the routes build their dicts (``views``) and are not checked
against these at run time; the API fuzz run checks every answer against its
documented schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auction_platform.services.auction.domain import Actor, Outcome, Status

Cents = Annotated[int, Field(ge=0)]
Format = Literal["english", "sealed_first_price", "sealed_second_price", "dutch"]
FORMAT = (
    "How the lot is sold: `english` (proxy bids), `sealed_first_price` and "
    "`sealed_second_price` (hidden bids until the close; the winner pays their bid, or "
    "the second-highest), `dutch` (a falling price; the first to accept buys)."
)
SERVER_TIME = "The server's clock (UTC), to count down to an end without trusting the client's."


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SoftCloseTerms(_Answer):
    """A bid within `window_seconds` of the end moves the end `extend_seconds` later."""

    window_seconds: int
    extend_seconds: int
    max_extensions: int


class DutchClockTerms(_Answer):
    """A Dutch lot's clock: from the start price, `step_cents` less every `tick_seconds`,
    never below `floor_cents`. Its price at a moment is the bid book's (`.../book`)."""

    floor_cents: Cents
    step_cents: Cents
    tick_seconds: int


class ShippingRate(_Answer):
    """A flat shipping cost to each of these countries (ISO 3166-1 alpha-2)."""

    countries: list[str]
    cost_cents: Cents


class Delivery(_Answer):
    """How the lot reaches its buyer: shipping rates, the buyer's courier, pickup."""

    shipping: list[ShippingRate] = Field(description="Empty: the seller ships nowhere.")
    buyer_arranges: bool = Field(description="The buyer may send their own courier.")
    pickup_town: str | None = Field(description="Where the buyer may collect it; null: no pickup.")


class Viewer(_Answer):
    """Who is looking, as far as this lot is concerned."""

    is_seller: bool
    is_leading: bool
    has_won: bool


class LotSummary(_Answer):
    """A lot in a list: everything but its description.

    The reserve, the leader and the winner (and, on a relisted lot, its successor)
    appear only to the lot's seller and to admins. A sealed-bid lot shows its start
    price and no leader (to its seller too) until it closes; a Dutch lot shows its start
    price until someone accepts its clock's (the book has the falling price)."""

    id: str
    seller_id: str
    title: str
    category: str
    images: list[str]
    currency: str
    status: Status
    outcome: Outcome | None = Field(description="How a closed lot ended; null before.")
    start_cents: Cents
    current_price_cents: Cents
    final_price_cents: Cents | None
    bid_count: int
    reserve_met: bool | None = Field(description="Null without a reserve.")
    buy_now_cents: Cents | None = Field(
        description="While Buy It Now is offered (to the seller: the price set)."
    )
    buy_now_available: bool
    increments: list[list[int]] = Field(
        description="`[from_cents, increment_cents]` bands, ascending from 0."
    )
    soft_close: SoftCloseTerms | None
    format: Format = Field(description=FORMAT)
    dutch: DutchClockTerms | None = Field(description="A Dutch lot's clock; null otherwise.")
    extensions: int = Field(description="How often late bids moved the end.")
    starts_at: datetime | None = Field(
        description="Null while a draft is left to start when it is published."
    )
    starts_when_published: bool
    duration_seconds: int | None
    ends_at: datetime | None = Field(
        description="The end as it stands: extended by late bids, or the moment of a Buy It Now."
    )
    scheduled_ends_at: datetime | None = Field(description="The end as planned.")
    cancelled_by: Actor | None
    published_at: datetime | None
    opened_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    relisted_from: str | None = Field(description="The lot this one lists again.")
    sale_id: str | None = Field(
        default=None, description="The timed sale it is sold in (`/api/v1/sales/{id}`)."
    )
    reserve_cents: Cents | None = Field(default=None, description="Seller and admins only.")
    leader_id: str | None = Field(default=None, description="Seller and admins only.")
    winner_id: str | None = Field(default=None, description="Seller and admins only.")
    relisted_as: str | None = Field(
        default=None, description="Seller and admins only: the lot that lists this one again."
    )
    viewer: Viewer


class Lot(LotSummary):
    """A lot with its description and how it is delivered."""

    description: str
    delivery: Delivery


class LotAnswer(_Answer):
    """One lot."""

    auction: Lot
    server_time: datetime = Field(description=SERVER_TIME)


class LotPage(_Answer):
    """A page of lots; `next_cursor` asks for the next (null on the last page)."""

    items: list[LotSummary]
    next_cursor: str | None
    server_time: datetime = Field(description=SERVER_TIME)


class Watched(_Answer):
    """A lot on your watchlist."""

    watched_since: datetime
    auction: LotSummary


class WatchlistPage(_Answer):
    """A page of your watchlist, most recently added first."""

    items: list[Watched]
    next_cursor: str | None
    server_time: datetime = Field(description=SERVER_TIME)


class Watching(_Answer):
    """The lot is on your watchlist."""

    auction_id: str
    watching: bool
    server_time: datetime = Field(description=SERVER_TIME)


class Rules(_Answer):
    """An auction's rules as the bid book runs them, and its status."""

    auction_id: str
    seller_id: str
    title: str
    currency: str
    start_cents: Cents
    reserve_cents: Cents | None
    buy_now_cents: Cents | None
    starts_at: datetime
    ends_at: datetime
    soft_close: SoftCloseTerms | None
    increments: list[list[int]]
    format: Format = Field(description=FORMAT)
    dutch: DutchClockTerms | None = Field(description="A Dutch lot's clock; null otherwise.")
    status: Status
    server_time: datetime


BAD_CURSOR: dict[int | str, dict[str, Any]] = {
    400: {"description": "The cursor is not one this list gave (`invalid_cursor`)."}
}
NOT_YOURS: dict[int | str, dict[str, Any]] = {
    403: {"description": "The lot is not yours (`forbidden`)."}
}
BOOK_AWAY: dict[int | str, dict[str, Any]] = {
    503: {"description": "The bid book could not be asked; nothing changed. Retry."}
}
