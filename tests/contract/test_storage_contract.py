"""Storage: the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, inspect, select, text

from auction_platform.composition import DATABASE_SERVICES, DEFINITIONS
from auction_platform.core.db import Database
from auction_platform.core.inbox import claim_event
from auction_platform.core.migrate import migrate, revision_status
from auction_platform.core.sql import add_to_row
from auction_platform.settings import Settings


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=2, max_overflow=0, pool_timeout=0.5)
    yield database
    await database.dispose()


async def _tables(db: Database) -> set[str]:
    async with db.read() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_migrations_bring_an_empty_database_to_the_latest_schema(db: Database) -> None:
    for service in DATABASE_SERVICES:
        await migrate(db, service)
        current, head = await revision_status(db, service)
        assert current == head is not None
    tables = await _tables(db)
    for service in DATABASE_SERVICES:
        assert {f"{service}_outbox", f"{service}_inbox", f"alembic_version_{service}"} <= tables
        metadata = DEFINITIONS[service].tables
        assert metadata is not None
        assert set(metadata.metadata.tables) <= tables


async def test_migrating_again_changes_nothing(db: Database) -> None:
    await migrate(db, "analytics")
    before = await _tables(db)
    await migrate(db, "analytics")
    assert await _tables(db) == before
    current, head = await revision_status(db, "analytics")
    assert current == head


async def test_services_keep_separate_version_tables(db: Database) -> None:
    await migrate(db, "analytics")
    current, head = await revision_status(db, "bidding")
    assert current is None
    assert head is not None
    tables = await _tables(db)
    assert "alembic_version_analytics" in tables
    assert "alembic_version_bidding" not in tables


async def test_a_transaction_commits_when_the_block_ends(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(text("CREATE TABLE things (id INTEGER PRIMARY KEY)"))
    async with db.transaction() as conn:
        await conn.execute(text("INSERT INTO things (id) VALUES (1)"))
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM things"))).scalar() == 1


async def test_an_error_rolls_the_whole_transaction_back(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(text("CREATE TABLE things (id INTEGER PRIMARY KEY)"))
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(text("INSERT INTO things (id) VALUES (1)"))
            raise RuntimeError("handler failed")
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM things"))).scalar() == 0


async def test_the_inbox_accepts_an_event_once_per_consumer(db: Database) -> None:
    await migrate(db, "analytics")
    inbox = DEFINITIONS["analytics"].tables.inbox  # type: ignore[union-attr]
    async with db.transaction() as conn:
        assert await claim_event(conn, inbox, consumer="a", event_id="e1")
        assert not await claim_event(conn, inbox, consumer="a", event_id="e1")
        assert await claim_event(conn, inbox, consumer="b", event_id="e1")


async def test_concurrent_writers_are_serialised_not_lost(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        await conn.execute(text("INSERT INTO counter VALUES (1, 0)"))

    async def increment() -> None:
        async with db.transaction() as conn:
            await conn.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))

    await asyncio.gather(*(increment() for _ in range(20)))
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT n FROM counter"))).scalar() == 20


async def test_pool_statistics_count_connections_in_use(db: Database) -> None:
    assert db.pool_stats().in_use == 0
    async with db.read():
        stats = db.pool_stats()
        assert stats.in_use == 1
        assert stats.max == 2


async def test_the_default_pool_keeps_its_connections_under_load_above_its_size(
    database_url: str,
) -> None:
    # Overflow connections are closed when they are returned: with an overflow, steady
    # load above the pool size opens a new connection (a PostgreSQL process) on most
    # checkouts. The default pool holds the whole budget and reuses what it opened.
    settings = Settings()
    db = Database(
        database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )

    async def one() -> None:
        async with db.read() as conn:
            await conn.execute(text("SELECT 1"))
            await asyncio.sleep(0.001)

    try:
        for _ in range(20):
            await asyncio.gather(*(one() for _ in range(2 * settings.db_pool_size)))
        stats = db.pool_stats()
        assert 1 <= stats.opened <= settings.db_pool_size
        assert stats.max == settings.db_pool_size
    finally:
        await db.dispose()


async def test_an_exhausted_pool_times_out_instead_of_waiting_forever(db: Database) -> None:
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    async with db.read(), db.read():
        with pytest.raises(PoolTimeout):
            async with db.read():
                pass


async def test_ping_fails_promptly_when_the_server_is_unreachable() -> None:
    db = Database(
        "postgresql+asyncpg://postgres@127.0.0.1:1/none", pool_size=1, connect_timeout=1.0
    )
    try:
        with pytest.raises(ConnectionRefusedError):
            await db.ping()
    finally:
        await db.dispose()


async def _backend_pid(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(postgres_url: str, pid: int) -> None:
    """End a server process from another session, as a restart or a failover would."""
    admin = Database(postgres_url, pool_size=1, max_overflow=0)
    try:
        async with admin.transaction() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


async def test_a_pooled_connection_the_server_closed_is_replaced_not_handed_out(
    postgres_url: str,
) -> None:
    db = Database(postgres_url, pool_size=1, max_overflow=0)
    try:
        first = await _backend_pid(db)
        await _terminate(postgres_url, first)
        await asyncio.sleep(0.2)  # the pooled connection's socket sees the server hang up
        assert await _backend_pid(db) != first
        async with db.transaction() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await db.dispose()


async def test_a_connection_idle_past_the_threshold_is_pinged_before_use(
    postgres_url: str,
) -> None:
    db = Database(postgres_url, pool_size=1, max_overflow=0, idle_ping_seconds=0.0)
    try:
        first = await _backend_pid(db)
        await _terminate(postgres_url, first)
        # No pause: the checkout's ping, not the closed socket, finds it gone.
        assert await _backend_pid(db) != first
    finally:
        await db.dispose()


async def test_add_to_row_makes_the_row_then_adds_to_it(db: Database) -> None:
    counters = Table(
        "counters",
        MetaData(),
        Column("day", String(10), primary_key=True),
        Column("kind", String(10), primary_key=True),
        Column("bids", Integer, nullable=False),
        Column("seconds", Float, nullable=False),
        Column("sold", Integer, nullable=False),
    )
    async with db.transaction() as conn:
        await conn.run_sync(counters.metadata.create_all)
    start = {"bids": 0, "seconds": 0.0, "sold": 7}
    for deltas in ({"bids": 1, "seconds": 1.5}, {"bids": 2}, {"seconds": 0.25}):
        async with db.transaction() as conn:
            await add_to_row(conn, counters, {"day": "d1", "kind": "a"}, deltas, start=start)
    async with db.transaction() as conn:
        await add_to_row(conn, counters, {"day": "d1", "kind": "b"}, {"bids": 5}, start=start)
    async with db.read() as conn:
        rows = (await conn.execute(select(counters).order_by(counters.c.kind))).all()
    assert [tuple(row) for row in rows] == [("d1", "a", 3, 1.75, 7), ("d1", "b", 5, 0.0, 7)]
    async with db.transaction() as conn:
        await conn.run_sync(counters.metadata.drop_all)
