"""HTTP routes of the bidding service: bids, Buy It Now, retractions, the book and its history.

Two routes are for the auction service only: cancelling a book, and new rules for it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, Self

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from auction_platform.contracts.auctions import AuctionFormat
from auction_platform.contracts.books import PublicBook
from auction_platform.contracts.money import MAX_AMOUNT_CENTS
from auction_platform.core.auth import CurrentService, CurrentUser, OptionalPrincipal, Principal
from auction_platform.core.errors import ErrorTable, response_for
from auction_platform.core.failures import DomainError, Invalid
from auction_platform.core.inputs import Cents, ResourceId
from auction_platform.core.lean import LeanRoute
from auction_platform.services.bidding import answers, queries
from auction_platform.services.bidding.domain import (
    BidAccepted,
    BidRetracted,
    BookCancelled,
    BookCommand,
    BookResult,
    BoughtNow,
    BuyNow,
    CancelBook,
    CancelledBy,
    EditRules,
    Idempotency,
    PlaceBid,
    Retract,
    RulesEdited,
)
from auction_platform.services.bidding.handlers import Bidding
from auction_platform.services.bidding.idempotency import RecordedAnswer

AuctionId = ResourceId
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
]


# An increment table's threshold or step: the first threshold is 0.
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT_CENTS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


_MAXIMUM = frozenset({"max_amount_cents", "max_amount"})

# ``max_amount`` is the old name of ``max_amount_cents`` (every other amount says
# ``_cents``): still accepted, and answered with RFC 9745's Deprecation header (the
# date it was deprecated, 2026-12-03, as ``@`` and its Unix time) and a link to the docs.
DEPRECATED_NAME_HEADERS = (
    (b"deprecation", b"@1796256000"),
    (b"link", b'</api/docs>; rel="deprecation"; type="text/html"'),
)


class BidRequest(_Strict):
    """A bid: the most the bidder will pay, in cents (``max_amount``: its deprecated name)."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["max_amount_cents"]}, {"required": ["max_amount"]}],
            "examples": [{"max_amount_cents": 25_000}],
        }
    )

    max_amount_cents: Cents | None = Field(
        default=None, description="The most you will pay, in cents; kept secret."
    )
    max_amount: Cents | None = Field(
        default=None,
        description="Deprecated: the old name of `max_amount_cents`. Send one of the two.",
        json_schema_extra={"deprecated": True},
    )

    @model_validator(mode="after")
    def _one_maximum(self) -> Self:
        sent = self.model_fields_set & _MAXIMUM
        if len(sent) != 1 or getattr(self, next(iter(sent))) is None:
            raise ValueError("send the maximum once, as max_amount_cents")
        return self

    @property
    def max_cents(self) -> int:
        """The bid's maximum, whichever name it came under."""
        cents = self.max_amount_cents if self.max_amount is None else self.max_amount
        assert cents is not None  # one of the two, checked above
        return cents

    def answer_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """The headers its answer carries: the Deprecation of the old name, if it came so."""
        return DEPRECATED_NAME_HEADERS if self.max_amount is not None else ()


class RetractionRequest(_Strict):
    seq: Annotated[int, Field(gt=0)]


class CancelRequest(_Strict):
    by: Annotated[str, Field(pattern="^(seller|admin)$")]


class SoftCloseRules(_Strict):
    window_seconds: Annotated[int, Field(gt=0, le=86_400)]
    extend_seconds: Annotated[int, Field(gt=0, le=86_400)]
    max_extensions: Annotated[int, Field(ge=0, le=1_000)]


class DutchRules(_Strict):
    floor_cents: Annotated[int, Field(gt=0, le=MAX_AMOUNT_CENTS)]
    step_cents: Annotated[int, Field(gt=0, le=MAX_AMOUNT_CENTS)]
    tick_seconds: Annotated[int, Field(gt=0, le=86_400)]


class RulesRequest(_Strict):
    """An auction's rules (``AuctionRulesData``), as the auction service sends them."""

    auction_id: Annotated[str, Field(min_length=1, max_length=64)]
    seller_id: Annotated[str, Field(min_length=1, max_length=64)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    start_cents: Cents
    reserve_cents: Cents | None
    buy_now_cents: Cents | None
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    soft_close: SoftCloseRules | None
    increments: Annotated[
        list[Annotated[list[Amount], Field(min_length=2, max_length=2)]], Field(max_length=50)
    ]
    # Left out: an English auction (rules sent before there were formats).
    format: AuctionFormat = "english"
    dutch: DutchRules | None = None


def _bid(auction_id: str, user: Principal, body: BidRequest, key: str | None) -> PlaceBid:
    """The command a bid request asks for (either name of the maximum is the same request)."""
    # The fingerprint keeps the old name: a retry keyed before the rename still matches.
    idempotency = _idempotency("bid", auction_id, {"max_amount": body.max_cents}, key)
    return PlaceBid(user.subject, body.max_cents, idempotency)


def _idempotency(
    kind: str, auction_id: str, payload: dict[str, Any], key: str | None
) -> Idempotency | None:
    """The key, with a fingerprint of the request it came with (the same request, the same hash)."""
    if key is None:
        return None
    digest = hashlib.sha256(
        json.dumps([kind, auction_id, payload], sort_keys=True).encode()
    ).hexdigest()
    return Idempotency(key, digest)


# --- how outcomes leave: the service's one table ------------------------------------

# A refusal's status by its kind (``core.failures``), or by its code where one differs.
ERRORS = ErrorTable(by_code={"idempotency_key_reused": 422})


def _bid_accepted(result: BidAccepted) -> dict[str, Any]:
    return {
        **result.book,
        "accepted": True,
        "seq": result.seq,
        "leading": result.leading,
        "your_max_cents": result.your_max_cents,
    }


def _bought_now(result: BoughtNow) -> dict[str, Any]:
    return {**result.book, "accepted": True, "winner": True}


def _bid_retracted(result: BidRetracted) -> dict[str, Any]:
    return result.book


def _book_cancelled(result: BookCancelled) -> dict[str, Any]:
    return {"bidder_ids": list(result.bidder_ids), "bids_voided": result.bids_voided}


def _rules_edited(result: RulesEdited) -> dict[str, Any]:
    return result.book


_RESULTS: dict[type[Any], tuple[int, Callable[[Any], dict[str, Any]]]] = {
    BidAccepted: (201, _bid_accepted),
    BoughtNow: (201, _bought_now),
    BidRetracted: (200, _bid_retracted),
    BookCancelled: (200, _book_cancelled),
    RulesEdited: (200, _rules_edited),
}


def render(outcome: BookResult | DomainError) -> tuple[int, dict[str, Any]]:
    """The status and JSON body an outcome leaves with (recorded for an Idempotency-Key)."""
    if isinstance(outcome, DomainError):
        status, body, _ = ERRORS.answer(outcome)
        return status, body
    status, shape = _RESULTS[type(outcome)]
    return status, shape(outcome)


def _answer(outcome: BookResult | RecordedAnswer) -> tuple[int, dict[str, Any]]:
    if isinstance(outcome, RecordedAnswer):
        return outcome.status, outcome.body
    return render(outcome)


def lean_bid_route(ctx: Bidding) -> LeanRoute:
    """``POST .../bids`` without the framework for the well-formed, signed-in request.

    The same model, verifier and use case as ``place_bid`` below, which still answers
    everything else (and documents the route).
    """

    async def handle(
        params: dict[str, str], user: Principal, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any]:
        auction_id = params["auction_id"]
        command = _bid(auction_id, user, body, headers.get("idempotency-key"))
        try:
            return _answer(await ctx.submit(auction_id, command))
        except DomainError as refusal:
            # On a hot auction a refusal is as common as a bid: answered here, through
            # the same table, it is sent as a bid is; one with headers (Retry-After)
            # goes to the lean routes' error handler.
            if ERRORS.headers_of(refusal) is not None:
                raise
            return render(refusal)

    return LeanRoute(
        path="/api/v1/auctions/{auction_id}/bids",
        pattern=re.compile(r"^/api/v1/auctions/(?P<auction_id>[A-Za-z0-9_-]{1,64})/bids$"),
        body=BidRequest,
        handle=handle,
        headers=(("idempotency-key", 200),),
        arriving=lambda params: ctx.batcher.arriving(params["auction_id"]),
        answer_headers=BidRequest.answer_headers,
    )


def build_routers(ctx: Bidding) -> list[APIRouter]:
    """Every route of the bidding service."""
    router = APIRouter(prefix="/api/v1/auctions/{auction_id}", tags=["bidding"])
    mine = APIRouter(prefix="/api/v1/bids", tags=["bidding"])

    async def run(auction_id: str, command: BookCommand) -> JSONResponse:
        status, body = _answer(await ctx.submit(auction_id, command))
        return JSONResponse(body, status)

    @router.post(
        "/bids",
        status_code=201,
        responses={201: {"model": answers.AcceptedBid}, **answers.REFUSED_BID},
    )
    async def place_bid(
        auction_id: AuctionId, body: BidRequest, user: CurrentUser, key: IdempotencyKey = None
    ) -> JSONResponse:
        """Bid with a secret maximum; the price rises only as far as competition requires.

        In a sealed-bid auction the bid is the amount offered, hidden until the close:
        one per bidder, which may be raised (409 `sealed_bid_not_raised` otherwise),
        and the answer says nothing of where it ranks (`leading` null). A Dutch lot
        takes no bids (409 `dutch_accept_only`): accept its price with `buy-now`.

        Send the maximum as `max_amount_cents`. Its old name, `max_amount`, is still
        accepted (not both): the answer then carries a `Deprecation` header.
        """
        extra = body.answer_headers()
        if not extra:
            return await run(auction_id, _bid(auction_id, user, body, key))
        try:
            response = await run(auction_id, _bid(auction_id, user, body, key))
        except Exception as exc:
            # A refusal carries the header too, as on the lean route.
            refusal = response_for(exc, ERRORS)
            if refusal is None:
                raise
            response = refusal
        response.headers.update({k.decode(): v.decode() for k, v in extra})
        return response

    @router.post(
        "/buy-now",
        status_code=201,
        responses={201: {"model": answers.BoughtNow}, **answers.REFUSED_BID},
    )
    async def buy_now(
        auction_id: AuctionId, user: CurrentUser, key: IdempotencyKey = None
    ) -> JSONResponse:
        """Buy at the Buy It Now price (until the first bid), or accept a Dutch lot's price.

        On a Dutch lot this is the acceptance: the first to accept buys at the clock's
        price at that moment and the lot closes; acceptances are applied one at a time
        with the book, so of two at once the second is refused (409 `auction_ended`).
        """
        idempotency = _idempotency("buy_now", auction_id, {}, key)
        return await run(auction_id, BuyNow(user.subject, idempotency))

    @router.post(
        "/retractions",
        responses={
            200: {"model": PublicBook},
            403: {"description": "Not your bid (`not_your_bid`)."},
            409: {
                "description": "eBay's policy refuses it now (`retraction_window_closed`), "
                "or the auction is over."
            },
        },
    )
    async def retract(
        auction_id: AuctionId, body: RetractionRequest, user: CurrentUser
    ) -> JSONResponse:
        """Retract one of your bids, under eBay's retraction policy."""
        return await run(auction_id, Retract(user.subject, body.seq))

    @router.post(
        "/book/cancel",
        responses={
            200: {"model": answers.BookCancelled},
            409: {"description": "Bids were accepted and the seller cancels (`has_bids`)."},
        },
    )
    async def cancel(
        auction_id: AuctionId, body: CancelRequest, service: CurrentService
    ) -> JSONResponse:
        """Close the book to bids (the auction service, when a lot is cancelled)."""
        return await run(auction_id, CancelBook(CancelledBy(body.by)))

    @router.put(
        "/book/rules",
        responses={
            200: {"model": PublicBook},
            409: {"description": "`has_bids`, `auction_ended` or `auction_cancelled`."},
        },
    )
    async def edit_rules(
        auction_id: AuctionId, body: RulesRequest, service: CurrentService
    ) -> JSONResponse:
        """Run the book under the lot's new terms (the auction service, when a lot is edited).

        Refused with 409 `has_bids` once a bid has been accepted (the book's lock
        orders the two), `auction_ended` or `auction_cancelled` when the book is done.
        A book not open yet opens with these rules.
        """
        if body.auction_id != auction_id:
            raise Invalid("validation_error", "the rules are of another auction")
        return await run(auction_id, EditRules(body.model_dump(mode="json")))

    @router.get("/book", responses={200: {"model": answers.Book}})
    async def book(auction_id: AuctionId, principal: OptionalPrincipal) -> dict[str, Any]:
        """Price, leader (pseudonymous), bid count and end; your standing when signed in."""
        viewer_id = None if principal is None or principal.is_service else principal.subject
        return await queries.book(ctx, auction_id, viewer_id=viewer_id)

    @router.get("/bids", responses={200: {"model": answers.BidHistory}})
    async def history(auction_id: AuctionId) -> dict[str, Any]:
        """The public bid history: price steps and pseudonymous bidders, never maximums.

        A sealed-bid auction's is empty until the close; then it shows every bid with
        its `amount_cents`. A Dutch lot's is its acceptance.
        """
        return await queries.history(ctx, auction_id)

    @mine.get("", responses={200: {"model": answers.MyLots}})
    async def my_bids(
        user: CurrentUser, limit: Annotated[int, Query(ge=1, le=200)] = 50
    ) -> dict[str, Any]:
        """The lots you bid on, latest first, with your standing: leading, outbid, won or lost.

        In an open sealed-bid auction the standing is `sealed` and the price the start
        price: where a sealed bid ranks is secret until the close.
        """
        return await queries.bids_of(ctx, user.subject, limit=limit)

    return [router, mine]
