"""Which failures are a dependency that is down (wait and retry) and which are the work's own."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from auction_platform.core.broker.base import BrokerUnavailable
from auction_platform.core.cache.base import CacheUnavailable
from auction_platform.core.failures import Invalid, NotFound, Unavailable
from auction_platform.core.outages import dependency_down


class DriverError(Exception):
    """What a driver raises: a message and, from PostgreSQL, a SQLSTATE."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class ConnectionDoesNotExistError(DriverError):
    """Named as asyncpg names a connection closed under it."""


def database_error(orig: BaseException, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("INSERT INTO inbox ...", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        TimeoutError(),
        PoolTimeoutError("QueuePool limit of size 3 overflow 0 reached"),
        OperationalError("SELECT 1", {}, DriverError("server closed the connection")),
        database_error(
            ConnectionDoesNotExistError("connection was closed in the middle of operation")
        ),
        database_error(DriverError("terminating connection", sqlstate="57P01")),
        database_error(DriverError("too many clients already", sqlstate="53300")),
        database_error(DriverError("anything"), invalidated=True),
        CacheUnavailable("Redis at 127.0.0.1:6379: connection refused"),
        BrokerUnavailable("cannot connect (RabbitMQ at 127.0.0.1:5672)"),
        Unavailable("search_unavailable", "the search cluster is not answering"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_dependency_that_is_down(error: Exception) -> None:
    assert dependency_down(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("no such lot: L-404"),
        KeyError("amount"),
        NotFound("auction_not_found", "no such auction"),
        Invalid("bid_too_low", "the bid is below the minimum"),
        IntegrityError("INSERT ...", {}, DriverError("duplicate key", sqlstate="23505")),
        database_error(DriverError('syntax error at or near "FORM"', sqlstate="42601")),
        # A service's own error about an outage is the service's to classify.
        RuntimeError("the mail server deferred ann@example.org"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_failure_of_the_work_itself(error: Exception) -> None:
    assert not dependency_down(error)
