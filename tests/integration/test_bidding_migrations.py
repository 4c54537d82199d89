"""Bidding's migration 0003: each book's version starts where its watchers' order stood."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources import files

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from auction_platform.core.db import Database
from auction_platform.core.migrate import migrate, revision_status
from auction_platform.services.bidding import store

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = Config()
    location = files("auction_platform.services") / "bidding" / "migrations"
    config.set_main_option("script_location", str(location))
    config.attributes.update(service="bidding", connection=connection)
    command.upgrade(config, revision)


async def test_books_from_before_0003_get_a_version_above_what_watchers_were_sent(
    database_url: str,
) -> None:
    db = Database(database_url)
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_upgrade_to, "0002")
            await conn.commit()
        async with db.transaction() as conn:
            for auction_id, status, seq in (
                ("a1", "open", 4),
                ("a2", "closed", 4),
                ("a3", "open", 0),
            ):
                await conn.execute(
                    sa.text(
                        "INSERT INTO bidding_books (auction_id, seller_id, title, currency,"
                        " rules, state, status, price_cents, bid_count, ends_at, seq, updated_at)"
                        " VALUES (:id, 's', 'A lot', 'EUR', '{}', '{}', :status, 100, :bids,"
                        " :ends, :seq, :at)"
                    ),
                    {
                        "id": auction_id,
                        "status": status,
                        "bids": seq,
                        "seq": seq,
                        "ends": NOW + timedelta(days=1),
                        "at": NOW,
                    },
                )
        await migrate(db, "bidding")
        assert (await revision_status(db, "bidding"))[0] == "0003"
        async with db.read() as conn:
            rows = await conn.execute(
                sa.select(store.books.c.auction_id, store.books.c.version).order_by(
                    store.books.c.auction_id
                )
            )
            # Watchers ordered by the ledger sequence, a closed book after an open one.
            assert [tuple(row) for row in rows] == [("a1", 4), ("a2", 5), ("a3", 0)]
    finally:
        await db.dispose()
