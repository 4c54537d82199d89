"""What the routes of timed sales answer: the documents and their schemas.

A sale's answer carries its lots in order as a catalogue of the sale shows them, and
the lot that closes next; every answer carries ``server_time`` (UTC).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from auction_platform.services.auction import views
from auction_platform.services.auction.answers import SERVER_TIME, Format
from auction_platform.services.auction.domain import Outcome, Status
from auction_platform.services.auction.sale_handlers import (
    SaleCancellation,
    SaleSummary,
    SaleView,
)
from auction_platform.services.auction.sales import SaleState, SaleStatus


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SaleLot(_Answer):
    """A lot of the sale: what a catalogue of the sale shows of it, and when it ends."""

    lot_number: int
    auction_id: str
    title: str
    image: str | None = Field(description="Its first picture, if it has one.")
    format: Format
    currency: str
    status: Status
    outcome: Outcome | None
    start_cents: int
    current_price_cents: int = Field(
        description="The lot's price (a sealed lot's start price until it closes)."
    )
    final_price_cents: int | None
    bid_count: int
    starts_at: datetime | None = Field(description="Null while a draft sale starts when published.")
    ends_at: datetime = Field(
        description="Its end as it stands (late bids move it), or as the draft sale plans it."
    )
    closed_at: datetime | None


class NextClosing(_Answer):
    """The lot still to close that ends soonest."""

    lot_number: int
    auction_id: str
    ends_at: datetime


class SaleFields(_Answer):
    """A sale and where it stands."""

    id: str
    seller_id: str
    title: str
    description: str
    status: SaleStatus
    state: SaleState = Field(
        description=(
            "`draft`, `upcoming` (lots not open yet), `running`, `finished`, `cancelled` "
            "(a cancellation left no lot to close)."
        )
    )
    starts_at: datetime | None = Field(description="Null while a draft starts when published.")
    first_close_at: datetime
    interval_seconds: int
    last_close_at: datetime | None = Field(description="Lot n's planned end; null without lots.")
    lot_count: int
    created_at: datetime
    published_at: datetime | None
    cancelled_at: datetime | None = Field(
        description="When a cancellation of the sale left none of its lots to close."
    )


class SaleWithLots(SaleFields):
    """A sale with its lots in order and the lot that closes next."""

    lots: list[SaleLot]
    next_closing: NextClosing | None = Field(
        description="The open (or scheduled) lot that ends soonest; null in a draft or when done."
    )


class SaleAnswer(_Answer):
    """One sale."""

    sale: SaleWithLots
    server_time: datetime = Field(description=SERVER_TIME)


class WithdrawnLot(_Answer):
    """A lot the cancellation withdrew."""

    lot_number: int
    auction_id: str


class KeptLot(_Answer):
    """A lot the cancellation left running, and why."""

    lot_number: int
    auction_id: str
    code: str = Field(
        description=(
            "The lot's own refusal: `has_bids` (a seller's lot with bids: only an admin "
            "cancels it), `not_cancellable` (it ended meanwhile), `conflict` (it opened "
            "meanwhile: ask again)."
        )
    )
    message: str


class SaleCancellationAnswer(_Answer):
    """The sale after its cancellation, the lots withdrawn and the lots kept."""

    sale: SaleWithLots
    cancelled: list[WithdrawnLot] = Field(description="Withdrawn by this call, lot 1 first.")
    kept: list[KeptLot] = Field(description="Left running by this call, with the reason.")
    server_time: datetime = Field(description=SERVER_TIME)


# What the routes on one sale answer alike.
ANSWERS_SALE: dict[int | str, dict[str, Any]] = {200: {"model": SaleAnswer}}
NOT_YOURS: dict[int | str, dict[str, Any]] = {
    403: {"description": "The sale is not yours (`forbidden`)."}
}
PUBLISHED: dict[int | str, dict[str, Any]] = {
    409: {"description": "The sale is published (`sale_published`)."}
}


class SaleSummaryFields(SaleFields):
    """A sale in a list."""

    cover_image: str | None = Field(description="A picture of its first lot that has one.")


class SalePage(_Answer):
    """A page of sales; `next_cursor` asks for the next (null on the last page)."""

    items: list[SaleSummaryFields]
    next_cursor: str | None
    server_time: datetime = Field(description=SERVER_TIME)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _fields(sale: Any, state: SaleState) -> dict[str, Any]:
    return {
        "id": sale.id,
        "seller_id": sale.seller_id,
        "title": sale.title,
        "description": sale.description,
        "status": sale.status.value,
        "state": state.value,
        "starts_at": _iso(sale.starts_at),
        "first_close_at": sale.first_close_at.isoformat(),
        "interval_seconds": sale.interval_seconds,
        "last_close_at": _iso(sale.last_close_at),
        "lot_count": len(sale.lot_ids),
        "created_at": sale.created_at.isoformat(),
        "published_at": _iso(sale.published_at),
        "cancelled_at": _iso(sale.cancelled_at),
    }


def sale_document(view: SaleView) -> dict[str, Any]:
    """The sale as ``GET /api/v1/sales/{id}`` answers it."""
    sale = view.sale
    draft = sale.status is SaleStatus.DRAFT
    lots = []
    for lot in view.lots:
        terms = lot.terms
        lots.append(
            {
                "lot_number": sale.number_of(lot.id),
                "auction_id": lot.id,
                "title": terms.title,
                "image": terms.images[0] if terms.images else None,
                "format": terms.format.value,
                "currency": terms.currency,
                "status": lot.status.value,
                "outcome": lot.outcome.value if lot.outcome else None,
                "start_cents": terms.start_cents,
                "current_price_cents": views.current_price(lot, view.now),
                "final_price_cents": lot.final_price_cents,
                "bid_count": lot.bid_count,
                "starts_at": _iso(sale.starts_at if draft else terms.starts_at),
                "ends_at": view.ends_of(lot).isoformat(),
                "closed_at": _iso(lot.closed_at),
            }
        )
    following = view.next_closing
    next_closing = (
        {
            "lot_number": following.number,
            "auction_id": following.lot_id,
            "ends_at": following.ends_at.isoformat(),
        }
        if following is not None
        else None
    )
    return {**_fields(sale, view.state), "lots": lots, "next_closing": next_closing}


def summary_document(found: SaleSummary) -> dict[str, Any]:
    return {**_fields(found.sale, found.state), "cover_image": found.cover_image}


def cancellation_document(done: SaleCancellation) -> dict[str, Any]:
    """What ``POST /api/v1/sales/{id}/cancel`` answers, but for ``server_time``."""
    return {
        "sale": sale_document(done.view),
        "cancelled": [
            {"lot_number": lot.number, "auction_id": lot.lot_id} for lot in done.cancelled
        ],
        "kept": [
            {
                "lot_number": lot.number,
                "auction_id": lot.lot_id,
                "code": lot.code,
                "message": lot.message,
            }
            for lot in done.kept
        ],
    }
