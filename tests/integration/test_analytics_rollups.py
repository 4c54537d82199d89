"""The rollups on SQLite and PostgreSQL: late, early and repeated events count once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from auction_platform.contracts.events import Envelope
from auction_platform.core.db import Database
from auction_platform.core.failures import NotFound
from auction_platform.core.migrate import migrate
from auction_platform.core.uow import Transaction
from auction_platform.services.analytics import handlers, rollups
from auction_platform.services.analytics.commands import AuctionReport, Daily, Summary
from auction_platform.services.analytics.handlers import Analytics
from auction_platform.services.analytics.search_sql import SqlSearch

OPENED = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
DAY = OPENED.date()


class Feed:
    """Events of one auction, delivered to the rollups as the consumer does."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.ctx = Analytics(db=db, search=SqlSearch(db), clock=lambda: OPENED)
        self.auction_id = uuid.uuid4().hex

    async def send(self, event_type: str, at: datetime = OPENED, **data: Any) -> None:
        envelope = Envelope(
            type=event_type,
            producer="test",
            data={"auction_id": self.auction_id, **data},
            occurred_at=at,
        )
        async with self.db.transaction() as conn:
            await rollups.update_rollups(
                Transaction(conn, producer="analytics"), envelope, clock=lambda: OPENED
            )

    async def publish(
        self, category: str = "cameras", event: str = "AuctionPublished", **terms: Any
    ) -> None:
        await self.send(
            event,
            at=OPENED - timedelta(days=1),
            title="Leica M3",
            seller_id="sam",
            category=category,
            currency="EUR",
            **terms,  # the format: none (events older than the formats) is English
        )

    async def bid(self, seq: int, after: timedelta, **terms: Any) -> None:
        await self.send(
            "BidPlaced", seq=seq, currency="EUR", placed_at=(OPENED + after).isoformat(), **terms
        )

    async def close(self, *, sold: bool = True, price: int = 5_000, **terms: Any) -> None:
        await self.send(
            "AuctionClosed",
            sold=sold,
            price_cents=price,
            currency="EUR",
            bid_count=2,
            closed_at=(OPENED + timedelta(hours=1)).isoformat(),
            **terms,
        )

    async def order(self, event_type: str, order_id: str, at: datetime) -> None:
        await self.send(
            event_type,
            at=at,
            order_id=order_id,
            currency="EUR",
            buyers_premium_cents=250,
            seller_fee_cents=500,
        )

    async def refund(self, order_id: str, at: datetime) -> None:
        await self.send(
            "OrderRefunded",
            at=at,
            order_id=order_id,
            currency="EUR",
            hammer_cents=5_000,
            buyers_premium_cents=250,
            seller_fee_cents=500,
            total_cents=5_250,
            refunded_cents=5_250,
        )

    async def summary(self, start: date = DAY - timedelta(days=1), end: date = DAY) -> Any:
        return await handlers.summary(Summary(start, end), ctx=self.ctx)

    async def daily(self, category: str | None = None) -> list[dict[str, Any]]:
        days = Daily(DAY - timedelta(days=1), DAY + timedelta(days=1), category)
        body = await handlers.daily(days, ctx=self.ctx)
        items: list[dict[str, Any]] = body["items"]
        return items


@pytest.fixture
async def feed(database_url: str) -> AsyncIterator[Feed]:
    db = Database(database_url)
    await migrate(db, "analytics")
    yield Feed(db)
    await db.dispose()


async def test_a_sale_counts_gmv_on_its_close_day_and_fees_when_paid(feed: Feed) -> None:
    await feed.publish()
    await feed.send("AuctionOpened", currency="EUR")
    await feed.bid(1, timedelta(seconds=30))
    await feed.close(price=5_000)
    await feed.order("OrderCreated", "o1", OPENED + timedelta(hours=2))
    await feed.order("OrderPaid", "o1", OPENED + timedelta(days=1))
    today = await feed.summary(DAY, DAY)
    assert today["auctions"]["sold"] == 1
    assert today["money"] == [money(gmv=5_000)]
    assert today["orders"] == {"created": 1, "paid": 0, "refunded": 0}
    assert today["payment_conversion_rate"] == 1.0  # the order made today has been paid
    tomorrow = await feed.summary(DAY + timedelta(days=1), DAY + timedelta(days=1))
    assert tomorrow["money"] == [money(fees=750)]
    assert tomorrow["orders"] == {"created": 0, "paid": 1, "refunded": 0}


async def test_a_refund_takes_the_sale_out_of_net_gmv_and_fees_on_its_own_day(
    feed: Feed,
) -> None:
    await feed.publish()
    await feed.send("AuctionOpened", currency="EUR")
    await feed.close(price=5_000)
    await feed.order("OrderCreated", "o1", OPENED + timedelta(hours=2))
    await feed.order("OrderPaid", "o1", OPENED + timedelta(hours=3))
    await feed.refund("o1", OPENED + timedelta(days=1))
    await feed.refund("o1", OPENED + timedelta(days=1, hours=1))  # a copy, under a new id
    both = await feed.summary(DAY, DAY + timedelta(days=1))
    assert both["money"] == [
        money(gmv=5_000, fees=750, refunds=1, refunded=5_250, net_gmv=0, net_fees=0)
    ]
    assert both["orders"] == {"created": 1, "paid": 1, "refunded": 1}
    sale_day = await feed.summary(DAY, DAY)
    assert sale_day["money"] == [money(gmv=5_000, fees=750)]
    [refund_day] = [row for row in await feed.daily() if row["day"] > DAY.isoformat()]
    assert (refund_day["refunds"], refund_day["refunded_cents"]) == (1, 5_250)
    assert (refund_day["gross_gmv_cents"], refund_day["net_gmv_cents"]) == (0, -5_000)
    assert (refund_day["gross_fees_cents"], refund_day["net_fees_cents"]) == (0, -750)
    report = await handlers.auction_report(AuctionReport(feed.auction_id), ctx=feed.ctx)
    assert (report["hammer_cents"], report["gross_gmv_cents"], report["net_gmv_cents"]) == (
        5_000,
        5_000,
        0,
    )
    assert (report["refunds"], report["refunded_cents"]) == (1, 5_250)
    assert report["refunded_at"] == (OPENED + timedelta(days=1)).isoformat()


async def test_a_refund_heard_before_its_payment_still_nets_the_fees_out(feed: Feed) -> None:
    await feed.publish()
    await feed.close(price=5_000)
    await feed.refund("o1", OPENED + timedelta(hours=3))
    assert (await feed.summary(DAY, DAY))["money"] == [
        money(gmv=5_000, refunds=1, refunded=5_250, net_gmv=0)
    ]
    await feed.order("OrderPaid", "o1", OPENED + timedelta(hours=2))
    assert (await feed.summary(DAY, DAY))["money"] == [
        money(gmv=5_000, fees=750, refunds=1, refunded=5_250, net_gmv=0, net_fees=0)
    ]


async def test_a_first_bid_heard_before_the_opening_still_times_the_first_bid(
    feed: Feed,
) -> None:
    await feed.publish()
    await feed.bid(1, timedelta(seconds=40))
    await feed.send("AuctionOpened", currency="EUR")
    assert (await feed.summary())["average_seconds_to_first_bid"] == 40.0


async def test_an_earlier_first_bid_arriving_late_corrects_the_time_not_the_count(
    feed: Feed,
) -> None:
    await feed.publish()
    await feed.send("AuctionOpened", currency="EUR")
    await feed.bid(2, timedelta(seconds=90))
    await feed.bid(1, timedelta(seconds=10))
    totals = await feed.summary()
    assert totals["average_seconds_to_first_bid"] == 10.0
    assert totals["bids"] == 2
    [row] = [row for row in await feed.daily() if row["day"] == DAY.isoformat()]
    assert row["first_bids"] == 1


async def test_bids_are_bucketed_per_minute(feed: Feed) -> None:
    await feed.publish()
    await feed.send("AuctionOpened", currency="EUR")
    for seq, seconds in enumerate((5, 50, 59, 61, 200), start=1):
        await feed.bid(seq, timedelta(seconds=seconds))
    report = await handlers.auction_report(AuctionReport(feed.auction_id), ctx=feed.ctx)
    assert [(m["minute"][11:16], m["bids"]) for m in report["bids_per_minute"]] == [
        ("09:00", 3),
        ("09:01", 1),
        ("09:03", 1),
    ]
    assert report["peak_bids_per_minute"] == 3
    assert report["average_bids_per_active_minute"] == 1.25
    assert (report["bid_count"], report["seconds_to_first_bid"]) == (5, 5.0)


async def test_a_result_or_cancellation_repeated_under_new_ids_counts_once(feed: Feed) -> None:
    await feed.publish()
    await feed.send("AuctionOpened", currency="EUR")
    await feed.close(sold=False)
    await feed.close(sold=True)
    await feed.send("AuctionCancelled")
    await feed.send("AuctionOpened", currency="EUR")
    totals = await feed.summary()
    assert totals["auctions"] == {
        "listed": 1,
        "opened": 1,
        "sold": 0,
        "unsold": 1,
        "cancelled": 0,
    }
    assert totals["sell_through_rate"] == 0.0
    assert totals["money"] == [money()]


async def test_an_edit_that_changes_the_category_moves_the_listing(feed: Feed) -> None:
    await feed.publish(category="cameras")
    await feed.publish(category="film", event="AuctionEdited")
    await feed.publish(category="film", event="AuctionEdited")
    listed = {row["category"]: row["listed"] for row in await feed.daily()}
    assert listed == {"cameras": 0, "film": 1}
    assert (await feed.summary())["auctions"]["listed"] == 1


async def test_a_payment_heard_before_its_order_converts_it_once(feed: Feed) -> None:
    await feed.publish()
    await feed.order("OrderPaid", "o1", OPENED + timedelta(minutes=5))
    await feed.order("OrderCreated", "o1", OPENED)
    await feed.order("OrderPaid", "o1", OPENED + timedelta(minutes=6))
    totals = await feed.summary()
    assert totals["orders"] == {"created": 1, "paid": 1, "refunded": 0}
    assert totals["payment_conversion_rate"] == 1.0
    assert totals["money"] == [money(fees=750)]


async def test_an_auction_first_heard_of_by_a_bid_counts_as_unknown(feed: Feed) -> None:
    await feed.bid(1, timedelta(seconds=3))
    [row] = await feed.daily()
    assert (row["category"], row["currency"], row["bids"]) == ("unknown", "EUR", 1)
    with pytest.raises(NotFound):
        await handlers.auction_report(AuctionReport("never-heard-of"), ctx=feed.ctx)


async def test_each_format_counts_its_own_sales_bids_and_refunds(feed: Feed) -> None:
    dutch, sealed = Feed(feed.db), Feed(feed.db)
    await dutch.publish(format="dutch")
    await dutch.send("AuctionOpened", currency="EUR", format="dutch")
    await dutch.close(price=3_000, format="dutch")
    await dutch.order("OrderCreated", "o-dutch", OPENED + timedelta(hours=2))
    await dutch.order("OrderPaid", "o-dutch", OPENED + timedelta(hours=3))
    await dutch.refund("o-dutch", OPENED + timedelta(hours=4))
    await sealed.publish(format="sealed_second_price")
    await sealed.bid(1, timedelta(seconds=5), format="sealed_second_price")
    await sealed.bid(2, timedelta(seconds=9), format="sealed_second_price")
    await sealed.close(sold=False, format="sealed_second_price")
    await feed.publish()  # older events: English
    await feed.close(price=5_000)
    totals = await feed.summary()
    by_format = {row["format"]: row for row in totals["formats"]}
    assert list(by_format) == ["english", "sealed_second_price", "dutch"]
    counts = {
        fmt: (row["listed"], row["sold"], row["unsold"], row["bids"])
        for fmt, row in by_format.items()
    }
    assert counts == {
        "english": (1, 1, 0, 0),
        "sealed_second_price": (1, 0, 1, 2),
        "dutch": (1, 1, 0, 0),
    }
    assert by_format["english"]["money"] == [money(gmv=5_000)]
    assert by_format["sealed_second_price"]["money"] == [money()]
    # The refund (of its 5,000 hammer) nets out under the Dutch lot's format.
    assert by_format["dutch"]["money"] == [
        money(gmv=3_000, fees=750, refunds=1, refunded=5_250, net_gmv=-2_000, net_fees=0)
    ]
    assert by_format["dutch"]["orders"] == {"created": 1, "paid": 1, "refunded": 1}
    assert (
        by_format["dutch"]["sell_through_rate"],
        by_format["sealed_second_price"]["sell_through_rate"],
    ) == (1.0, 0.0)
    # The formats add up to the totals.
    assert sum(row["sold"] for row in by_format.values()) == totals["auctions"]["sold"]
    assert sum(row["bids"] for row in by_format.values()) == totals["bids"]
    net = sum(row["money"][0]["net_gmv_cents"] for row in by_format.values())
    assert [net] == [purse["net_gmv_cents"] for purse in totals["money"]]


async def test_an_edit_that_changes_the_format_moves_the_listing(feed: Feed) -> None:
    await feed.publish(format="english")
    await feed.publish(event="AuctionEdited", format="dutch")
    await feed.publish(event="AuctionEdited", format="dutch")
    listed = {row["format"]: row["listed"] for row in (await feed.summary())["formats"]}
    assert listed == {"english": 0, "dutch": 1}
    assert [(row["category"], row["listed"]) for row in await feed.daily()] == [("cameras", 1)]


async def test_an_auction_first_heard_of_by_a_bid_takes_the_bids_format(feed: Feed) -> None:
    await feed.bid(1, timedelta(seconds=3), format="sealed_first_price")
    [row] = (await feed.summary())["formats"]
    assert (row["format"], row["bids"]) == ("sealed_first_price", 1)


def money(
    *,
    gmv: int = 0,
    fees: int = 0,
    refunds: int = 0,
    refunded: int = 0,
    net_gmv: int | None = None,
    net_fees: int | None = None,
) -> dict[str, Any]:
    """One currency's money in a report (net as gross unless said)."""
    return {
        "currency": "EUR",
        "refunds": refunds,
        "gross_gmv_cents": gmv,
        "net_gmv_cents": gmv if net_gmv is None else net_gmv,
        "gross_fees_cents": fees,
        "net_fees_cents": fees if net_fees is None else net_fees,
        "refunded_cents": refunded,
    }
