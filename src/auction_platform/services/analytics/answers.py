"""What the analytics and search routes answer, as their OpenAPI document shows it.

Documentation only: the routes build their dicts (``handlers``, ``search``) and are
not checked against these at run time; the API fuzz run checks every answer against
its documented schema.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from auction_platform.contracts.auctions import AuctionFormat
from auction_platform.services.analytics.search import SearchStatus

Cents = Annotated[int, Field(ge=0)]
Rate = Annotated[float | None, Field(description="Null when there is nothing to divide by.")]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Range(_Answer):
    first_day: date = Field(alias="from", description="The first UTC day, inclusive.")
    last_day: date = Field(alias="to", description="The last UTC day, inclusive.")


class Event(_Answer):
    """One stored event, as its producer published it."""

    id: str
    type: str = Field(examples=["BidPlaced"])
    version: int
    producer: str
    occurred_at: datetime
    correlation_id: str | None
    data: dict[str, Any]


class EventList(_Answer):
    """The newest events, newest first."""

    items: list[Event]


class Rates(_Answer):
    """The measures derived from the counters."""

    sell_through_rate: Rate
    bids_per_closed_auction: Rate
    average_seconds_to_first_bid: Rate
    payment_conversion_rate: Rate


class Money(_Answer):
    """One currency's money, in its minor units."""

    gross_gmv_cents: int = Field(description="Hammer prices of the lots sold, by close day.")
    net_gmv_cents: int = Field(description="The gross less the refunded orders' hammer.")
    gross_fees_cents: int = Field(description="Fees collected, by payment day.")
    net_fees_cents: int = Field(description="The gross less the refunded orders' fees.")
    refunded_cents: int = Field(description="Given back to buyers, premium included.")


class Purse(Money):
    """One currency's money over the range."""

    currency: str
    refunds: int


class AuctionCounts(_Answer):
    listed: int
    opened: int
    sold: int
    unsold: int
    cancelled: int


class OrderCounts(_Answer):
    created: int
    paid: int
    refunded: int


class FormatTotals(Rates):
    """One sale format's lots, bids, orders and money over the range."""

    format: AuctionFormat
    listed: int
    sold: int
    unsold: int
    cancelled: int
    bids: int
    orders: OrderCounts
    money: list[Purse]


class Summary(Rates, _Range):
    """Totals and rates over a range of days."""

    auctions: AuctionCounts
    bids: int
    orders: OrderCounts
    money: list[Purse]
    formats: list[FormatTotals] = Field(
        description="The same figures by sale format (only formats with anything counted)."
    )
    server_time: datetime


class Counters(_Answer):
    """What happened on one day in one category and currency (``store.COUNTERS``)."""

    listed: int
    opened: int
    sold: int
    unsold: int
    cancelled: int
    bids: int
    closed_bids: int
    first_bids: int
    orders_created: int
    orders_paid: int
    orders_created_paid: int
    refunds: int


class Day(Rates, Money, Counters):
    """The counters, money and rates of one UTC day, category and currency."""

    day: date
    category: str
    currency: str


class Daily(_Range):
    """One row per UTC day, category and currency that saw anything."""

    category: str | None
    items: list[Day]
    server_time: datetime


class Minute(_Answer):
    minute: datetime
    bids: int


class BidsPerMinute(_Answer):
    """Bids per minute over every auction; quiet minutes count 0."""

    first_minute: datetime = Field(alias="from")
    last_minute: datetime = Field(alias="to")
    items: list[Minute]
    bids: int
    peak_bids_per_minute: int
    server_time: datetime


class AuctionReport(_Answer):
    """One auction's facts."""

    auction_id: str
    title: str
    category: str
    currency: str
    listed_at: datetime | None
    opened_at: datetime | None
    first_bid_at: datetime | None
    seconds_to_first_bid: float | None
    bid_count: int
    closed_at: datetime | None
    sold: bool | None
    hammer_cents: Cents | None
    gross_gmv_cents: int
    net_gmv_cents: int
    refunds: int
    refunded_cents: int
    refunded_at: datetime | None
    cancelled_at: datetime | None
    bids_per_minute: list[Minute]
    peak_bids_per_minute: int
    average_bids_per_active_minute: Rate
    server_time: datetime


class DutchClock(_Answer):
    """A Dutch lot's clock: from the start price, less ``step_cents`` a tick, to the floor."""

    floor_cents: Cents
    step_cents: Cents
    tick_seconds: int


class Hit(_Answer):
    """A lot matching the search."""

    id: str
    title: str
    description: str = Field(description="The first 300 characters.")
    category: str
    status: SearchStatus
    currency: str
    format: AuctionFormat = Field(description="How the lot is sold.")
    dutch: DutchClock | None = Field(
        description="A Dutch lot's clock, from its listing; null for the other formats."
    )
    current_price_cents: Cents
    bid_count: int
    starts_at: datetime | None
    ends_at: datetime | None


class FacetCount(_Answer):
    value: str
    count: int


class PriceBand(_Answer):
    value: str = Field(examples=["1000-5000", "100000-"])
    min_cents: int
    max_cents: int | None = Field(description="Null for the open-ended band.")
    count: int


class CategoryCount(FacetCount):
    """A category's hits, its descendants' included (the tree: ``/api/v1/categories``)."""

    name: str
    parent: str | None = Field(description="The parent category's slug; null at the top.")


class Facets(_Answer):
    """How the hits (all of them, not only this page) spread."""

    category: list[CategoryCount]
    status: list[FacetCount]
    price: list[PriceBand]
    format: list[FacetCount] = Field(description="Hits by sale format (`AuctionFormat`).")


class SearchResults(_Answer):
    """A page of hits."""

    items: list[Hit]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="The next page's `offset`; null on the last.")
    facets: Facets
    server_time: datetime


class AuditRecord(_Answer):
    """One operator action, as the service that took it recorded it."""

    id: str = Field(description="The id of the AuditRecorded event: one record per event.")
    at: datetime = Field(description="When the action was taken (UTC).")
    actor_id: str = Field(description="Who acted: an admin's user id, or `system` for a job.")
    action: str = Field(examples=["user.roles_changed", "auction.cancelled", "payout.held"])
    target: str = Field(description="What was acted on.", examples=["user:7f3a", "order:91c2"])
    reason: str | None = Field(description="The operator's words, when they gave any.")
    details: dict[str, Any] = Field(description="What changed, as its service tells it.")
    producer: str = Field(description="The service that took the action.")


class AuditPage(_Answer):
    """Audit records newest first; `next_cursor` asks for the next page (null on the last)."""

    items: list[AuditRecord]
    next_cursor: str | None
