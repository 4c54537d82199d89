"""The auction service through the gateway, on the embedded and the real backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from auction_platform.composition import Platform
from auction_platform.contracts.events import Envelope
from auction_platform.settings import Settings
from support.accounts import sign_up
from support.auctions import admin_token, create, lot_body, open_lot, outbox, seller
from support.http_server import free_port, serving
from support.platforms import client, distributed_settings, running
from support.tcp_proxy import TcpProxy
from support.waiting import eventually

ALL = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")
MakeSettings = Callable[..., Settings]


async def from_bidding(platform: Platform, event_type: str, **data: Any) -> Envelope:
    """Publish an event as the bidding service would."""
    envelope = Envelope(type=event_type, producer="bidding", data=data)
    assert platform.broker is not None
    await platform.broker.publish([envelope])
    return envelope


async def test_a_seller_lists_a_draft_and_publishes_it(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    created = await http.post("/api/v1/auctions", json=lot_body(), headers=sam.headers)
    assert created.status_code == 201
    assert "server_time" in created.json()
    draft = created.json()["auction"]
    assert draft["status"] == "draft"
    assert draft["seller_id"] == sam.id
    assert draft["current_price_cents"] == 10_000
    assert draft["soft_close"] == {
        "window_seconds": 120,
        "extend_seconds": 120,
        "max_extensions": 10,
    }
    assert draft["increments"][0] == [0, 5]
    path = f"/api/v1/auctions/{draft['id']}"
    # A draft is the seller's alone.
    assert (await http.get(path)).status_code == 404
    assert (await http.get(path, headers=bea.headers)).json()["error"][
        "code"
    ] == "auction_not_found"
    assert (await http.get(path, headers=sam.headers)).status_code == 200
    listed = (await http.get("/api/v1/auctions")).json()["items"]
    assert draft["id"] not in {item["id"] for item in listed}
    mine = (await http.get("/api/v1/auctions/mine", headers=sam.headers)).json()
    assert [item["id"] for item in mine["items"]] == [draft["id"]]

    published = await http.post(f"{path}/publish", headers=sam.headers)
    assert published.status_code == 200
    assert published.json()["auction"]["status"] == "scheduled"
    seen = await http.get(path)
    assert seen.status_code == 200
    assert seen.json()["auction"]["status"] == "scheduled"
    [event] = await outbox(platform, "AuctionPublished")
    assert event["auction_id"] == draft["id"]
    assert event["category"] == "cameras"
    assert event["reserve_cents"] == 50_000
    assert event["increments"][0] == [0, 5]
    again = await http.post(f"{path}/publish", headers=sam.headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_draft"


async def test_a_lot_can_be_published_at_once(http: httpx.AsyncClient, platform: Platform) -> None:
    sam = await seller(http)
    lot = await create(http, sam, publish=True, soft_close=None, reserve_cents=None)
    assert lot["status"] == "scheduled"
    assert lot["soft_close"] is None
    [event] = await outbox(platform, "AuctionPublished")
    assert event["soft_close"] is None
    assert event["reserve_cents"] is None


async def test_only_sellers_list_lots(http: httpx.AsyncClient) -> None:
    bea = await sign_up(http, name="Bea")
    as_bidder = await http.post("/api/v1/auctions", json=lot_body(), headers=bea.headers)
    assert as_bidder.status_code == 403
    assert as_bidder.json()["error"]["code"] == "forbidden"
    anonymous = await http.post("/api/v1/auctions", json=lot_body())
    assert anonymous.status_code == 401
    assert (await http.get("/api/v1/auctions/mine", headers=bea.headers)).status_code == 403


async def test_the_reserve_is_shown_to_the_seller_only(http: httpx.AsyncClient) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    lot = await create(http, sam, publish=True)
    path = f"/api/v1/auctions/{lot['id']}"
    viewers: list[dict[str, str]] = [{}, bea.headers]
    for headers in viewers:
        response = await http.get(path, headers=headers)
        body = response.json()
        assert "reserve_cents" not in body["auction"]
        assert "leader_id" not in body["auction"]
        assert body["auction"]["reserve_met"] is False
        assert body["auction"]["buy_now_cents"] == 90_000
        assert datetime.fromisoformat(body["server_time"]).tzinfo is not None
    own = (await http.get(path, headers=sam.headers)).json()["auction"]
    assert own["reserve_cents"] == 50_000
    assert own["viewer"]["is_seller"] is True
    listed = (await http.get("/api/v1/auctions", headers=bea.headers)).json()["items"]
    assert all("reserve_cents" not in item for item in listed)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"images": ["https://169.254.169.254/latest/meta-data/"]}, "invalid_image_url"),
        ({"images": ["http://images.example.com/a.jpg"]}, "invalid_image_url"),
        ({"buy_now_cents": 40_000}, "invalid_buy_now"),
        ({"reserve_cents": 5_000}, "invalid_reserve"),
        ({"currency": "XXX"}, "unknown_currency"),
        ({"category": "Not A Slug"}, "invalid_category"),
        # Beyond the limits the document states, the rule refuses, however far beyond.
        ({"title": "x" * 121}, "invalid_title"),
        ({"title": "x" * 500}, "invalid_title"),
        ({"description": "x" * 20_000}, "invalid_description"),
        ({"category": "x" * 41}, "invalid_category"),
        ({"increments": []}, "invalid_increments"),
        ({"increments": [[10, 5]]}, "invalid_increments"),
        (
            {"soft_close": {"window_seconds": 0, "extend_seconds": 1, "max_extensions": 1}},
            "invalid_soft_close",
        ),
        (
            {
                "starts_at": "2020-01-01T00:00:00Z",
                "ends_at": "2020-01-02T00:00:00Z",
                "publish": True,
            },
            "start_in_past",
        ),
        ({"ends_at": "2020-01-01T00:00:00Z"}, "invalid_duration"),
        ({"start_cents": "100"}, "validation_error"),
        ({"start_cents": 1.5}, "validation_error"),
        ({"starts_at": "2030-01-01T00:00:00"}, "validation_error"),  # no time zone
        ({"seller_id": "someone-else"}, "validation_error"),
        ({"status": "open"}, "validation_error"),
    ],
)
async def test_bad_listings_are_refused_with_a_reason(
    http: httpx.AsyncClient, overrides: dict[str, Any], code: str
) -> None:
    sam = await seller(http)
    response = await http.post("/api/v1/auctions", json=lot_body(**overrides), headers=sam.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    mine = (await http.get("/api/v1/auctions/mine", headers=sam.headers)).json()
    assert mine["items"] == []


async def test_a_seller_edits_a_lot_before_it_opens(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    lot = await create(http, sam)
    path = f"/api/v1/auctions/{lot['id']}"
    changed = await http.patch(
        path, json={"title": "Leica M3, boxed", "reserve_cents": None}, headers=sam.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["auction"]["title"] == "Leica M3, boxed"
    assert changed.json()["auction"]["reserve_cents"] is None
    await http.post(f"{path}/publish", headers=sam.headers)
    scheduled = await http.patch(path, json={"start_cents": 12_000}, headers=sam.headers)
    assert scheduled.json()["auction"]["current_price_cents"] == 12_000
    # The public copy follows at once (the cache is written after each change).
    assert (await http.get(path)).json()["auction"]["current_price_cents"] == 12_000
    # Draft edits stay private; a listed lot's edit is announced for the catalogue.
    [edited] = await outbox(platform, "AuctionEdited")
    assert edited["start_cents"] == 12_000
    assert edited["title"] == "Leica M3, boxed"
    assert edited["description"] == "Works; light meter included."

    other = await http.patch(path, json={"title": "Mine now"}, headers=bea.headers)
    assert other.status_code == 403
    nulled = await http.patch(path, json={"title": None}, headers=sam.headers)
    assert nulled.status_code == 422
    bad = await http.patch(path, json={"buy_now_cents": 11_000}, headers=sam.headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_buy_now"
    await http.post(f"{path}/cancel", headers=sam.headers)
    late = await http.patch(path, json={"title": "Too late"}, headers=sam.headers)
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "not_editable"
    missing = await http.patch("/api/v1/auctions/nope", json={"title": "x"}, headers=sam.headers)
    assert missing.status_code == 404


async def test_a_scheduled_lot_is_cancelled_and_the_world_is_told(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    draft = await create(http, sam)
    lot = await create(http, sam, publish=True)
    path = f"/api/v1/auctions/{lot['id']}"
    assert (await http.post(f"{path}/cancel", headers=bea.headers)).status_code == 403
    cancelled = await http.post(f"{path}/cancel", headers=sam.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["auction"]["status"] == "cancelled"
    assert cancelled.json()["auction"]["cancelled_by"] == "seller"
    assert (await http.get(path)).json()["auction"]["status"] == "cancelled"
    again = await http.post(f"{path}/cancel", headers=sam.headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_cancellable"
    draft_cancel = await http.post(f"/api/v1/auctions/{draft['id']}/cancel", headers=sam.headers)
    assert draft_cancel.status_code == 200
    # Only the published lot was ever known outside: only it is announced.
    [event] = await outbox(platform, "AuctionCancelled")
    assert event == {
        "auction_id": lot["id"],
        "title": lot["title"],
        "seller_id": sam.id,
        "by": "seller",
        "bids_voided": False,
        "bidder_ids": [],
    }


async def test_a_cancellation_may_say_why_and_the_reason_travels_with_the_event(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    root = await admin_token(http, platform)
    lot = await create(http, sam, publish=True)
    path = f"/api/v1/auctions/{lot['id']}/cancel"
    too_long = await http.post(path, json={"reason": "x" * 501}, headers=root)
    assert too_long.status_code == 422
    assert (await http.post(path, json={"why": "no"}, headers=root)).status_code == 422
    cancelled = await http.post(
        path, json={"reason": "  Counterfeit: the seller could not show provenance. "}, headers=root
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["auction"]["cancelled_by"] == "admin"
    [event] = await outbox(platform, "AuctionCancelled")
    assert (event["by"], event["reason"]) == (
        "admin",
        "Counterfeit: the seller could not show provenance.",
    )


async def test_the_catalogue_filters_sorts_and_pages_without_gaps_or_repeats(
    http: httpx.AsyncClient,
) -> None:
    sam, tom = await seller(http, "Sam"), await seller(http, "Tom")
    start = datetime.now(UTC) + timedelta(hours=1)
    ids: dict[str, dict[str, Any]] = {}
    for n in range(11):
        owner = sam if n % 2 else tom
        lot = await create(
            http,
            owner,
            publish=True,
            category="cameras" if n % 3 else "lenses",
            start_cents=1_000 * (n % 4 + 1),
            reserve_cents=None,
            buy_now_cents=None,
            starts_at=start.isoformat(),
            ends_at=(start + timedelta(hours=1 + n % 5)).isoformat(),
        )
        ids[lot["id"]] = lot
    await create(http, sam)  # a draft: never listed

    async def walk(query: str, limit: int = 4) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params = f"{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
            page = (await http.get(f"/api/v1/auctions?{params}")).json()
            assert "server_time" in page
            assert len(page["items"]) <= limit
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    def moment(value: str) -> datetime:
        return datetime.fromisoformat(value)

    by_sort = {
        "ending_soonest": lambda lot: (moment(lot["ends_at"]), lot["id"]),
        "newest": lambda lot: (moment(lot["created_at"]), lot["id"]),
        "price_low": lambda lot: (lot["current_price_cents"], lot["id"]),
        "price_high": lambda lot: (-lot["current_price_cents"], -int(lot["id"], 16)),
    }
    for sort, key in by_sort.items():
        walked = await walk(f"sort={sort}")
        assert [lot["id"] for lot in walked] == [
            lot["id"] for lot in sorted(ids.values(), key=key, reverse=sort == "newest")
        ], sort
    assert [lot["id"] for lot in await walk("")] == [
        lot["id"] for lot in await walk("sort=ending_soonest")
    ]

    def expected(keep: Callable[[dict[str, Any]], bool]) -> set[str]:
        return {i for i, lot in ids.items() if keep(lot)}

    async def found(query: str) -> set[str]:
        walked = [lot["id"] for lot in await walk(query, limit=3)]
        assert len(walked) == len(set(walked))
        return set(walked)

    assert await found("category=lenses") == expected(lambda lot: lot["category"] == "lenses")
    assert await found(f"seller={sam.id}") == expected(lambda lot: lot["seller_id"] == sam.id)
    assert await found("min_price=2000&max_price=3000") == expected(
        lambda lot: 2_000 <= lot["current_price_cents"] <= 3_000
    )
    within = int((start + timedelta(hours=2, minutes=30) - datetime.now(UTC)).total_seconds())
    assert await found(f"ending_within={within}") == expected(
        lambda lot: datetime.fromisoformat(lot["ends_at"]) <= start + timedelta(hours=2, minutes=30)
    )
    assert await found("status=open") == set()
    # Lenses are under cameras in the tree: browsing cameras includes them.
    assert await found("status=scheduled&category=cameras&sort=price_high") == set(ids)

    first = (await http.get("/api/v1/auctions?limit=2&sort=newest")).json()
    wrong_sort = await http.get(f"/api/v1/auctions?sort=price_low&cursor={first['next_cursor']}")
    assert wrong_sort.status_code == 400
    assert wrong_sort.json()["error"]["code"] == "invalid_cursor"
    garbage = await http.get("/api/v1/auctions?cursor=not-a-cursor")
    assert garbage.status_code == 400
    for bad in ("status=draft", "limit=101", "limit=0", "sort=random", "min_price=-1"):
        response = await http.get(f"/api/v1/auctions?{bad}")
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "validation_error"


async def test_a_sellers_own_list_shows_every_state(http: httpx.AsyncClient) -> None:
    sam, tom = await seller(http, "Sam"), await seller(http, "Tom")
    draft = await create(http, sam)
    scheduled = await create(http, sam, publish=True)
    cancelled = await create(http, sam, publish=True)
    await http.post(f"/api/v1/auctions/{cancelled['id']}/cancel", headers=sam.headers)
    await create(http, tom, publish=True)
    mine = (await http.get("/api/v1/auctions/mine", headers=sam.headers)).json()
    assert [item["id"] for item in mine["items"]] == [cancelled["id"], scheduled["id"], draft["id"]]
    assert mine["items"][0]["reserve_cents"] == 50_000
    drafts = (await http.get("/api/v1/auctions/mine?status=draft", headers=sam.headers)).json()
    assert [item["id"] for item in drafts["items"]] == [draft["id"]]
    paged = (await http.get("/api/v1/auctions/mine?limit=2", headers=sam.headers)).json()
    rest = await http.get(
        f"/api/v1/auctions/mine?limit=2&cursor={paged['next_cursor']}", headers=sam.headers
    )
    assert [i["id"] for i in paged["items"] + rest.json()["items"]] == [
        i["id"] for i in mine["items"]
    ]


async def test_the_watchlist(http: httpx.AsyncClient) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    lots = [await create(http, sam, publish=True) for _ in range(3)]
    draft = await create(http, sam)
    for lot in lots:
        added = await http.put(f"/api/v1/watchlist/{lot['id']}", headers=bea.headers)
        assert added.status_code == 201
        assert added.json()["watching"] is True
    repeat = await http.put(f"/api/v1/watchlist/{lots[0]['id']}", headers=bea.headers)
    assert repeat.status_code == 200
    page = (await http.get("/api/v1/watchlist?limit=2", headers=bea.headers)).json()
    rest = (
        await http.get(
            f"/api/v1/watchlist?limit=2&cursor={page['next_cursor']}", headers=bea.headers
        )
    ).json()
    watched = [item["auction"]["id"] for item in page["items"] + rest["items"]]
    assert watched == [lot["id"] for lot in reversed(lots)]
    assert rest["next_cursor"] is None
    assert "server_time" in page

    gone = await http.delete(f"/api/v1/watchlist/{lots[1]['id']}", headers=bea.headers)
    assert gone.status_code == 204
    left = (await http.get("/api/v1/watchlist", headers=bea.headers)).json()["items"]
    assert [item["auction"]["id"] for item in left] == [lots[2]["id"], lots[0]["id"]]
    assert (
        await http.put(f"/api/v1/watchlist/{draft['id']}", headers=bea.headers)
    ).status_code == 404
    assert (await http.put("/api/v1/watchlist/nope", headers=bea.headers)).status_code == 404
    assert (await http.get("/api/v1/watchlist")).status_code == 401
    # Someone else's list is their own.
    assert (await http.get("/api/v1/watchlist", headers=sam.headers)).json()["items"] == []


async def test_the_scheduler_opens_a_lot_at_its_start(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    start = datetime.now(UTC) + timedelta(seconds=1.5)
    lot = await create(
        http,
        sam,
        publish=True,
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(hours=1)).isoformat(),
    )
    path = f"/api/v1/auctions/{lot['id']}"

    async def opened() -> dict[str, Any]:
        auction: dict[str, Any] = (await http.get(path)).json()["auction"]
        return auction if auction["status"] == "open" else {}

    auction = await eventually(opened)
    # On time: the scheduler looks every 250 ms; 5 s leaves room for a loaded machine.
    assert datetime.fromisoformat(auction["opened_at"]) - start < timedelta(seconds=5)
    assert datetime.fromisoformat(auction["opened_at"]) >= start
    [event] = await outbox(platform, "AuctionOpened")
    assert event["auction_id"] == lot["id"]
    assert event["starts_at"] == start.isoformat()
    # Open, it may still change until its first bid, but never its start.
    renamed = await http.patch(path, json={"title": "Still no bids"}, headers=sam.headers)
    assert renamed.status_code == 200, renamed.text
    late = await http.patch(
        path, json={"starts_at": (start + timedelta(hours=1)).isoformat()}, headers=sam.headers
    )
    assert (late.status_code, late.json()["error"]["code"]) == (409, "start_fixed")

    admin = await admin_token(http, platform)

    async def analysed() -> list[dict[str, Any]]:
        events = await http.get("/api/v1/analytics/events?type=AuctionOpened", headers=admin)
        return [e for e in events.json()["items"] if e["data"]["auction_id"] == lot["id"]]

    assert len(await eventually(analysed)) == 1


async def test_the_bid_books_news_updates_the_lot(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    lot = await create(http, sam, publish=True)
    path = f"/api/v1/auctions/{lot['id']}"
    later = datetime.fromisoformat(lot["ends_at"]) + timedelta(minutes=2)
    placed = await from_bidding(
        platform,
        "BidPlaced",
        auction_id=lot["id"],
        seq=1,
        bidder_id=bea.id,
        leader_id=bea.id,
        price_cents=55_000,
        currency="EUR",
        bid_count=1,
        ends_at=lot["ends_at"],
        placed_at=datetime.now(UTC).isoformat(),
    )
    assert platform.broker is not None
    await platform.broker.publish([placed])  # delivered twice: the inbox drops the copy
    await from_bidding(
        platform, "AuctionExtended", auction_id=lot["id"], ends_at=later.isoformat(), extensions=1
    )

    async def updated() -> dict[str, Any]:
        auction: dict[str, Any] = (await http.get(path, headers=bea.headers)).json()["auction"]
        return auction if auction["extensions"] == 1 and auction["bid_count"] == 1 else {}

    auction = await eventually(updated)
    assert auction["current_price_cents"] == 55_000
    assert auction["reserve_met"] is True
    assert auction["buy_now_cents"] is None  # gone once the reserve is met
    assert datetime.fromisoformat(auction["ends_at"]) == later
    assert auction["viewer"]["is_leading"] is True

    await from_bidding(
        platform,
        "AuctionClosed",
        auction_id=lot["id"],
        seller_id=sam.id,
        title=lot["title"],
        winner_id=bea.id,
        price_cents=55_000,
        currency="EUR",
        sold=True,
        reserve_met=True,
        runner_up_id=None,
        runner_up_max_cents=None,
        bid_count=1,
        by_buy_now=False,
        closed_at=datetime.now(UTC).isoformat(),
    )

    async def closed() -> dict[str, Any]:
        auction: dict[str, Any] = (await http.get(path, headers=bea.headers)).json()["auction"]
        return auction if auction["status"] == "closed" else {}

    auction = await eventually(closed)
    assert (auction["outcome"], auction["final_price_cents"]) == ("sold", 55_000)
    assert auction["viewer"]["has_won"] is True
    assert "winner_id" not in auction
    assert (await http.get(path, headers=sam.headers)).json()["auction"]["winner_id"] == bea.id


async def test_the_bid_book_reads_the_rules_with_a_service_token(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    lot = await create(http, sam, publish=True)
    draft = await create(http, sam)
    service = await platform.runtimes["bidding"].auth_headers()
    rules = await http.get(f"/api/v1/auctions/{lot['id']}/rules", headers=service)
    assert rules.status_code == 200
    body = rules.json()
    assert body["status"] == "scheduled"
    assert (body["auction_id"], body["seller_id"], body["reserve_cents"]) == (
        lot["id"],
        sam.id,
        50_000,
    )
    assert body["soft_close"] == {
        "window_seconds": 120,
        "extend_seconds": 120,
        "max_extensions": 10,
    }
    assert "server_time" in body
    as_user = await http.get(f"/api/v1/auctions/{lot['id']}/rules", headers=sam.headers)
    assert as_user.status_code == 403
    hidden = await http.get(f"/api/v1/auctions/{draft['id']}/rules", headers=service)
    assert hidden.status_code == 404


async def test_ending_soon_notices_reach_watchers_and_bidders_once(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    start = datetime.now(UTC) + timedelta(seconds=1)
    # One minute before the end is four seconds after the start.
    end = start + timedelta(seconds=64)
    lot = await create(
        http, sam, publish=True, starts_at=start.isoformat(), ends_at=end.isoformat()
    )
    await http.put(f"/api/v1/watchlist/{lot['id']}", headers=bea.headers)
    await from_bidding(
        platform,
        "BidPlaced",
        auction_id=lot["id"],
        seq=1,
        bidder_id="cy",
        leader_id="cy",
        price_cents=10_000,
        currency="EUR",
        bid_count=1,
        ends_at=end.isoformat(),
        placed_at=datetime.now(UTC).isoformat(),
    )

    async def noticed() -> list[dict[str, Any]]:
        return await outbox(platform, "AuctionEndingSoon")

    [notice] = await eventually(noticed, timeout=15)
    emitted_at = datetime.now(UTC)
    assert emitted_at - (end - timedelta(minutes=1)) < timedelta(seconds=5)
    assert notice["auction_id"] == lot["id"]
    assert notice["minutes_left"] == 1
    assert sorted(notice["recipient_ids"]) == sorted([bea.id, "cy"])
    assert datetime.fromisoformat(notice["ends_at"]) == end


class BookStandIn:
    """Stands in for the bidding service's book-cancel endpoint (the HTTP contract).

    A seller is refused with ``has_bids`` for a book in ``with_bids``; an admin
    always succeeds, voiding that book's bids. Every call is recorded.
    """

    def __init__(self) -> None:
        self.with_bids: set[str] = set()
        self.calls: list[tuple[str, dict[str, Any], str]] = []
        self.app = FastAPI()
        self.app.post("/api/v1/auctions/{auction_id}/book/cancel")(self.cancel)

    async def cancel(self, auction_id: str, request: Request) -> JSONResponse:
        body = await request.json()
        self.calls.append((auction_id, body, request.headers.get("authorization", "")))
        has_bids = auction_id in self.with_bids
        if has_bids and body["by"] == "seller":
            error = {"code": "has_bids", "message": "the book has bids", "request_id": None}
            return JSONResponse({"error": error}, 409)
        bidders = ["bidder-1", "bidder-2"] if has_bids else []
        return JSONResponse({"bidder_ids": bidders, "bids_voided": has_bids})


async def test_an_open_lot_is_cancelled_through_the_bid_book(make_settings: MakeSettings) -> None:
    book = BookStandIn()
    async with (
        serving(book.app) as bidding_url,
        running(make_settings(bidding_url=bidding_url), ALL, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        root = await admin_token(http, platform)
        sam = await seller(http)
        quiet = await open_lot(http, sam, with_book=False)
        busy = await open_lot(http, sam, with_book=False)
        book.with_bids.add(busy["id"])

        refused = await http.post(f"/api/v1/auctions/{busy['id']}/cancel", headers=sam.headers)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "has_bids"
        still = await http.get(f"/api/v1/auctions/{busy['id']}")
        assert still.json()["auction"]["status"] == "open"

        withdrawn = await http.post(f"/api/v1/auctions/{quiet['id']}/cancel", headers=sam.headers)
        assert withdrawn.status_code == 200
        assert withdrawn.json()["auction"]["status"] == "cancelled"

        voided = await http.post(f"/api/v1/auctions/{busy['id']}/cancel", headers=root)
        assert voided.status_code == 200
        assert voided.json()["auction"]["cancelled_by"] == "admin"
        events = {e["auction_id"]: e for e in await outbox(platform, "AuctionCancelled")}

    assert [(auction, body) for auction, body, _ in book.calls] == [
        (busy["id"], {"by": "seller"}),
        (quiet["id"], {"by": "seller"}),
        (busy["id"], {"by": "admin"}),
    ]
    assert all(auth.startswith("Bearer ") for _, _, auth in book.calls)
    assert (events[quiet["id"]]["by"], events[quiet["id"]]["bids_voided"]) == ("seller", False)
    assert (events[busy["id"]]["by"], events[busy["id"]]["bids_voided"]) == ("admin", True)
    assert events[busy["id"]]["bidder_ids"] == ["bidder-1", "bidder-2"]


async def test_cancelling_an_open_lot_without_the_bid_book_is_503(
    make_settings: MakeSettings,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    async with (
        running(make_settings(bidding_url=nowhere), ALL, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        sam = await seller(http)
        lot = await open_lot(http, sam, with_book=False)
        response = await http.post(f"/api/v1/auctions/{lot['id']}/cancel", headers=sam.headers)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "dependency_unavailable"
        assert response.headers["retry-after"] == "1"
        assert (await http.get(f"/api/v1/auctions/{lot['id']}")).json()["auction"][
            "status"
        ] == "open"
        assert await outbox(platform, "AuctionCancelled") == []


async def test_losing_redis_only_slows_lot_reads(postgres_url: str, redis_url: str) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    settings = distributed_settings(
        postgres_url=postgres_url,
        redis_url=f"redis://127.0.0.1:{proxy.port}/0",
        rabbitmq_url="memory://",
    )
    try:
        async with (
            running(settings, ALL, embedded=True) as platform,
            client(platform.apps["gateway"]) as http,
        ):
            sam = await seller(http)
            lot = await create(http, sam, publish=True)
            path = f"/api/v1/auctions/{lot['id']}"
            assert (await http.get(path)).status_code == 200  # cached
            await proxy.cut()
            # The change still commits while the cached copy cannot be written...
            await from_bidding(
                platform,
                "BidPlaced",
                auction_id=lot["id"],
                seq=1,
                bidder_id="cy",
                leader_id="cy",
                price_cents=12_000,
                currency="EUR",
                bid_count=1,
                ends_at=lot["ends_at"],
                placed_at=datetime.now(UTC).isoformat(),
            )

            # ...and reads come from the database.
            async def bid_seen() -> bool:
                response = await http.get(path)
                assert response.status_code == 200, response.text
                return bool(response.json()["auction"]["bid_count"] == 1)

            await eventually(bid_seen)
            listed = await http.get("/api/v1/auctions")
            assert listed.status_code == 200
            assert [item["id"] for item in listed.json()["items"]] == [lot["id"]]
    finally:
        await proxy.cut()
