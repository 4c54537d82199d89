"""Fixtures for the real servers the tests talk to.

Each test gets its own PostgreSQL database, its own Redis key prefix and its own
RabbitMQ exchange and queue names, so tests run in parallel and twice in a row.
With ``CI=true`` a server that cannot be reached fails the test instead of
skipping it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from support.servers import (
    RABBITMQ_URL,
    REDIS_URL,
    postgres_database,
    require_server,
)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for this test, dropped afterwards."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    async with postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    """A fresh SQLite database file for this test."""
    return f"sqlite+aiosqlite:///{tmp_path}/test.sqlite3"


@pytest.fixture
def redis_url() -> str:
    """The Redis server; isolate by giving the cache a unique prefix (see ``unique_name``)."""
    require_server("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def rabbitmq_url() -> str:
    """The RabbitMQ server; isolate by giving the broker a unique exchange and queue prefix."""
    require_server("RabbitMQ", "127.0.0.1", 5672)
    return RABBITMQ_URL


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each storage backend in turn: the same test runs on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))
