"""HTTP routes of the auction service: ``/api/v1/auctions`` and ``/api/v1/watchlist``.

Every answer about auctions carries ``server_time`` (UTC), so clients can correct
their clock before counting down to an end.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Self

from fastapi import APIRouter, Query, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from auction_platform.contracts.auctions import AuctionFormat
from auction_platform.contracts.countries import COUNTRIES
from auction_platform.contracts.money import MAX_AMOUNT_CENTS
from auction_platform.core.auth import (
    CurrentService,
    CurrentUser,
    OptionalPrincipal,
    Principal,
    Seller,
)
from auction_platform.core.errors import ErrorTable
from auction_platform.core.failures import Invalid
from auction_platform.core.inputs import CountryCode, PriceFilter, ResourceId
from auction_platform.services.auction import answers, handlers, views
from auction_platform.services.auction.commands import (
    BrowseLots,
    CancelLot,
    CreateLot,
    EditLot,
    ListMyLots,
    Page,
    PublishLot,
    RelistLot,
    ShowLot,
    ShowRules,
    ShowWatchlist,
    Unwatch,
    Watch,
)
from auction_platform.services.auction.delivery import DEFAULT as DEFAULT_DELIVERY
from auction_platform.services.auction.delivery import (
    MAX_RATES,
    PICKUP_TOWN_LENGTH,
    Delivery,
    ShippingRate,
)
from auction_platform.services.auction.domain import Caller, Lot, Sort, Status
from auction_platform.services.auction.handlers import Auctions
from auction_platform.services.auction.listing import (
    CATEGORY_PATTERN,
    DEFAULT_INCREMENTS,
    DESCRIPTION_MAX,
    DUTCH_TICK_SECONDS,
    MAX_INCREMENT_ROWS,
    SOFT_CLOSE_MAX_EXTENSIONS,
    SOFT_CLOSE_MAX_SECONDS,
    TITLE_LENGTH,
    URL_MAX,
    DutchClock,
    Format,
    SoftClose,
    Terms,
    default_soft_close,
)

# How the use cases' refusals leave: by kind (bad terms 422, the wrong moment 409,
# not yours 403, no such lot 404, the book unreachable 503), except these codes.
ERRORS = ErrorTable(
    by_code={
        "invalid_cursor": 400,  # a cursor this service did not make: a bad request
        "bad_gateway": 502,  # the bidding service answered what it never should
    }
)

LotId = ResourceId
# The terms' limits as the listing rules check them (``listing``): the schema states
# them, and a value outside them is refused by the rule with its own code (422
# ``invalid_title``, ``invalid_category``...), not as a ``validation_error``.
Title = Annotated[
    str,
    Field(
        json_schema_extra={"minLength": TITLE_LENGTH[0], "maxLength": TITLE_LENGTH[1]},
        description="One line.",
    ),
]
Description = Annotated[str, Field(json_schema_extra={"maxLength": DESCRIPTION_MAX})]
Category = Annotated[
    str,
    Field(
        json_schema_extra={"pattern": CATEGORY_PATTERN},
        description="A slug of lower-case letters, digits and `-`.",
        examples=["cameras"],
    ),
]
Currency = Annotated[
    str, Field(min_length=3, max_length=3, description="ISO 4217.", examples=["EUR"])
]
Increment = Annotated[
    list[StrictInt],
    Field(min_length=2, max_length=2, description="`[from_cents, increment_cents]`"),
]
Increments = Annotated[
    list[Increment],
    Field(
        max_length=MAX_INCREMENT_ROWS,
        json_schema_extra={"minItems": 1},
        description="Bands ascending from 0 (eBay's increments when left out).",
    ),
]
ImageUrl = Annotated[
    str,
    Field(max_length=URL_MAX, description="A public `https` URL, or a path under `/static/`."),
]
Images = Annotated[
    list[ImageUrl],
    Field(max_length=50, description="At most `AUCTION_MAX_IMAGES` (10 by default)."),
]
# How long a lot runs, in seconds: the settings' limits (a year at most) decide the rest.
Duration = Annotated[
    StrictInt,
    Field(
        ge=1,
        le=365 * 86_400,
        description=(
            "From `AUCTION_MIN_DURATION_SECONDS` (60 by default) to "
            "`AUCTION_MAX_DURATION_DAYS` (30 by default)."
        ),
    ),
]
# A price of the lot: from 1 to the platform's limit (the rules check it, 422
# ``invalid_start_price``...; AUCTION_MAX_AMOUNT_CENTS may set it lower).
ListedCents = Annotated[
    StrictInt, Field(json_schema_extra={"minimum": 1, "maximum": MAX_AMOUNT_CENTS})
]
SoftCloseSeconds = Annotated[
    StrictInt, Field(json_schema_extra={"minimum": 1, "maximum": SOFT_CLOSE_MAX_SECONDS})
]
# Delivery as the rules check it (``delivery``): past these the rule answers with its
# code (``too_many_rates``, ``unknown_country``...); the hard caps only bound the work.
ShippingCents = Annotated[
    StrictInt, Field(json_schema_extra={"minimum": 0, "maximum": MAX_AMOUNT_CENTS})
]
PickupTown = Annotated[
    str,
    Field(
        max_length=400,
        json_schema_extra={"minLength": PICKUP_TOWN_LENGTH[0], "maxLength": PICKUP_TOWN_LENGTH[1]},
    ),
]
# How the lot is sold; the rules refuse what a format does not take with their own codes.
FormatField = Annotated[
    AuctionFormat,
    Field(
        description=(
            "`english` (proxy bids, the default), `sealed_first_price` (hidden bids, "
            "the highest pays their bid), `sealed_second_price` (hidden bids, the "
            "highest pays the second-highest: Vickrey) or `dutch` (a falling price, "
            "the first to accept buys)."
        )
    ),
]
DutchTick = Annotated[
    StrictInt,
    Field(json_schema_extra={"minimum": DUTCH_TICK_SECONDS[0], "maximum": DUTCH_TICK_SECONDS[1]}),
]
# Optional terms that may be cleared with an explicit null (a null start: when published).
NULLABLE = frozenset({"reserve_cents", "buy_now_cents", "soft_close", "starts_at", "dutch"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SoftCloseBody(_Strict):
    """A bid within `window_seconds` of the end moves the end `extend_seconds` later."""

    window_seconds: SoftCloseSeconds
    extend_seconds: SoftCloseSeconds
    max_extensions: Annotated[
        StrictInt, Field(json_schema_extra={"minimum": 1, "maximum": SOFT_CLOSE_MAX_EXTENSIONS})
    ]


class DutchClockBody(_Strict):
    """A Dutch lot's clock: from the start price, the price falls by `step_cents` every
    `tick_seconds`, never below `floor_cents` (at least 1, below the start price).

    Refused with 422 `invalid_dutch_floor`, `invalid_dutch_step` or `invalid_dutch_tick`.
    """

    floor_cents: ListedCents
    step_cents: ListedCents
    tick_seconds: DutchTick


class ShippingRateBody(_Strict):
    """A flat cost (minor units of the lot's currency, 0: free) to each of these countries."""

    countries: Annotated[
        list[CountryCode],
        Field(max_length=1_000, json_schema_extra={"minItems": 1, "maxItems": len(COUNTRIES)}),
    ]
    cost_cents: ShippingCents


class DeliveryBody(_Strict):
    """How the lot reaches its buyer; at least one way (422 `no_delivery`).

    A way left out is not offered. A country has one cost: it may appear in one rate
    only (422 `country_twice`).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shipping": [
                        {"countries": ["DE", "AT"], "cost_cents": 690},
                        {"countries": ["FR", "NL", "BE"], "cost_cents": 1_290},
                    ],
                    "buyer_arranges": False,
                    "pickup_town": "Leipzig",
                }
            ]
        }
    )

    shipping: Annotated[
        list[ShippingRateBody], Field(max_length=200, json_schema_extra={"maxItems": MAX_RATES})
    ] = []
    buyer_arranges: StrictBool = False
    pickup_town: PickupTown | None = None

    def delivery(self) -> Delivery:
        """The delivery these fields describe (unchecked: the listing rules check it)."""
        rates = tuple(ShippingRate(tuple(r.countries), r.cost_cents) for r in self.shipping)
        return Delivery(rates, self.buyer_arranges, self.pickup_town)


class NewLot(_Strict):
    """A lot to list. The reserve is at least the start price; Buy It Now is above both.

    `format` chooses how it is sold (English unless said). The sealed-bid formats and
    the Dutch clock take no Buy It Now (422 `buy_now_not_offered`) and no soft close
    (422 `soft_close_not_offered`; left out, they have none); a Dutch lot takes no
    reserve (422 `reserve_not_offered`) and needs its clock, `dutch` (422
    `dutch_clock_required`), which no other format takes (422 `dutch_clock_not_offered`).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "A 1960s Leica M3",
                    "description": "Works; light meter included.",
                    "category": "cameras",
                    "currency": "EUR",
                    "start_cents": 10_000,
                    "reserve_cents": 50_000,
                    "buy_now_cents": 90_000,
                    "duration_seconds": 7 * 86_400,
                    "publish": True,
                }
            ]
        }
    )

    title: Title
    description: Description = ""
    category: Category
    images: Images = []
    currency: Currency
    start_cents: ListedCents
    reserve_cents: ListedCents | None = None
    buy_now_cents: ListedCents | None = None
    increments: Increments | None = None
    # Left out: the lot starts when it is published.
    starts_at: AwareDatetime | None = None
    # One of the two: a fixed end, or how long the lot runs from its start.
    ends_at: AwareDatetime | None = None
    duration_seconds: Duration | None = None
    # Left out: the default soft close; ``null``: none.
    soft_close: SoftCloseBody | None = None
    # Left out: the buyer arranges delivery.
    delivery: DeliveryBody | None = None
    format: FormatField = "english"
    dutch: DutchClockBody | None = None
    publish: StrictBool = False

    @model_validator(mode="after")
    def _one_end(self) -> Self:
        if (self.ends_at is None) == (self.duration_seconds is None):
            raise ValueError("give either ends_at or duration_seconds")
        return self


class Cancellation(_Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class LotChange(_Strict):
    title: Title | None = None
    description: Description | None = None
    category: Category | None = None
    images: Images | None = None
    currency: Currency | None = None
    start_cents: ListedCents | None = None
    reserve_cents: ListedCents | None = None
    buy_now_cents: ListedCents | None = None
    increments: Increments | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    duration_seconds: Duration | None = None
    soft_close: SoftCloseBody | None = None
    delivery: DeliveryBody | None = None
    format: FormatField | None = None
    dutch: DutchClockBody | None = None

    @model_validator(mode="after")
    def _at_most_one_end(self) -> Self:
        if {"ends_at", "duration_seconds"} <= self.model_fields_set:
            raise ValueError("give ends_at or duration_seconds, not both")
        return self


class Relisting(LotChange):
    publish: StrictBool = False


def _soft_close(body: SoftCloseBody | None) -> SoftClose | None:
    return SoftClose(**body.model_dump()) if body is not None else None


def _dutch(body: DutchClockBody | None) -> DutchClock | None:
    return DutchClock(**body.model_dump()) if body is not None else None


def _increments(rows: list[list[int]]) -> tuple[tuple[int, int], ...]:
    return tuple((row[0], row[1]) for row in rows)


def _terms(body: NewLot, *, now: datetime) -> Terms:
    """The terms of a new lot; a time left out is provisional (``now``) until it is timed.

    A soft close left out is the format's default: none but for an English auction.
    """
    fmt = Format(body.format)
    return Terms(
        title=body.title,
        description=body.description,
        category=body.category,
        images=tuple(body.images),
        currency=body.currency,
        start_cents=body.start_cents,
        reserve_cents=body.reserve_cents,
        buy_now_cents=body.buy_now_cents,
        increments=(
            _increments(body.increments) if body.increments is not None else DEFAULT_INCREMENTS
        ),
        starts_at=body.starts_at or now,
        ends_at=body.ends_at or now,
        soft_close=(
            _soft_close(body.soft_close)
            if "soft_close" in body.model_fields_set
            else default_soft_close(fmt)
        ),
        starts_when_published=body.starts_at is None,
        duration=_duration(body.duration_seconds),
        delivery=body.delivery.delivery() if body.delivery is not None else DEFAULT_DELIVERY,
        format=fmt,
        dutch=_dutch(body.dutch),
    )


def _duration(seconds: int | None) -> timedelta | None:
    return timedelta(seconds=seconds) if seconds is not None else None


def _changes(body: LotChange) -> dict[str, Any]:
    """The terms a PATCH sets, as ``Terms`` values; only a few may be set to null."""
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name not in NULLABLE:
            raise Invalid("validation_error", f"{name} cannot be null")
        if name == "images":
            value = tuple(value)
        elif name == "increments":
            value = _increments(value)
        elif name == "soft_close":
            value = _soft_close(value)
        elif name == "dutch":
            value = _dutch(value)
        elif name == "format":
            value = Format(value)
        elif name == "delivery":
            value = value.delivery()
        elif name == "duration_seconds":
            name, value = "duration", _duration(value)
        elif name == "publish":
            continue
        changes[name] = value
    return changes


def caller(principal: Principal) -> Caller:
    """Who calls, in the use cases' terms."""
    return Caller(principal.subject, admin=principal.has_role("admin"))


def _viewer(principal: Principal | None) -> Caller | None:
    return caller(principal) if principal is not None else None


def build_router(ctx: Auctions) -> APIRouter:
    """Every route of the auction service."""
    auctions = APIRouter(prefix="/api/v1/auctions", tags=["auctions"])
    watchlist = APIRouter(prefix="/api/v1/watchlist", tags=["watchlist"])

    def now() -> str:
        return ctx.clock().isoformat()

    def one(lot: Lot, viewer: Principal | None) -> dict[str, Any]:
        auction = views.for_viewer(views.document(lot), _viewer(viewer), now=ctx.clock())
        return {"auction": auction, "server_time": now()}

    def page(found: Page[Lot], viewer: Principal | None) -> dict[str, Any]:
        who = _viewer(viewer)
        at = ctx.clock()
        items = [
            views.for_viewer(views.document(lot), who, now=at, summary=True) for lot in found.items
        ]
        return {"items": items, "next_cursor": found.next_cursor, "server_time": now()}

    @auctions.post(
        "",
        status_code=201,
        responses={201: {"model": answers.LotAnswer}},
    )
    async def create(body: NewLot, seller: Seller) -> dict[str, Any]:
        """List a lot: a draft, or published at once with ``"publish": true``.

        **When it runs.** With `starts_at` the lot opens then; a start already past is
        refused at once (422 `start_in_past`). Without `starts_at` it starts as soon
        as it is published ("start now"): with `"publish": true` it is open in the
        answer; a draft starts when it is published. The end is either `ends_at`, a
        fixed moment, or `duration_seconds`, how long it runs from its start (for a
        draft that starts when published, counted from the publication). Give one of
        the two. The run must lie within the platform's minimum and maximum duration
        (422 `invalid_duration`). Until a lot that starts when published is
        published, its `starts_at` (and, with a duration, its `ends_at`) read `null`.

        **How it reaches the buyer.** `delivery` offers flat shipping rates (each a
        list of countries and a cost in the lot's currency), a courier the buyer
        arranges, and/or pickup in a town; left out, the buyer arranges. Refused with
        422: `no_delivery` (nothing offered), `too_many_rates` (over 20),
        `no_countries`, `unknown_country` (not ISO 3166-1 alpha-2), `country_twice`
        (a country in two rates), `invalid_shipping_cost`, `invalid_pickup_town`
        (1 to 80 characters on one line). Delivery is a term like the others: it may
        change until the first bid.

        **How it is sold.** `format` is `english` (the proxy auction, the default),
        `sealed_first_price`, `sealed_second_price` or `dutch`. A sealed-bid lot's
        bids stay hidden until the close (its price shows the start price, its leader
        nobody); a Dutch lot's price falls from `start_cents` by `dutch.step_cents`
        every `dutch.tick_seconds` (10 to 86,400) to `dutch.floor_cents`, and the first
        to accept it (`POST .../buy-now`) buys at that price. Neither takes Buy It Now
        (422 `buy_now_not_offered`) or a soft close (422 `soft_close_not_offered`;
        left out, they have none); a Dutch lot takes no reserve (422
        `reserve_not_offered`) and needs `dutch` (422 `dutch_clock_required`), which
        another format refuses (422 `dutch_clock_not_offered`); a bad clock is 422
        `invalid_dutch_floor`, `invalid_dutch_step` or `invalid_dutch_tick`.
        """
        terms = _terms(body, now=ctx.clock())
        command = CreateLot(seller_id=seller.subject, terms=terms, publish=body.publish)
        return one(await handlers.create_lot(command, ctx=ctx), seller)

    @auctions.get("", responses={200: {"model": answers.LotPage}, **answers.BAD_CURSOR})
    async def browse(
        viewer: OptionalPrincipal,
        status: Status | None = None,
        category: Annotated[str | None, Query(max_length=40)] = None,
        seller: Annotated[str | None, Query(max_length=64)] = None,
        min_price: PriceFilter = None,
        max_price: PriceFilter = None,
        ending_within: Annotated[int | None, Query(ge=1, le=366 * 86_400)] = None,
        sort: Sort = "ending_soonest",
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        """The catalogue: open and upcoming lots (or one status), filtered and sorted."""
        query = BrowseLots(
            status=status,
            category=category,
            seller_id=seller,
            min_price_cents=min_price,
            max_price_cents=max_price,
            ending_within=ending_within,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )
        return page(await handlers.browse_lots(query, ctx=ctx), viewer)

    @auctions.get("/mine", responses={200: {"model": answers.LotPage}, **answers.BAD_CURSOR})
    async def mine(
        seller: Seller,
        status: Status | None = None,
        sort: Sort = "newest",
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        """Your own lots, drafts included."""
        query = ListMyLots(
            seller_id=seller.subject, status=status, sort=sort, cursor=cursor, limit=limit
        )
        return page(await handlers.my_lots(query, ctx=ctx), seller)

    @auctions.get("/{lot_id}", responses={200: {"model": answers.LotAnswer}})
    async def detail(lot_id: LotId, viewer: OptionalPrincipal) -> dict[str, Any]:
        """One lot; the reserve only for its seller (others see ``reserve_met``)."""
        who = _viewer(viewer)
        document = await handlers.show_lot(ShowLot(lot_id, viewer=who), ctx=ctx)
        return {"auction": views.for_viewer(document, who, now=ctx.clock()), "server_time": now()}

    @auctions.patch(
        "/{lot_id}",
        responses={
            200: {"model": answers.LotAnswer},
            **answers.NOT_YOURS,
            409: {
                "description": (
                    "The lot cannot change so: `has_bids`, `start_fixed`, `currency_fixed`, "
                    "`not_editable`."
                )
            },
            **answers.BOOK_AWAY,
        },
    )
    async def change(lot_id: LotId, body: LotChange, user: CurrentUser) -> dict[str, Any]:
        """Change the terms of your lot until its first bid (eBay's rule).

        Send only what changes. Before the lot opens anything may change; a
        `starts_at` of `null` makes a draft start when published (a listed lot:
        now); `duration_seconds` in place of `ends_at` makes the end follow the
        start. Once open, while nobody has bid, everything may change but the start
        (409 `start_fixed`: it has happened) and the currency (409 `currency_fixed`:
        watchers have seen its prices in it); a new end must be ahead (422
        `end_in_past`) and within the duration limits. The bid book takes the new
        terms with the edit; once a bid has been accepted, the edit is refused (409
        `has_bids`). A closed or cancelled lot is 409 `not_editable`. A new `format`
        brings its default soft close (none but for `english`) and drops a Dutch
        clock it does not use, unless the body sets them.
        """
        command = EditLot(lot_id, changes=_changes(body), by=caller(user))
        return one(await handlers.edit_lot(command, ctx=ctx), user)

    @auctions.post(
        "/{lot_id}/publish",
        responses={
            200: {"model": answers.LotAnswer},
            **answers.NOT_YOURS,
            409: {
                "description": (
                    "Only a draft is published (`not_draft`); a lot in a timed sale is "
                    "published with its sale (`in_sale`)."
                )
            },
        },
    )
    async def publish(lot_id: LotId, user: CurrentUser) -> dict[str, Any]:
        """Put your draft on the calendar."""
        return one(await handlers.publish_lot(PublishLot(lot_id, by=caller(user)), ctx=ctx), user)

    @auctions.post(
        "/{lot_id}/relist",
        status_code=201,
        responses={
            201: {"model": answers.LotAnswer},
            **answers.NOT_YOURS,
            409: {
                "description": (
                    "Only a lot that ended unsold (`not_relistable`), once "
                    "(`already_relisted`: `details.auction_id` is the new lot)."
                )
            },
        },
    )
    async def relist(
        lot_id: LotId, seller: Seller, body: Relisting | None = None
    ) -> dict[str, Any]:
        """List your unsold lot again: a new lot (a new id) with its terms.

        Only a lot that ended unsold (409 `not_relistable`), once (409
        `already_relisted`, naming the new lot; again only if that one was
        cancelled). The new lot links back in `relisted_from`, and the old one,
        which stays closed, shows the new id in `relisted_as` to you. Unless the
        body says otherwise, the new lot starts when it is published and runs as
        long as the old one was planned to; any term may be changed as in `PATCH`,
        and `"publish": true` lists it at once (open at once without `starts_at`).
        """
        body = body or Relisting()
        command = RelistLot(lot_id, by=caller(seller), changes=_changes(body), publish=body.publish)
        return one(await handlers.relist_lot(command, ctx=ctx), seller)

    @auctions.post(
        "/{lot_id}/cancel",
        responses={
            200: {"model": answers.LotAnswer},
            **answers.NOT_YOURS,
            409: {
                "description": (
                    "`has_bids` (only an admin cancels a lot with bids), `not_cancellable` "
                    "(closed or cancelled already)."
                )
            },
            **answers.BOOK_AWAY,
        },
    )
    async def cancel(
        lot_id: LotId, user: CurrentUser, body: Cancellation | None = None
    ) -> dict[str, Any]:
        """Withdraw a lot (its seller before the first bid; an admin until it closes).

        An optional ``reason`` travels with ``AuctionCancelled``."""
        command = CancelLot(lot_id, by=caller(user), reason=body.reason if body else None)
        return one(await handlers.cancel_lot(command, ctx=ctx), user)

    @auctions.get("/{lot_id}/rules", responses={200: {"model": answers.Rules}})
    async def rules(lot_id: LotId, service: CurrentService) -> dict[str, Any]:
        """The rules of an auction and its status (the platform's services only)."""
        lot = await handlers.show_rules(ShowRules(lot_id), ctx=ctx)
        return {**views.rules(lot), "status": lot.status.value, "server_time": now()}

    @watchlist.get("", responses={200: {"model": answers.WatchlistPage}, **answers.BAD_CURSOR})
    async def watched(
        user: CurrentUser,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        """The lots you watch, most recently added first."""
        query = ShowWatchlist(user.subject, cursor=cursor, limit=limit)
        found = await handlers.watchlist(query, ctx=ctx)
        who = caller(user)
        items = [
            {
                "watched_since": item.since.isoformat(),
                "auction": views.for_viewer(
                    views.document(item.lot), who, now=ctx.clock(), summary=True
                ),
            }
            for item in found.items
        ]
        return {"items": items, "next_cursor": found.next_cursor, "server_time": now()}

    @watchlist.put(
        "/{lot_id}",
        responses={
            200: {"model": answers.Watching, "description": "Watched already."},
            201: {"model": answers.Watching, "description": "Added to your watchlist."},
        },
    )
    async def watch(lot_id: LotId, user: CurrentUser, response: Response) -> dict[str, Any]:
        """Watch a lot (201 when newly added, 200 when already watched)."""
        added = await handlers.watch(Watch(lot_id, user.subject), ctx=ctx)
        response.status_code = 201 if added else 200
        return {"auction_id": lot_id, "watching": True, "server_time": now()}

    @watchlist.delete("/{lot_id}", status_code=204)
    async def unwatch(lot_id: LotId, user: CurrentUser) -> Response:
        """Stop watching a lot."""
        await handlers.unwatch(Unwatch(lot_id, user.subject), ctx=ctx)
        return Response(status_code=204)

    router = APIRouter()
    router.include_router(auctions)
    router.include_router(watchlist)
    return router
