"""HTTP routes of timed sales: ``/api/v1/sales`` (sellers build, publish and cancel;
anyone reads). What they answer is in ``sale_answers``.

Every answer carries ``server_time`` (UTC), so a page can count down to each lot's end
without trusting the reader's clock.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from auction_platform.core.auth import CurrentUser, OptionalPrincipal, Seller
from auction_platform.core.failures import Invalid
from auction_platform.core.inputs import ID_PATTERN, ResourceId
from auction_platform.services.auction import sale_handlers
from auction_platform.services.auction.answers import BOOK_AWAY
from auction_platform.services.auction.api import Cancellation, Description, Title, caller
from auction_platform.services.auction.commands import Page
from auction_platform.services.auction.domain import Caller
from auction_platform.services.auction.handlers import Auctions
from auction_platform.services.auction.sale_answers import (
    ANSWERS_SALE,
    NOT_YOURS,
    PUBLISHED,
    SaleAnswer,
    SaleCancellationAnswer,
    SalePage,
    cancellation_document,
    sale_document,
    summary_document,
)
from auction_platform.services.auction.sale_handlers import (
    AddLot,
    CancelSale,
    CreateSale,
    EditSale,
    MoveLot,
    RemoveLot,
    SaleSummary,
    SaleView,
)
from auction_platform.services.auction.sales import INTERVAL_SECONDS, MAX_LOTS

SaleId = ResourceId
LotId = ResourceId
# A lot named in a body (a path's id has the same rule).
LotRef = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
# The interval as the rules check it: outside it, 422 ``invalid_interval``.
Interval = Annotated[
    StrictInt,
    Field(
        json_schema_extra={"minimum": INTERVAL_SECONDS[0], "maximum": INTERVAL_SECONDS[1]},
        description="Seconds between one lot's planned end and the next's.",
        examples=[60],
    ),
]
LotNumber = Annotated[
    StrictInt,
    Field(ge=1, le=MAX_LOTS, description="The lot's place in the sale, from 1."),
]
# What a PATCH may set to null: the start (the sale then starts when published).
NULLABLE = frozenset({"starts_at"})
REFUSALS_TO_ADD = (
    "`not_your_lot` (422: no draft of yours has this id), `lot_in_sale` (409: in this "
    "sale already), `lot_in_another_sale` (409: `details.sale_id` names it), "
    "`lot_not_draft` (409: listed, closed or cancelled), `sale_full` (409: "
    f"{MAX_LOTS} lots), `sale_published` (409), `sale_too_long` (422: the last lot would "
    "close after the longest time a lot may run)"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewSale(_Strict):
    """A timed sale: its lots start together and close one after another.

    Lot `n` ends at `first_close_at + (n - 1) * interval_seconds` (each may then be
    extended on its own by late bids, as its soft close says)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "The Hartley estate: furniture and silver",
                    "description": "Viewing by appointment; collection from Bath.",
                    "first_close_at": "2026-06-01T18:00:00Z",
                    "interval_seconds": 60,
                }
            ]
        }
    )

    title: Title
    description: Description = ""
    first_close_at: AwareDatetime = Field(description="When lot 1 ends (UTC or any offset).")
    interval_seconds: Interval
    starts_at: AwareDatetime | None = Field(
        default=None, description="When every lot opens; left out: when the sale is published."
    )


class SaleChange(_Strict):
    """A draft sale's new words or times; send only what changes."""

    title: Title | None = None
    description: Description | None = None
    first_close_at: AwareDatetime | None = None
    interval_seconds: Interval | None = None
    starts_at: AwareDatetime | None = None


class LotToAdd(_Strict):
    """One of your draft lots, last in the sale unless `lot_number` places it."""

    auction_id: LotRef
    lot_number: LotNumber | None = None


class LotPlace(_Strict):
    """A lot's new number in the sale; the others keep their order."""

    lot_number: LotNumber


def _viewer(principal: Any) -> Caller | None:
    return caller(principal) if principal is not None else None


def _changes(body: SaleChange) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name not in NULLABLE:
            raise Invalid("validation_error", f"{name} cannot be null")
        changes[name] = value
    return changes


def build_router(ctx: Auctions) -> APIRouter:
    """The routes of timed sales."""
    router = APIRouter(prefix="/api/v1/sales", tags=["sales"])

    def now() -> str:
        return ctx.clock().isoformat()

    def one(view: SaleView) -> dict[str, Any]:
        return {"sale": sale_document(view), "server_time": now()}

    def page(found: Page[SaleSummary]) -> dict[str, Any]:
        items = [summary_document(item) for item in found.items]
        return {"items": items, "next_cursor": found.next_cursor, "server_time": now()}

    @router.post(
        "",
        status_code=201,
        responses={
            201: {"model": SaleAnswer},
            422: {
                "description": (
                    "`invalid_title`, `invalid_description`, `invalid_interval` (10 to "
                    "3,600 seconds), `start_in_past`, `first_close_too_soon` (lot 1 must "
                    "run at least the shortest time a lot may run)."
                )
            },
        },
    )
    async def create(body: NewSale, seller: Seller) -> dict[str, Any]:
        """Start a timed sale (a draft): add your draft lots, then publish it.

        Every lot of a published sale starts at the sale's start (`starts_at`, or the
        moment it is published) and lot `n` ends at `first_close_at + (n - 1) *
        interval_seconds`, each keeping its own format and soft close: a late bid
        extends that lot only. A sale holds up to 500 lots."""
        command = CreateSale(
            seller_id=seller.subject,
            title=body.title,
            description=body.description,
            first_close_at=body.first_close_at,
            interval_seconds=body.interval_seconds,
            starts_at=body.starts_at,
        )
        return one(await sale_handlers.create_sale(command, ctx=ctx))

    @router.get(
        "",
        responses={
            200: {"model": SalePage},
            400: {"description": "The cursor is not one this list gave (`invalid_cursor`)."},
        },
    )
    async def published(
        finished: bool = False,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        """Published sales with lots still to close, the one whose first lot closes soonest
        first; with `finished=true`, those whose every lot has ended, the latest first."""
        found = await sale_handlers.published_sales(
            finished=finished, cursor=cursor, limit=limit, ctx=ctx
        )
        return page(found)

    @router.get(
        "/mine",
        responses={
            200: {"model": SalePage},
            400: {"description": "The cursor is not one this list gave (`invalid_cursor`)."},
        },
    )
    async def mine(
        seller: Seller,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        """Your own sales, drafts included, the newest first."""
        found = await sale_handlers.my_sales(seller.subject, cursor=cursor, limit=limit, ctx=ctx)
        return page(found)

    @router.get(
        "/{sale_id}",
        responses={
            **ANSWERS_SALE,
            404: {"description": "No such sale, or a draft not yours (`sale_not_found`)."},
        },
    )
    async def detail(sale_id: SaleId, viewer: OptionalPrincipal) -> dict[str, Any]:
        """A sale, its lots in order (status, price, end) and the lot that closes next.

        A draft is seen by its seller only; its lots show the ends the sale plans."""
        return one(await sale_handlers.show_sale(sale_id, _viewer(viewer), ctx=ctx))

    @router.patch(
        "/{sale_id}",
        responses={
            **ANSWERS_SALE,
            **NOT_YOURS,
            **PUBLISHED,
            422: {"description": "As for a new sale, and `sale_too_long`."},
        },
    )
    async def change(sale_id: SaleId, body: SaleChange, user: CurrentUser) -> dict[str, Any]:
        """Change a draft sale's words or times (`starts_at: null`: start when published)."""
        command = EditSale(sale_id, by=caller(user), changes=_changes(body))
        return one(await sale_handlers.edit_sale(command, ctx=ctx))

    @router.delete(
        "/{sale_id}",
        status_code=204,
        responses={
            **NOT_YOURS,
            **PUBLISHED,
        },
    )
    async def delete(sale_id: SaleId, user: CurrentUser) -> Response:
        """Throw a draft sale away; its lots stay your drafts."""
        await sale_handlers.delete_sale(sale_id, caller(user), ctx=ctx)
        return Response(status_code=204)

    @router.post(
        "/{sale_id}/lots",
        description=(
            "Put one of your draft lots in your draft sale, last unless `lot_number` "
            "places it; it keeps its terms, and takes its times from the sale when the "
            f"sale is published. Refused: {REFUSALS_TO_ADD}."
        ),
        responses={
            **ANSWERS_SALE,
            **NOT_YOURS,
            409: {"description": "See below."},
            422: {"description": "See below; a `lot_number` past the last (`invalid_lot_number`)."},
        },
    )
    async def add(sale_id: SaleId, body: LotToAdd, user: CurrentUser) -> dict[str, Any]:
        """Put one of your draft lots in your draft sale."""
        command = AddLot(sale_id, body.auction_id, by=caller(user), lot_number=body.lot_number)
        return one(await sale_handlers.add_lot(command, ctx=ctx))

    @router.put(
        "/{sale_id}/lots/{auction_id}",
        responses={
            **ANSWERS_SALE,
            **NOT_YOURS,
            404: {"description": "No such sale, or the lot is not in it (`lot_not_in_sale`)."},
            **PUBLISHED,
            422: {"description": "A number past the last lot (`invalid_lot_number`)."},
        },
    )
    async def move(
        sale_id: SaleId, auction_id: LotId, body: LotPlace, user: CurrentUser
    ) -> dict[str, Any]:
        """Give a lot of your draft sale another number."""
        command = MoveLot(sale_id, auction_id, body.lot_number, by=caller(user))
        return one(await sale_handlers.move_lot(command, ctx=ctx))

    @router.delete(
        "/{sale_id}/lots/{auction_id}",
        responses={
            **ANSWERS_SALE,
            **NOT_YOURS,
            404: {"description": "No such sale, or the lot is not in it (`lot_not_in_sale`)."},
            **PUBLISHED,
        },
    )
    async def remove(sale_id: SaleId, auction_id: LotId, user: CurrentUser) -> dict[str, Any]:
        """Take a lot out of your draft sale: it stays your draft; the lots after it move up."""
        command = RemoveLot(sale_id, auction_id, by=caller(user))
        return one(await sale_handlers.remove_lot(command, ctx=ctx))

    @router.post(
        "/{sale_id}/publish",
        responses={
            **ANSWERS_SALE,
            **NOT_YOURS,
            409: {
                "description": (
                    "`sale_published`, `sale_empty`, or a lot no longer a draft "
                    "(`lot_not_draft`: `details` names it)."
                )
            },
            422: {
                "description": (
                    "`start_in_past`, `first_close_too_soon`, `sale_too_long`, or a lot's "
                    "terms no longer pass (its own code; `details` names the lot)."
                )
            },
        },
    )
    async def publish(sale_id: SaleId, user: CurrentUser) -> dict[str, Any]:
        """Publish your sale and every lot in it, all at once or none.

        Each lot is listed as publishing it alone would (`AuctionPublished`, with the
        sale's id and the lot's number), starting at the sale's start and ending in
        its turn; the lots open at once when the sale starts now."""
        return one(await sale_handlers.publish_sale(sale_id, caller(user), ctx=ctx))

    @router.post(
        "/{sale_id}/cancel",
        responses={
            200: {"model": SaleCancellationAnswer},
            403: {"description": "The sale is not yours (`forbidden`); admins may."},
            404: {"description": "No such sale, or a draft not yours (`sale_not_found`)."},
            409: {"description": "A draft is deleted, not cancelled (`sale_draft`)."},
            **BOOK_AWAY,
        },
    )
    async def cancel(
        sale_id: SaleId, user: CurrentUser, body: Cancellation | None = None
    ) -> dict[str, Any]:
        """Cancel your published sale (admins: anyone's): withdraw every lot still to close.

        Each lot is cancelled as `POST /api/v1/auctions/{id}/cancel` would cancel it
        (`AuctionCancelled`, its bidders told, the optional `reason` with it); a lot you
        may not cancel, one with bids unless you are an admin, is kept and runs on,
        listed in `kept` with its code. The sale shows `cancelled` (and `cancelled_at`)
        once a cancellation leaves none of its lots to close. Asking again is harmless:
        what is withdrawn stays so, and with nothing left `cancelled` is empty. A
        `503` leaves the lots before it withdrawn; ask again to go on."""
        command = CancelSale(sale_id, by=caller(user), reason=body.reason if body else None)
        done = await sale_handlers.cancel_sale(command, ctx=ctx)
        return {**cancellation_document(done), "server_time": now()}

    return router
