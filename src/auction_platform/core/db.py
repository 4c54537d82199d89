"""Async storage on PostgreSQL or SQLite, chosen by URL, with pool statistics.

Handlers own their transaction: ``async with db.transaction() as conn`` commits
on success and rolls back on error. Stores take that connection and hold the
SQL; nothing else writes SQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool


@dataclass(frozen=True, slots=True)
class PoolStats:
    """How the connection pool is used right now."""

    size: int
    max: int
    in_use: int
    waiting: int
    # Connections opened since start. Beyond the first ``size``, each one is a new
    # server process and handshake: a rate that keeps climbing under steady load means
    # the pool is too small for it and its overflow opens and closes connections.
    opened: int = 0


def _tune_sqlite(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    """WAL, foreign keys and a busy timeout on every connection; explicit BEGIN."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front, so two writers queue on the busy
        # timeout instead of failing when a read lock cannot be upgraded.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# A pooled PostgreSQL connection idle for longer than this gets a round trip before
# it is handed out; a busier one only gets the local check (see ``_check_on_checkout``).
IDLE_PING_SECONDS = 10.0
_RETURNED_AT = "returned_at"


def _check_on_checkout(engine: AsyncEngine, *, idle_ping_seconds: float) -> None:
    """Never hand out a connection the server has closed, without a round trip per checkout.

    SQLAlchemy's ``pool_pre_ping`` costs two round trips (BEGIN, ROLLBACK) on every
    checkout, as much as the read it guards. Instead: a connection whose socket the
    server closed (a restart, ``pg_terminate_backend``, a failover) is known closed
    locally and is replaced; one that sat idle for ``idle_ping_seconds`` (where a
    silent network drop could hide) is pinged first. Raising ``DisconnectionError``
    makes the pool discard the connection and connect again. A connection that dies
    while in use fails its request, and SQLAlchemy then recycles the whole pool.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        driver = record.driver_connection
        if driver is None or driver.is_closed():
            raise DisconnectionError("the server closed this pooled connection")
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is not None and time.monotonic() - returned_at > idle_ping_seconds:
            try:
                dbapi_connection.ping()
            except Exception as exc:
                raise DisconnectionError("a pooled connection did not answer a ping") from exc

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = time.monotonic()


class Database:
    """One service's engine: transactions, health ping and pool statistics."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 15,
        max_overflow: int = 0,
        pool_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        busy_timeout_ms: int = 5000,
        idle_ping_seconds: float = IDLE_PING_SECONDS,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "pool_timeout": pool_timeout,
        }
        if self.is_sqlite:
            path = url.split(":///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
        else:
            kwargs["connect_args"] = {"timeout": connect_timeout}
            kwargs["pool_recycle"] = 1800
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self._opened = 0
        event.listen(self.engine.sync_engine, "connect", self._count_opened)
        if self.is_sqlite:
            _tune_sqlite(self.engine, busy_timeout_ms=busy_timeout_ms)
            self._reader = self.engine
        else:
            _check_on_checkout(self.engine, idle_ping_seconds=idle_ping_seconds)
            # PostgreSQL reads at READ COMMITTED take a fresh snapshot per statement,
            # inside BEGIN ... COMMIT or not: a read-only block gains nothing from the
            # two extra round trips, so its statements run in autocommit.
            self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # One writer at a time per SQLite file in this process; PostgreSQL needs none.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._waiting = 0
        self.connect_timeout = connect_timeout
        self._on_write: list[Callable[[], None]] = []

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def _connection(self, engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
        self._waiting += 1
        try:
            conn = await engine.connect()
        finally:
            self._waiting -= 1
        try:
            yield conn
        finally:
            await conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: commits when the block ends, rolls back on error."""
        if self._write_lock is None:
            async with self._connection(self.engine) as conn, conn.begin():
                yield conn
        else:
            async with self._write_lock, self._connection(self.engine) as conn:
                conn = await conn.execution_options(sqlite_immediate=True)
                async with conn.begin():
                    yield conn
        for callback in self._on_write:
            callback()

    def on_write(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` after each write transaction of this process commits.

        How a scheduler asleep until its next due moment hears that this process may
        have scheduled something sooner. Returns the function that stops the calls.
        """
        self._on_write.append(callback)
        return lambda: self._on_write.remove(callback)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only unit of work (never blocks SQLite writers).

        On SQLite it is one transaction (one snapshot for the block); on PostgreSQL each
        statement reads the latest committed data, as it would at READ COMMITTED anyway.
        """
        async with self._connection(self._reader) as conn, conn.begin():
            yield conn

    async def ping(self) -> None:
        """Round-trip ``SELECT 1``; raises when the database cannot be reached in time."""
        async with asyncio.timeout(self.connect_timeout), self.read() as conn:
            await conn.execute(text("SELECT 1"))

    def _count_opened(self, _dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        self._opened += 1

    def pool_stats(self) -> PoolStats:
        """Size, maximum, connections in use and tasks waiting for one."""
        pool = self.engine.pool
        if isinstance(pool, QueuePool):
            return PoolStats(
                size=pool.size(),
                max=pool.size() + max(pool._max_overflow, 0),
                in_use=pool.checkedout(),
                waiting=self._waiting,
                opened=self._opened,
            )
        return PoolStats(size=1, max=1, in_use=0, waiting=self._waiting, opened=self._opened)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
