"""What an operator reads when a server, a database or a URL is wrong: one line that
says what to do, and the password never."""

from __future__ import annotations

import socket
import sqlite3

import pytest

from auction_platform.ops.errors import (
    OperatorError,
    Target,
    check_database_url,
    database_target,
    explain,
)

PG = database_target("postgresql+asyncpg://ops:s3cret@db.internal:6543/auction", "DATABASE_URL")


class PostgresError(Exception):
    """What asyncpg raises: an error carrying its SQLSTATE."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class Wrapped(Exception):
    """What SQLAlchemy raises around a driver's error (``orig``)."""

    def __init__(self, orig: BaseException) -> None:
        super().__init__(f"(driver error) {orig}\n(Background on this error at: ...)")
        self.orig = orig


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (
            Wrapped(PostgresError('database "auction" does not exist', "3D000")),
            'has no database "auction": create it with `auction-platform migrate '
            "--create-database`",
        ),
        (
            Wrapped(PostgresError('password authentication failed for user "ops"', "28P01")),
            'refused the password of "ops": fix it in DATABASE_URL',
        ),
        (
            Wrapped(PostgresError('role "ops" does not exist', "28000")),
            'refused the login (role "ops" does not exist): fix the user in DATABASE_URL',
        ),
        (
            ConnectionRefusedError(111, "Connect call failed"),
            "cannot reach PostgreSQL at db.internal:6543 (connection refused): start it",
        ),
        (socket.gaierror(-2, "Name or service not known"), "unknown host; fix the host"),
        (TimeoutError(), "did not answer in time"),
    ],
)
def test_connection_failures_become_one_line_naming_what_to_do(
    error: BaseException, says: str
) -> None:
    explained = explain(error, PG)
    assert explained is not None
    assert says in explained.message
    assert "\n" not in explained.message
    assert "s3cret" not in explained.message


def test_a_cause_deep_in_the_chain_is_found() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("the broker could not start") from inner
    except RuntimeError as outer:
        explained = explain(outer, Target("RabbitMQ", "amqp://u:p@mq:5672/", "RABBITMQ_URL"))
    assert explained is not None
    assert explained.message.startswith("cannot reach RabbitMQ at mq:5672")


def test_a_sqlite_file_that_cannot_be_opened_names_its_folder() -> None:
    target = database_target("sqlite+aiosqlite:////nowhere/x/auction.sqlite3", "DATABASE_URL")
    explained = explain(Wrapped(sqlite3.OperationalError("unable to open database file")), target)
    assert explained is not None
    assert "cannot open the SQLite file /nowhere/x/auction.sqlite3" in explained.message


def test_a_bug_is_not_explained_away() -> None:
    assert explain(KeyError("identity"), PG) is None
    assert explain(Wrapped(PostgresError("syntax error", "42601")), PG) is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "postgresql+asyncpg://u@h:port/db",
            "is not a valid database URL (its port is not a number)",
        ),
        ("postgresql+asyncpg://u@h:99999/db", "has port 99999"),
        ("postgresql+asyncpg://u@h:5432", "names no database"),
        ("postgresql+asyncpg://", "names no database"),
        ("sqlite+aiosqlite://", "names no SQLite file"),
        ("sqlite+aiosqlite:///:memory:", "names no SQLite file"),
    ],
)
def test_a_malformed_url_is_refused_before_connecting(url: str, says: str) -> None:
    with pytest.raises(OperatorError, match=r"^DATABASE_URL ") as refused:
        check_database_url(database_target(url, "DATABASE_URL"))
    assert says in refused.value.message


def test_a_good_url_passes() -> None:
    assert check_database_url(PG).database == "auction"
    sqlite = database_target("sqlite+aiosqlite:///data/auction.sqlite3", "DATA_DIR")
    assert check_database_url(sqlite).database == "data/auction.sqlite3"
