"""Listing through the gateway: start now, edits until the first bid, relisting, Buy It Now.

Every service runs in this process on either backend; the bid book is the real
bidding service, so an edit reaches it and a bid races it as in production.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from auction_platform.composition import Platform
from support.accounts import Account, sign_up
from support.auctions import create, lot_body, open_lot, seller
from support.waiting import eventually


async def auction(http: httpx.AsyncClient, lot_id: str, who: Account | None = None) -> Any:
    """A lot as ``who`` (or anyone) sees it."""
    headers = who.headers if who else {}
    response = await http.get(f"/api/v1/auctions/{lot_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["auction"]


async def book(http: httpx.AsyncClient, lot_id: str) -> Any:
    """The public bid book of a lot."""
    response = await http.get(f"/api/v1/auctions/{lot_id}/book")
    assert response.status_code == 200, response.text
    return response.json()


async def bid(http: httpx.AsyncClient, lot_id: str, who: Account, cents: int) -> httpx.Response:
    return await http.post(
        f"/api/v1/auctions/{lot_id}/bids", json={"max_amount": cents}, headers=who.headers
    )


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def found(http: httpx.AsyncClient, words: str, **filters: str) -> Any:
    """The first lot the search index finds for ``words``, or None."""
    response = await http.get("/api/v1/search/auctions", params={"q": words, **filters})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items[0] if items else None


def starting_now(**overrides: Any) -> dict[str, Any]:
    """A listing without a start, running for ``duration_seconds`` (an hour by default)."""
    body = lot_body(**{"duration_seconds": 3_600, **overrides})
    del body["starts_at"]
    if "ends_at" not in overrides:
        del body["ends_at"]
    return body


# Start now


async def test_a_lot_listed_without_a_start_is_open_at_once(http: httpx.AsyncClient) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    response = await http.post(
        "/api/v1/auctions",
        json=starting_now(publish=True, reserve_cents=None, buy_now_cents=None),
        headers=sam.headers,
    )
    assert response.status_code == 201, response.text
    lot = response.json()["auction"]
    assert lot["status"] == "open"
    starts = moment(lot["starts_at"])
    assert starts == moment(lot["opened_at"])
    assert abs(starts - moment(response.json()["server_time"])) < timedelta(seconds=5)
    assert moment(lot["ends_at"]) - starts == timedelta(hours=1)
    assert lot["duration_seconds"] == 3_600
    # Bids are taken at once.
    assert (await bid(http, lot["id"], bea, 20_000)).status_code == 201


async def test_a_draft_without_a_start_starts_when_it_is_published(
    http: httpx.AsyncClient,
) -> None:
    sam = await seller(http)
    response = await http.post("/api/v1/auctions", json=starting_now(), headers=sam.headers)
    assert response.status_code == 201, response.text
    draft = response.json()["auction"]
    assert draft["status"] == "draft"
    assert (draft["starts_at"], draft["ends_at"], draft["scheduled_ends_at"]) == (None, None, None)
    assert (draft["starts_when_published"], draft["duration_seconds"]) == (True, 3_600)
    await asyncio.sleep(1.1)  # whenever it is published, it runs its hour from then
    published = await http.post(f"/api/v1/auctions/{draft['id']}/publish", headers=sam.headers)
    assert published.status_code == 200, published.text
    lot = published.json()["auction"]
    assert lot["status"] == "open"
    assert moment(lot["starts_at"]) >= moment(draft["created_at"]) + timedelta(seconds=1)
    assert moment(lot["ends_at"]) - moment(lot["starts_at"]) == timedelta(hours=1)
    assert lot["starts_when_published"] is False


@pytest.mark.parametrize(
    "times",
    [
        {"ends_at": None, "duration_seconds": None},  # neither
        {"duration_seconds": 3_600},  # both (ends_at from the body)
        {"duration_seconds": 0},
        {"duration_seconds": 366 * 86_400},
    ],
)
async def test_a_listing_gives_its_end_once(http: httpx.AsyncClient, times: dict[str, Any]) -> None:
    sam = await seller(http)
    body = {k: v for k, v in {**lot_body(), **times}.items() if v is not None}
    response = await http.post("/api/v1/auctions", json=body, headers=sam.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_a_draft_starting_in_the_past_is_refused_at_once(http: httpx.AsyncClient) -> None:
    sam = await seller(http)
    past = datetime.now().astimezone() - timedelta(minutes=5)
    body = lot_body(starts_at=past.isoformat(), ends_at=(past + timedelta(days=1)).isoformat())
    response = await http.post("/api/v1/auctions", json=body, headers=sam.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "start_in_past"
    mine = await http.get("/api/v1/auctions/mine", headers=sam.headers)
    assert mine.json()["items"] == []


# Editing until the first bid


async def test_an_open_lot_is_edited_until_its_first_bid_and_the_book_follows(
    http: httpx.AsyncClient,
) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    lot = await open_lot(http, sam, reserve_cents=None)
    path = f"/api/v1/auctions/{lot['id']}"
    assert (await book(http, lot["id"]))["buy_now_cents"] == 90_000
    end = moment(lot["ends_at"]) + timedelta(hours=5)
    changes = {"title": "A Leica M3, serviced", "start_cents": 5_000, "buy_now_cents": None}
    edited = await http.patch(
        path, json={**changes, "ends_at": end.isoformat()}, headers=sam.headers
    )
    assert edited.status_code == 200, edited.text
    shown = edited.json()["auction"]
    assert (shown["status"], shown["current_price_cents"]) == ("open", 5_000)
    assert moment(shown["ends_at"]) == end
    # The bid book runs under the new terms at once.
    now = await book(http, lot["id"])
    assert (now["price_cents"], now["min_next_bid_cents"], now["buy_now_cents"]) == (
        5_000,
        5_000,
        None,
    )
    assert moment(now["ends_at"]) == end
    refused = await http.post(f"{path}/buy-now", headers=bea.headers)
    assert refused.json()["error"]["code"] == "buy_now_unavailable"
    # So does the search index.
    item = await eventually(lambda: found(http, "serviced"))
    assert (item["current_price_cents"], moment(item["ends_at"])) == (5_000, end)
    assert (await bid(http, lot["id"], bea, 6_000)).status_code == 201
    # From the first bid on, nothing changes.
    late = await http.patch(path, json={"title": "Mine"}, headers=sam.headers)
    assert (late.status_code, late.json()["error"]["code"]) == (409, "has_bids")
    assert (await auction(http, lot["id"]))["title"] == "A Leica M3, serviced"


async def test_an_open_lot_keeps_its_start_and_currency(http: httpx.AsyncClient) -> None:
    sam = await seller(http)
    lot = await open_lot(http, sam)
    path = f"/api/v1/auctions/{lot['id']}"
    later = moment(lot["starts_at"]) + timedelta(minutes=10)
    for changes, code in [
        ({"starts_at": later.isoformat()}, "start_fixed"),
        ({"currency": "USD"}, "currency_fixed"),
    ]:
        refused = await http.patch(path, json=changes, headers=sam.headers)
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, code)
    past = await http.patch(
        path, json={"ends_at": moment(lot["starts_at"]).isoformat()}, headers=sam.headers
    )
    assert past.status_code == 422
    both = await http.patch(
        path, json={"ends_at": lot["ends_at"], "duration_seconds": 60}, headers=sam.headers
    )
    assert (both.status_code, both.json()["error"]["code"]) == (422, "validation_error")


async def test_a_bid_and_an_edit_sent_together_are_ordered_by_the_book(
    http: httpx.AsyncClient,
) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    for _ in range(3):
        lot = await open_lot(http, sam, reserve_cents=None, buy_now_cents=None)
        placed, edited = await asyncio.gather(
            bid(http, lot["id"], bea, 11_000),
            http.patch(
                f"/api/v1/auctions/{lot['id']}", json={"start_cents": 20_000}, headers=sam.headers
            ),
        )
        now = await book(http, lot["id"])
        if edited.status_code == 200:
            # The edit came first: the bid was judged under the new start price.
            assert (placed.status_code, placed.json()["error"]["code"]) == (409, "below_minimum")
            assert now["price_cents"] == 20_000
        else:
            assert (edited.status_code, edited.json()["error"]["code"]) == (409, "has_bids")
            assert placed.status_code == 201
            assert (now["price_cents"], now["bid_count"]) == (10_000, 1)


async def test_a_bid_just_placed_stops_an_edit_whatever_the_lot_has_heard(
    http: httpx.AsyncClient,
) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    lot = await open_lot(http, sam, reserve_cents=None)
    assert (await bid(http, lot["id"], bea, 12_000)).status_code == 201
    refused = await http.patch(
        f"/api/v1/auctions/{lot['id']}", json={"reserve_cents": 50_000}, headers=sam.headers
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "has_bids")


# Buy It Now


async def test_a_lot_bought_at_once_ends_when_it_was_bought(http: httpx.AsyncClient) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    lot = await open_lot(http, sam)
    bought = await http.post(f"/api/v1/auctions/{lot['id']}/buy-now", headers=bea.headers)
    assert bought.status_code == 201, bought.text
    closed_book = await book(http, lot["id"])
    assert closed_book["status"] == "closed"
    assert closed_book["min_next_bid_cents"] is None
    bought_at = moment(closed_book["ends_at"])

    async def closed() -> Any:
        found = await auction(http, lot["id"])
        return found if found["status"] == "closed" else None

    shown = await eventually(closed)
    assert shown["outcome"] == "sold"
    assert moment(shown["ends_at"]) == moment(shown["closed_at"]) == bought_at
    assert moment(shown["scheduled_ends_at"]) == moment(lot["scheduled_ends_at"])
    assert bought_at < moment(lot["scheduled_ends_at"])
    # The search index, too, says it ended when it was bought.
    item = await eventually(lambda: found(http, "leica", status="closed"))
    assert moment(item["ends_at"]) == bought_at


# Relisting


async def unsold(http: httpx.AsyncClient, owner: Account, **overrides: Any) -> Any:
    """A lot that ran two seconds without a bid and ended unsold."""
    body = starting_now(publish=True, duration_seconds=2, **overrides)
    response = await http.post("/api/v1/auctions", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text

    async def ended() -> Any:
        found = await auction(http, response.json()["auction"]["id"], owner)
        return found if found["status"] == "closed" else None

    lot = await eventually(ended)
    assert lot["outcome"] == "unsold"
    return lot


async def test_an_unsold_lot_is_listed_again(http: httpx.AsyncClient, platform: Platform) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    old = await unsold(http, sam)
    path = f"/api/v1/auctions/{old['id']}/relist"
    assert (await http.post(path, headers=bea.headers)).status_code == 403
    response = await http.post(path, json={"start_cents": 8_000}, headers=sam.headers)
    assert response.status_code == 201, response.text
    new = response.json()["auction"]
    assert new["id"] != old["id"]
    assert (new["status"], new["relisted_from"]) == ("draft", old["id"])
    assert (new["title"], new["start_cents"], new["reserve_cents"]) == (
        old["title"],
        8_000,
        old["reserve_cents"],
    )
    assert (new["starts_at"], new["duration_seconds"]) == (None, 2)
    before = await auction(http, old["id"], sam)
    assert (before["status"], before["outcome"], before["relisted_as"]) == (
        "closed",
        "unsold",
        new["id"],
    )
    assert "relisted_as" not in await auction(http, old["id"])  # the seller's to see
    twice = await http.post(path, headers=sam.headers)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_relisted")
    assert twice.json()["error"]["details"] == {"auction_id": new["id"]}
    # Published, the relisted lot runs like any other.
    published = await http.post(f"/api/v1/auctions/{new['id']}/publish", headers=sam.headers)
    assert published.json()["auction"]["status"] == "open"


async def test_a_relisting_may_be_published_at_once_and_only_unsold_lots_relist(
    http: httpx.AsyncClient,
) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    old = await unsold(http, sam)
    response = await http.post(
        f"/api/v1/auctions/{old['id']}/relist",
        json={"publish": True, "duration_seconds": 7_200, "reserve_cents": None},
        headers=sam.headers,
    )
    assert response.status_code == 201, response.text
    again = response.json()["auction"]
    assert (again["status"], again["duration_seconds"]) == ("open", 7_200)
    assert (await bid(http, again["id"], bea, 10_000)).status_code == 201
    listed = await create(http, sam, publish=True)
    for lot_id in (listed["id"], again["id"]):
        refused = await http.post(f"/api/v1/auctions/{lot_id}/relist", headers=sam.headers)
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "not_relistable")
