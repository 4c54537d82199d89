"""Fixtures for the real servers the tests talk to.

Each test gets its own PostgreSQL database and its own Redis key prefix; each test
process has its own RabbitMQ exchange and queues, emptied between tests (quorum
queues are too costly to make for every test). So tests run in parallel and twice
in a row.
With ``CI=true`` a server that cannot be reached fails the test instead of
skipping it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from support import queue_sets
from support.servers import (
    RABBITMQ_URL,
    REDIS_URL,
    missing,
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
def rabbitmq_url() -> Iterator[str]:
    """The RabbitMQ server, with this process's queues empty before and after the test.

    Platforms on ``distributed_settings`` (and served children given
    ``support.queue_sets``' names) use those queues; a test that needs queues of its
    own gives its broker a unique exchange and prefix and deletes them.
    """
    require_server("RabbitMQ", "127.0.0.1", 5672)
    _empty_queues()
    yield RABBITMQ_URL
    # Every consumer and child of the test has stopped by now: fixtures that use
    # this one are torn down first.
    _empty_queues()


def _empty_queues() -> None:
    try:
        queue_sets.empty(RABBITMQ_URL)
    except Exception as exc:
        missing(f"RabbitMQ at 127.0.0.1:5672 did not empty this process's queues: {exc!r}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Delete this process's RabbitMQ queues and exchange (each xdist worker its own)."""
    try:
        queue_sets.delete(RABBITMQ_URL)
    except Exception as exc:
        # .ci/run removes them before its next run.
        print(f"\nthis run's RabbitMQ queues were not deleted: {exc!r}")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each storage backend in turn: the same test runs on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))
