"""Analytics through the gateway: reports for admins, search for everyone, from real events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from auction_platform.composition import Platform
from auction_platform.contracts.events import Envelope
from conftest import MakeSettings
from support.accounts import sign_up
from support.auctions import admin_token, create, seller
from support.platforms import client, running
from support.waiting import eventually

TODAY = datetime.now(UTC).date()
RANGE = {
    "from": (TODAY - timedelta(days=1)).isoformat(),
    "to": (TODAY + timedelta(days=1)).isoformat(),
}


async def summary(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    response = await http.get("/api/v1/analytics/summary", params=RANGE, headers=admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def search(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await http.get("/api/v1/search/auctions", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def unique_word() -> str:
    return "heirloom" + uuid.uuid4().hex[:8]


async def test_a_sold_auction_shows_in_the_rollups_and_in_search(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, ann, bob = await seller(http), await sign_up(http, name="Ann"), await sign_up(http)
    admin = await admin_token(http, platform)
    word = unique_word()
    start = datetime.now(UTC) + timedelta(seconds=1)
    lot = await create(
        http,
        sam,
        publish=True,
        description=f"Works; a {word} from the attic.",
        reserve_cents=None,
        buy_now_cents=None,
        start_cents=1000,
        soft_close=None,
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(seconds=4)).isoformat(),
    )

    async def opened() -> bool:
        found = (await http.get(f"/api/v1/auctions/{lot['id']}")).json()["auction"]
        return bool(found["status"] == "open")

    await eventually(opened)
    for who, cents in ((ann, 1500), (bob, 2000)):
        placed = await http.post(
            f"/api/v1/auctions/{lot['id']}/bids", json={"max_amount": cents}, headers=who.headers
        )
        assert placed.status_code == 201, placed.text

    async def sold() -> dict[str, Any]:
        body = await summary(http, admin)
        return body if body["auctions"]["sold"] == 1 else {}

    totals = await eventually(sold, timeout=15)
    assert totals["auctions"] == {
        "listed": 1,
        "opened": 1,
        "sold": 1,
        "unsold": 0,
        "cancelled": 0,
    }
    assert totals["bids"] == 2
    assert totals["sell_through_rate"] == 1.0
    assert totals["bids_per_closed_auction"] == 2.0
    assert totals["average_seconds_to_first_bid"] is not None
    assert totals["money"] == [
        {
            "currency": "EUR",
            "refunds": 0,
            "gross_gmv_cents": 1550,
            "net_gmv_cents": 1550,
            "gross_fees_cents": 0,
            "net_fees_cents": 0,
            "refunded_cents": 0,
        }
    ]

    daily = await http.get(
        "/api/v1/analytics/daily", params={**RANGE, "category": "cameras"}, headers=admin
    )
    [day] = daily.json()["items"]
    assert (day["category"], day["currency"], day["sold"], day["gross_gmv_cents"]) == (
        "cameras",
        "EUR",
        1,
        1550,
    )

    report = (await http.get(f"/api/v1/analytics/auctions/{lot['id']}", headers=admin)).json()
    assert report["bid_count"] == 2
    assert sum(minute["bids"] for minute in report["bids_per_minute"]) == 2
    assert report["seconds_to_first_bid"] >= 0
    assert (report["sold"], report["hammer_cents"]) == (True, 1550)

    async def indexed_closed() -> dict[str, Any]:
        found = await search(http, q=word)
        return found if found["items"] and found["items"][0]["status"] == "closed" else {}

    found = await eventually(indexed_closed)
    [item] = found["items"]
    assert (item["id"], item["current_price_cents"], item["bid_count"]) == (lot["id"], 1550, 2)
    assert found["total"] == 1
    assert found["facets"] == {
        "category": [{"value": "cameras", "name": "Cameras & photo", "parent": None, "count": 1}],
        "status": [{"value": "closed", "count": 1}],
        "price": [{"value": "1000-5000", "min_cents": 1000, "max_cents": 5000, "count": 1}],
        "format": [{"value": "english", "count": 1}],
    }
    assert item["format"] == "english"
    assert [(row["format"], row["sold"], row["bids"]) for row in totals["formats"]] == [
        ("english", 1, 2)
    ]


async def test_analytics_reports_are_for_admins_only(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    ann = await sign_up(http, name="Ann")
    admin = await admin_token(http, platform)
    paths = [
        "/api/v1/analytics/summary",
        "/api/v1/analytics/daily",
        "/api/v1/analytics/auctions/some-auction",
        "/api/v1/analytics/events",
    ]
    for path in paths:
        assert (await http.get(path)).status_code == 401, path
        refused = await http.get(path, headers=ann.headers)
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "forbidden"
    for path in paths[:2]:
        assert (await http.get(path, headers=admin)).status_code == 200, path
    missing = await http.get(paths[2], headers=admin)
    assert missing.status_code == 404


async def test_search_is_public_and_refuses_nonsense_ranges(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    empty = await search(http, q='"NEAR* -')
    assert (empty["items"], empty["total"], empty["next_offset"]) == ([], 0, None)
    refused = await http.get("/api/v1/search/auctions", params={"min_price": 9, "max_price": 1})
    assert refused.status_code == 422
    admin = await admin_token(http, platform)
    backwards = {"from": "2030-01-02", "to": "2030-01-01"}
    response = await http.get("/api/v1/analytics/summary", params=backwards, headers=admin)
    assert response.status_code == 422


async def test_a_cancelled_lot_leaves_search_and_counts_as_cancelled(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    admin = await admin_token(http, platform)
    word = unique_word()
    lot = await create(http, sam, publish=True, description=f"A {word}.")

    async def found() -> int:
        return int((await search(http, q=word))["total"])

    assert await eventually(found) == 1
    cancelled = await http.post(f"/api/v1/auctions/{lot['id']}/cancel", headers=sam.headers)
    assert cancelled.status_code == 200, cancelled.text

    async def gone() -> bool:
        return await found() == 0

    await eventually(gone)

    async def counted() -> dict[str, Any]:
        body = await summary(http, admin)
        return body if body["auctions"]["cancelled"] == 1 else {}

    assert (await eventually(counted))["auctions"]["listed"] == 1


def _consumed(platform: Platform, consumer: str) -> int:
    counter = platform.metrics.events_consumed
    return sum(
        int(counter.labels("analytics", consumer, outcome)._value.get())
        for outcome in ("handled", "duplicate")
    )


async def test_redelivered_events_do_not_count_twice(make_settings: MakeSettings) -> None:
    # Analytics alone (and identity for the admin's token): payment would answer the
    # results below with orders of its own.
    async with (
        running(make_settings(), ("identity", "analytics"), embedded=True) as platform,
        client(platform.apps["identity"]) as identity,
        client(platform.apps["analytics"]) as http,
    ):
        admin = await admin_token(identity, platform)
        await _redeliver_everything_twice(platform, http, admin)


async def _redeliver_everything_twice(
    platform: Platform, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert platform.broker is not None
    auction_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    rules = {
        "auction_id": auction_id,
        "seller_id": "sam",
        "title": "A Victorian tea set",
        "currency": "EUR",
        "start_cents": 1000,
        "reserve_cents": None,
        "buy_now_cents": None,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        "soft_close": None,
        "increments": [],
    }
    listing = {**rules, "category": "kitchen", "description": "Bone china.", "images": []}
    bid = {
        "auction_id": auction_id,
        "seq": 1,
        "bidder_id": "ann",
        "leader_id": "ann",
        "price_cents": 1000,
        "currency": "EUR",
        "bid_count": 1,
        "ends_at": rules["ends_at"],
        "placed_at": (now + timedelta(seconds=5)).isoformat(),
    }
    result = {
        "auction_id": auction_id,
        "seller_id": "sam",
        "title": "A Victorian tea set",
        "winner_id": "ann",
        "price_cents": 1000,
        "currency": "EUR",
        "sold": True,
        "reserve_met": True,
        "runner_up_id": None,
        "runner_up_max_cents": None,
        "bid_count": 1,
        "by_buy_now": False,
        "closed_at": (now + timedelta(hours=1)).isoformat(),
    }
    order = {
        "order_id": uuid.uuid4().hex,
        "auction_id": auction_id,
        "title": "A Victorian tea set",
        "buyer_id": "ann",
        "seller_id": "sam",
        "currency": "EUR",
        "hammer_cents": 1000,
        "buyers_premium_cents": 50,
        "seller_fee_cents": 100,
        "total_cents": 1050,
        "due_at": (now + timedelta(days=4)).isoformat(),
        "second_chance": False,
    }
    events = [
        Envelope(type="AuctionPublished", producer="auction", data=listing),
        Envelope(type="AuctionOpened", producer="auction", data=rules, occurred_at=now),
        Envelope(type="BidPlaced", producer="bidding", data=bid),
        Envelope(type="AuctionClosed", producer="bidding", data=result),
        Envelope(type="OrderCreated", producer="payment", data=order),
        Envelope(type="OrderPaid", producer="payment", data=order),
    ]
    for envelope in events:
        await platform.broker.publish([envelope])
    # Every envelope again, and a second closing that says the same thing.
    for envelope in events:
        await platform.broker.publish([envelope])
    await platform.broker.publish([Envelope(type="AuctionClosed", producer="bidding", data=result)])

    async def all_consumed() -> bool:
        return _consumed(platform, "rollups") == 13 and _consumed(platform, "search") == 9

    await eventually(all_consumed)
    totals = await summary(http, admin)
    assert totals["auctions"]["listed"] == totals["auctions"]["sold"] == 1
    assert totals["bids"] == 1
    assert totals["orders"] == {"created": 1, "paid": 1, "refunded": 0}
    assert totals["payment_conversion_rate"] == 1.0
    assert totals["average_seconds_to_first_bid"] == 5.0
    [money] = totals["money"]
    assert (money["gross_gmv_cents"], money["gross_fees_cents"]) == (1000, 150)
    assert (money["net_gmv_cents"], money["net_fees_cents"], money["refunds"]) == (1000, 150, 0)
    assert (await search(http, q="victorian"))["total"] == 1


async def test_a_refund_redelivered_counts_once_and_takes_the_sale_out_of_net_gmv(
    make_settings: MakeSettings,
) -> None:
    async with (
        running(make_settings(), ("identity", "analytics"), embedded=True) as platform,
        client(platform.apps["identity"]) as identity,
        client(platform.apps["analytics"]) as http,
    ):
        assert platform.broker is not None
        admin = await admin_token(identity, platform)
        auction_id, now = uuid.uuid4().hex, datetime.now(UTC)
        order = {
            "order_id": uuid.uuid4().hex,
            "auction_id": auction_id,
            "title": "A Victorian tea set",
            "buyer_id": "ann",
            "seller_id": "sam",
            "currency": "EUR",
            "hammer_cents": 1000,
            "buyers_premium_cents": 50,
            "seller_fee_cents": 100,
            "total_cents": 1050,
            "due_at": (now + timedelta(days=4)).isoformat(),
            "second_chance": False,
        }
        result = {
            "auction_id": auction_id,
            "seller_id": "sam",
            "title": "A Victorian tea set",
            "winner_id": "ann",
            "price_cents": 1000,
            "currency": "EUR",
            "sold": True,
            "reserve_met": True,
            "runner_up_id": None,
            "runner_up_max_cents": None,
            "bid_count": 1,
            "by_buy_now": False,
            "closed_at": now.isoformat(),
        }
        refund = Envelope(
            type="OrderRefunded", producer="payment", data={**order, "refunded_cents": 1050}
        )
        events = [
            Envelope(type="AuctionClosed", producer="bidding", data=result),
            Envelope(type="OrderCreated", producer="payment", data=order),
            Envelope(type="OrderPaid", producer="payment", data=order),
            refund,
            refund,  # redelivered
            Envelope(type="OrderRefunded", producer="payment", data=refund.data),  # a copy
        ]
        for envelope in events:
            await platform.broker.publish([envelope])
        await eventually(lambda: _settled(platform, "rollups", 6))
        totals = await summary(http, admin)
        assert totals["orders"] == {"created": 1, "paid": 1, "refunded": 1}
        assert totals["money"] == [
            {
                "currency": "EUR",
                "refunds": 1,
                "gross_gmv_cents": 1000,
                "net_gmv_cents": 0,
                "gross_fees_cents": 150,
                "net_fees_cents": 0,
                "refunded_cents": 1050,
            }
        ]
        report = await http.get(f"/api/v1/analytics/auctions/{auction_id}", headers=admin)
        facts = report.json()
        assert (facts["refunds"], facts["refunded_cents"], facts["net_gmv_cents"]) == (1, 1050, 0)


async def _settled(platform: Platform, consumer: str, count: int) -> bool:
    return _consumed(platform, consumer) == count


async def test_bids_per_minute_add_up_every_auction_and_show_quiet_minutes(
    make_settings: MakeSettings,
) -> None:
    async with (
        running(make_settings(), ("identity", "analytics"), embedded=True) as platform,
        client(platform.apps["identity"]) as identity,
        client(platform.apps["analytics"]) as http,
    ):
        admin = await admin_token(identity, platform)
        assert platform.broker is not None
        now = datetime.now(UTC).replace(second=30)
        # Two bids on one lot and one on another two minutes ago; one now; one hours ago.
        moments = [now - timedelta(minutes=2)] * 3 + [now, now - timedelta(hours=3)]
        lots = ["lot-a", "lot-a", "lot-b", "lot-a", "lot-b"]
        for seq, (lot, moment) in enumerate(zip(lots, moments, strict=True), start=1):
            bid = {
                "auction_id": lot,
                "seq": seq,
                "bidder_id": "ann",
                "leader_id": "ann",
                "price_cents": 1000 + seq,
                "currency": "EUR",
                "bid_count": seq,
                "ends_at": (now + timedelta(hours=1)).isoformat(),
                "placed_at": moment.isoformat(),
            }
            await platform.broker.publish(
                [Envelope(type="BidPlaced", producer="bidding", data=bid)]
            )

        async def counted() -> dict[str, Any]:
            body: dict[str, Any] = (
                await http.get("/api/v1/analytics/bids-per-minute?minutes=5", headers=admin)
            ).json()
            return body if body["bids"] == 4 else {}

        body = await eventually(counted)
        minutes = [item["bids"] for item in body["items"]]
        if datetime.fromisoformat(body["to"]).minute == now.minute:
            assert minutes == [0, 0, 3, 0, 1]
        assert len(minutes) == 5 and body["peak_bids_per_minute"] == 3
        assert body["items"][-1]["minute"] == body["to"]

        async def whole_day() -> dict[str, Any]:
            # The bid of three hours ago may be consumed after the others.
            day = await http.get("/api/v1/analytics/bids-per-minute?minutes=1440", headers=admin)
            found: dict[str, Any] = day.json()
            return found if found["bids"] == 5 else {}

        assert len((await eventually(whole_day))["items"]) == 1440
        refused = await http.get("/api/v1/analytics/bids-per-minute?minutes=1441", headers=admin)
        assert refused.status_code == 422
        ann = await sign_up(identity, name="Ann")
        forbidden = await http.get("/api/v1/analytics/bids-per-minute", headers=ann.headers)
        assert forbidden.status_code == 403


async def test_search_finds_lots_by_format_and_refuses_a_format_it_does_not_know(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    word = unique_word()
    clock = {"floor_cents": 2_000, "step_cents": 500, "tick_seconds": 60}
    listed = {
        "english": await create(http, sam, publish=True, title=f"{word} clock"),
        "sealed_first_price": await create(
            http,
            sam,
            publish=True,
            title=f"{word} vase",
            format="sealed_first_price",
            buy_now_cents=None,
        ),
        "dutch": await create(
            http,
            sam,
            publish=True,
            title=f"{word} tulips",
            format="dutch",
            dutch=clock,
            reserve_cents=None,
            buy_now_cents=None,
        ),
    }

    async def indexed() -> dict[str, Any]:
        found = await search(http, q=word)
        return found if found["total"] == 3 else {}

    found = await eventually(indexed)
    assert found["facets"]["format"] == [
        {"value": "english", "count": 1},
        {"value": "sealed_first_price", "count": 1},
        {"value": "dutch", "count": 1},
    ]
    for fmt, lot in listed.items():
        [item] = (await search(http, q=word, format=fmt))["items"]
        assert (item["id"], item["format"]) == (lot["id"], fmt)
        assert item["dutch"] == (clock if fmt == "dutch" else None)
    assert (await search(http, q=word, format="sealed_second_price"))["total"] == 0
    for bad in ("vickrey", "ENGLISH", ""):
        refused = await http.get("/api/v1/search/auctions", params={"q": word, "format": bad})
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["code"] == "validation_error"
