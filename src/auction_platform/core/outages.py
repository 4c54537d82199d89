"""Which failures mean a dependency is down, not that the work itself is wrong.

An HTTP request that meets one answers 503 with ``Retry-After`` (``core.errors``);
an event consumer that meets one keeps its message and waits for the dependency
(``core.broker.pause``) instead of spending the message's retry budget. Anything
else is the work's own failure: a 500 for a request, a retry then the dead-letter
queue for an event.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from auction_platform.core.broker.base import BrokerUnavailable
from auction_platform.core.cache.base import CacheUnavailable
from auction_platform.core.failures import Unavailable

# Raised when a server (database, cache, broker, another host) cannot be reached.
DEPENDENCY_ERRORS = (
    OperationalError,
    InterfaceError,
    BrokerUnavailable,
    CacheUnavailable,
    OSError,
    TimeoutError,
)

# SQLSTATE classes and codes of a database that is gone or refusing: connection
# exceptions (08), shutting down or starting up (57P01-57P03), too many clients (53300).
_LOST_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
_LOST_DRIVER_ERRORS = frozenset(
    {"ConnectionDoesNotExistError", "ConnectionResetError", "ConnectionRefusedError"}
)


def lost_connection(exc: DBAPIError) -> bool:
    """True when a driver error means the database is unreachable, not that SQL failed.

    A connection dropped mid-transaction ("connection was closed in the middle of
    operation") reaches SQLAlchemy as a plain ``DBAPIError``: it is as much an
    outage as a refused connect, and is answered the same way (503).
    """
    if exc.connection_invalidated:
        return True
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        if error is None:
            continue
        sqlstate = str(getattr(error, "sqlstate", "") or "")
        if sqlstate and sqlstate.startswith(_LOST_SQLSTATES):
            return True
        if type(error).__name__ in _LOST_DRIVER_ERRORS or isinstance(error, OSError):
            return True
    return False


def dependency_down(exc: BaseException) -> bool:
    """True when ``exc`` says something the work needs is unavailable (retry later).

    A database that refuses, drops or has no free connection (pool timeout), a
    cache or broker out of reach, a network error, or a use case's own
    ``Unavailable``. Only the error itself is judged, not what it wraps: a
    service that turns an outage into an error of its own decides what it means.
    """
    if isinstance(exc, (*DEPENDENCY_ERRORS, PoolTimeoutError, Unavailable)):
        return True
    return isinstance(exc, DBAPIError) and lost_connection(exc)
