"""Per-request context that crosses services: the request id."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    """A fresh request id."""
    return uuid.uuid4().hex


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
