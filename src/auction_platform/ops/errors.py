"""Expected failures an operator can fix, each said in one line that names what to do.

A command that talks to PostgreSQL, SQLite, Redis or RabbitMQ can meet a server that
is down, a database that does not exist, a refused user or password, or a URL that
does not parse. ``check_database_url`` catches the last before anything connects, and
``explain`` turns the others into an ``OperatorError``; anything else is a bug and
keeps its traceback.

Drivers are told apart by what they raise, not imported: PostgreSQL errors carry
their SQLSTATE (``sqlstate``), and connection failures end in an ``OSError``.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

# SQLSTATEs of connection refusals (PostgreSQL's appendix A).
_NO_DATABASE = "3D000"
_WRONG_PASSWORD = "28P01"  # noqa: S105 - a SQLSTATE, not a password
_BAD_LOGIN = "28000"
_TOO_MANY_CONNECTIONS = "53300"
_STARTING_OR_STOPPING = "57P03"
_NOT_ALLOWED = "42501"


class OperatorError(Exception):
    """A failure the operator can fix; its message is one line saying what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Target:
    """A server a command talks to, and the setting that names it (for messages)."""

    server: Literal["PostgreSQL", "SQLite", "Redis", "RabbitMQ"]
    url: str
    setting: str  # e.g. DATABASE_URL, BIDDING_DATABASE_URL, --database-url

    @property
    def where(self) -> str:
        """Host and port (or the SQLite file), never the password."""
        if self.server == "SQLite":
            return make_url(self.url).database or "(no file)"
        try:
            parsed = make_url(self.url)
            host, port = parsed.host, parsed.port
        except (ArgumentError, ValueError):
            return "(an unreadable URL)"
        default = {"PostgreSQL": 5432, "Redis": 6379, "RabbitMQ": 5672}[self.server]
        return f"{host or 'localhost'}:{port or default}"


def database_target(url: str, setting: str) -> Target:
    """The target of a platform database URL (``postgresql+asyncpg://`` or SQLite)."""
    return Target("SQLite" if url.startswith("sqlite") else "PostgreSQL", url, setting)


def check_database_url(target: Target) -> URL:
    """The parsed URL, or an ``OperatorError`` saying what is wrong with it."""
    setting = target.setting
    try:
        parsed = make_url(target.url)
        parsed.port  # noqa: B018 - make_url checks the port lazily; a bad one raises here
    except (ArgumentError, ValueError) as exc:
        reason = "its port is not a number" if "int()" in str(exc) else str(exc)
        raise OperatorError(
            f"{setting} is not a valid database URL ({reason}); "
            "write it as postgresql+asyncpg://user:password@host:5432/database"
        ) from exc
    if target.server == "SQLite":
        if parsed.database in (None, "", ":memory:"):
            raise OperatorError(
                f"{setting} names no SQLite file; write it as sqlite+aiosqlite:///path/to/file"
            )
        return parsed
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise OperatorError(f"{setting} has port {parsed.port}; a port is 1 to 65535")
    if not parsed.database:
        raise OperatorError(
            f"{setting} names no database; end it with /<database>, "
            "e.g. postgresql+asyncpg://user@host:5432/auction"
        )
    return parsed


def explain(error: BaseException, target: Target) -> OperatorError | None:
    """What ``error`` means for the operator talking to ``target``; None when it is a bug."""
    if isinstance(error, OperatorError):
        return error
    for cause in _causes(error):
        message = _explain_one(cause, target)
        if message is not None:
            return OperatorError(message)
    return None


def sqlstate(error: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE somewhere in ``error``'s chain, if any."""
    for cause in _causes(error):
        code = getattr(cause, "sqlstate", None)
        if isinstance(code, str):
            return code
    return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (SQLAlchemy's ``orig``) and what caused it, once each."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None]
        pending += [current.__cause__, current.__context__]


def _explain_one(error: BaseException, target: Target) -> str | None:
    server, where, setting = target.server, target.where, target.setting
    sqlstate = getattr(error, "sqlstate", None)
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    if sqlstate == _NO_DATABASE:
        name = make_url(target.url).database
        return (
            f'{server} at {where} has no database "{name}": create it with '
            "`auction-platform migrate --create-database`, or fix the name in "
            f"{setting}"
        )
    if sqlstate == _WRONG_PASSWORD:
        user = make_url(target.url).username
        return f'{server} at {where} refused the password of "{user}": fix it in {setting}'
    if sqlstate == _BAD_LOGIN:
        return f"{server} at {where} refused the login ({detail}): fix the user in {setting}"
    if sqlstate == _TOO_MANY_CONNECTIONS:
        return f"{server} at {where} has no free connection ({detail}): try again shortly"
    if sqlstate == _STARTING_OR_STOPPING:
        return f"{server} at {where} is starting up or shutting down: try again shortly"
    if sqlstate == _NOT_ALLOWED:
        return f"{server} at {where} refused: {detail}; use a user with that privilege"
    if isinstance(error, ConnectionRefusedError):
        return (
            f"cannot reach {server} at {where} (connection refused): start it, "
            f"or fix the host and port in {setting}"
        )
    if isinstance(error, socket.gaierror):
        return f"cannot reach {server} at {where}: unknown host; fix the host in {setting}"
    if isinstance(error, TimeoutError):
        return (
            f"{server} at {where} did not answer in time: check that it runs and that "
            f"the host in {setting} is reachable from here"
        )
    if isinstance(error, sqlite3.OperationalError) and "unable to open" in detail:
        return (
            f"cannot open the SQLite file {where}: its folder must exist and be "
            f"writable (`auction-platform migrate --create-database` makes it), or fix {setting}"
        )
    if isinstance(error, OSError) and error.errno is not None:
        return f"cannot reach {server} at {where} ({error.strerror}): check {setting}"
    return None
