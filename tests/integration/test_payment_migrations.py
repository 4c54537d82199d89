"""The payment migrations build exactly the tables the store declares, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from auction_platform.core.db import Database
from auction_platform.core.migrate import migrate, revision_status
from auction_platform.services.payment.store import TABLES


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"version_table": "alembic_version_payment"}
    )
    return list(compare_metadata(context, TABLES.metadata))


def _unique_sets(connection: Connection, table: str) -> set[tuple[str, ...]]:
    inspector = inspect(connection)
    found = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
    for index in inspector.get_indexes(table):
        if index["unique"]:
            found.add(tuple(str(name) for name in index["column_names"]))
    return found


async def test_migrations_match_the_store_and_enforce_one_order_per_auction(
    database_url: str,
) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "payment")
        await migrate(db, "payment")  # applying again changes nothing
        current, head = await revision_status(db, "payment")
        assert current == head == "0008"
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_drift) == []
            uniques = await conn.run_sync(_unique_sets, "payment_orders")
            assert ("auction_id", "second_chance") in uniques
            assert ("auction_id",) in await conn.run_sync(_unique_sets, "payment_offers")
    finally:
        await db.dispose()
