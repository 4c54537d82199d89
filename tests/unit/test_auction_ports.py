"""The bid book over HTTP: the bidding service's answers as the auction service reads them.

Cancelling (``POST .../book/cancel``) and editing (``PUT .../book/rules``) alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from auction_platform.contracts.auctions import AuctionRulesData
from auction_platform.core.failures import Unavailable
from auction_platform.services.auction.api import ERRORS
from auction_platform.services.auction.domain import Actor
from auction_platform.services.auction.ports import (
    BookCancelled,
    BookEdited,
    BookRefusal,
    BookRefused,
    HttpBookControl,
)

Handler = Callable[[httpx.Request], httpx.Response]


def book(handler: Handler) -> HttpBookControl:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://bidding")

    async def headers() -> dict[str, str]:
        return {"Authorization": "Bearer service-token"}

    return HttpBookControl(lambda: client, headers)


def error(code: str) -> httpx.Response:
    return httpx.Response(409, json={"error": {"code": code, "message": "no"}})


async def test_a_cancelled_book_names_its_bidders_and_whether_bids_were_voided() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"bidder_ids": ["bea", "cy"], "bids_voided": True})

    cancelled = await book(answer).cancel("lot-1", by=Actor.ADMIN)
    assert cancelled == BookCancelled(bidder_ids=("bea", "cy"), bids_voided=True)
    [request] = seen
    assert (request.method, request.url.path) == ("POST", "/api/v1/auctions/lot-1/book/cancel")
    assert json.loads(request.content) == {"by": "admin"}
    assert request.headers["authorization"] == "Bearer service-token"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("has_bids", BookRefusal.HAS_BIDS),
        ("auction_ended", BookRefusal.NOT_CANCELLABLE),
        ("", BookRefusal.NOT_CANCELLABLE),
    ],
)
async def test_a_409_is_the_books_refusal(code: str, reason: BookRefusal) -> None:
    refused = await book(lambda request: error(code)).cancel("lot-1", by=Actor.SELLER)
    assert refused == BookRefused(reason)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_failing_book_is_unavailable_for_a_second(status: int) -> None:
    with pytest.raises(Unavailable) as down:
        await book(lambda request: httpx.Response(status)).cancel("lot-1", by=Actor.SELLER)
    assert (down.value.code, down.value.retry_after) == ("dependency_unavailable", 1)
    assert ERRORS.answer(down.value)[0] == 503
    assert ERRORS.headers_of(down.value) == {"Retry-After": "1"}


async def test_an_unreachable_book_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(Unavailable) as down:
        await book(refuse).cancel("lot-1", by=Actor.SELLER)
    assert down.value.code == "dependency_unavailable"
    assert down.value.message == "the bidding service is unavailable; retry shortly"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"bidder_ids": ["bea"]}),
        httpx.Response(200, text="not json"),
        httpx.Response(404, json={"error": {"code": "not_found"}}),
    ],
)
async def test_an_answer_outside_the_contract_is_a_bad_gateway(response: httpx.Response) -> None:
    with pytest.raises(Unavailable) as bad:
        await book(lambda request: response).cancel("lot-1", by=Actor.SELLER)
    assert bad.value.code == "bad_gateway"
    assert bad.value.message == f"the bidding service answered {response.status_code}"
    assert ERRORS.status_of(bad.value) == 502
    assert ERRORS.headers_of(bad.value) is None


RULES: AuctionRulesData = {
    "auction_id": "lot-1",
    "seller_id": "sam",
    "title": "A Leica M3",
    "currency": "EUR",
    "start_cents": 5_000,
    "reserve_cents": None,
    "buy_now_cents": 9_000,
    "starts_at": "2030-03-01T12:00:00+00:00",
    "ends_at": "2030-03-03T12:00:00+00:00",
    "soft_close": None,
    "increments": [[0, 5]],
}


async def test_an_edit_puts_the_new_rules_to_the_book() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"auction_id": "lot-1"})

    assert await book(answer).edit("lot-1", RULES) == BookEdited()
    [request] = seen
    assert (request.method, request.url.path) == ("PUT", "/api/v1/auctions/lot-1/book/rules")
    assert json.loads(request.content) == RULES
    assert request.headers["authorization"] == "Bearer service-token"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("has_bids", BookRefusal.HAS_BIDS),
        ("auction_ended", BookRefusal.NOT_EDITABLE),
        ("auction_cancelled", BookRefusal.NOT_EDITABLE),
    ],
)
async def test_a_409_to_an_edit_is_the_books_refusal(code: str, reason: BookRefusal) -> None:
    assert await book(lambda request: error(code)).edit("lot-1", RULES) == BookRefused(reason)


async def test_an_edit_the_book_cannot_hear_is_unavailable_or_a_bad_gateway() -> None:
    with pytest.raises(Unavailable) as down:
        await book(lambda request: httpx.Response(503)).edit("lot-1", RULES)
    assert (down.value.code, ERRORS.status_of(down.value)) == ("dependency_unavailable", 503)
    with pytest.raises(Unavailable) as bad:
        await book(lambda request: httpx.Response(404)).edit("lot-1", RULES)
    assert (bad.value.code, ERRORS.status_of(bad.value)) == ("bad_gateway", 502)
