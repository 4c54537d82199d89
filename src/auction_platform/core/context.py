"""Per-request context that crosses services: the request id."""

from __future__ import annotations

import itertools
import os
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


class _Ids:
    """64 random bits per process and a counter: unique ids without a syscall each."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_ids = _Ids()
# A forked worker must not repeat its parent's ids.
os.register_at_fork(after_in_child=_ids.reset)


def new_request_id() -> str:
    """A fresh request id: 32 hex digits, unique across processes."""
    return _ids.next()


def current_request_id() -> str | None:
    """The request id of the request (or event) being handled, if any."""
    return _request_id.get()


def set_request_id(value: str | None) -> object:
    """Bind a request id to the current context; returns a token for ``reset_request_id``."""
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    """Restore the request id bound before ``set_request_id``."""
    _request_id.reset(token)  # type: ignore[arg-type]


def clean_request_id(raw: str | None) -> str:
    """Accept a caller's request id if it is short and printable, else make one."""
    if raw and len(raw) <= 128 and raw.isascii() and raw.isprintable() and " " not in raw:
        return raw
    return new_request_id()
