"""Analytics' migrations keep what was counted: 0005 starts the refunds at zero, 0008 calls
everything counted and indexed before it English."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib.resources import files

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from auction_platform.contracts.events import Envelope
from auction_platform.core.db import Database
from auction_platform.core.migrate import migrate, revision_status
from auction_platform.core.uow import Transaction
from auction_platform.services.analytics import handlers, rollups, store
from auction_platform.services.analytics.commands import Summary
from auction_platform.services.analytics.handlers import Analytics
from auction_platform.services.analytics.search import SearchQuery
from auction_platform.services.analytics.search_sql import SqlSearch

DAY = date(2030, 5, 1)
PAID = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = Config()
    location = files("auction_platform.services") / "analytics" / "migrations"
    config.set_main_option("script_location", str(location))
    config.attributes.update(service="analytics", connection=connection)
    command.upgrade(config, revision)


async def test_days_and_orders_counted_before_0005_keep_their_figures_and_take_refunds(
    database_url: str,
) -> None:
    db = Database(database_url)
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_upgrade_to, "0004")
            await conn.commit()
        async with db.transaction() as conn:
            counters = "listed, opened, sold, unsold, cancelled, bids, closed_bids, first_bids"
            orders = "orders_created, orders_paid, orders_created_paid"
            await conn.execute(
                sa.text(
                    f"INSERT INTO analytics_daily (day, category, currency, {counters}, {orders},"
                    " first_bid_seconds, gmv_cents, fees_cents) VALUES (:day, 'cameras', 'EUR',"
                    " 1, 1, 1, 0, 0, 2, 2, 1, 1, 1, 1, 3.0, 5000, 750)"
                ),
                {"day": DAY},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO analytics_orders (order_id, auction_id, category, currency,"
                    " fees_cents, created_at, paid_at) VALUES ('o1', 'a1', 'cameras', 'EUR',"
                    " 750, :at, :at)"
                ),
                {"at": PAID},
            )
        await migrate(db, "analytics")
        current, head = await revision_status(db, "analytics")
        assert current == head

        refund = Envelope(
            type="OrderRefunded",
            producer="payment",
            occurred_at=PAID + timedelta(hours=1),
            data={
                "order_id": "o1",
                "auction_id": "a1",
                "currency": "EUR",
                "hammer_cents": 5000,
                "buyers_premium_cents": 250,
                "seller_fee_cents": 500,
                "refunded_cents": 5250,
            },
        )
        async with db.transaction() as conn:
            await rollups.update_rollups(
                Transaction(conn, producer="analytics"), refund, clock=lambda: PAID
            )
        ctx = Analytics(db=db, search=SqlSearch(db), clock=lambda: PAID)
        totals = await handlers.summary(Summary(DAY, DAY), ctx=ctx)
        assert (totals["auctions"]["sold"], totals["orders"]["refunded"]) == (1, 1)
        assert totals["money"] == [
            {
                "currency": "EUR",
                "refunds": 1,
                "gross_gmv_cents": 5000,
                "net_gmv_cents": 0,
                "gross_fees_cents": 750,
                "net_fees_cents": 0,
                "refunded_cents": 5250,
            }
        ]
    finally:
        await db.dispose()


async def test_lots_and_days_from_before_0008_are_english_and_counted_by_format(
    database_url: str,
) -> None:
    db = Database(database_url)
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_upgrade_to, "0007")
            await conn.commit()
        async with db.transaction() as conn:
            zeros = {name: 0 for name in store.COUNTERS + store.MONEY}
            for category, sold, gmv in (("cameras", 1, 5_000), ("kitchen", 2, 700)):
                await conn.execute(
                    sa.insert(store.daily).values(
                        {
                            **zeros,
                            "day": DAY,
                            "category": category,
                            "currency": "EUR",
                            "sold": sold,
                            "gmv_cents": gmv,
                            "first_bid_seconds": 0.0,
                        }
                    )
                )
            await conn.execute(
                sa.text(
                    "INSERT INTO analytics_search_docs (auction_id, title, description,"
                    " folded_title, folded_description, category, status, currency, price_cents,"
                    " bid_count, last_seq, listed_at, version, indexed_version) VALUES ('a1',"
                    " 'Leica', '', 'leica', '', 'cameras', 'open', 'EUR', 100, 0, 0, :at, 3, 3)"
                ),
                {"at": PAID},
            )
        await migrate(db, "analytics")
        async with db.read() as conn:
            doc = (await conn.execute(sa.select(store.search_docs))).mappings().one()
        # English, and shipped again to an external index (which has no format yet).
        assert (doc["format"], doc["dutch"], doc["version"], doc["indexed_version"]) == (
            "english",
            None,
            4,
            3,
        )
        ctx = Analytics(db=db, search=SqlSearch(db), clock=lambda: PAID)
        totals = await handlers.summary(Summary(DAY, DAY), ctx=ctx)
        [english] = totals["formats"]
        assert (english["format"], english["sold"]) == ("english", 3)
        assert english["money"][0]["gross_gmv_cents"] == 5_700
        page = await handlers.search(SearchQuery(format="english"), ctx=ctx)
        assert [item["id"] for item in page.items] == ["a1"]
    finally:
        await db.dispose()
