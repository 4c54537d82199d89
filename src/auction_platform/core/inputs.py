"""What any request may carry, whatever its route: the shapes every service checks alike.

- **No NUL character** (``\\u0000``) anywhere: not in the path, a query parameter, a
  JSON string or a form field. PostgreSQL's text cannot hold one (SQLite would store
  it), so it is refused at the door, for every route at once, as a 422.
- **Ids** in paths are 1 to 64 letters, digits, ``_`` or ``-`` (the platform makes
  32 hex digits); anything else is a 422 before any lookup.
- **Amounts** stop at ``MAX_AMOUNT_CENTS`` wherever a request names one: a listing's
  prices, a bid's maximum, a price filter.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field
from starlette.types import ASGIApp, Receive, Scope, Send

from auction_platform.contracts.money import MAX_AMOUNT_CENTS
from auction_platform.core.errors import error_response
from auction_platform.core.middleware import read_body, replay

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# An id in a path: the same rule in every service (422 otherwise).
ResourceId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
# A country a body names: ISO 3166-1 alpha-2 as the schema says; any short string
# passes here, so a wrong one is refused by its rule (422 ``unknown_country``).
CountryCode = Annotated[
    str,
    Field(
        max_length=8,
        json_schema_extra={"pattern": "^[A-Z]{2}$"},
        description="ISO 3166-1 alpha-2, e.g. `DE` (422 `unknown_country` otherwise).",
    ),
]
# An amount a body names, in minor units.
Cents = Annotated[int, Field(gt=0, le=MAX_AMOUNT_CENTS, strict=True)]
# A price filter in a query.
PriceFilter = Annotated[int | None, Query(ge=0, le=MAX_AMOUNT_CENTS)]

_ESCAPED_NUL = b"\\u0000"
_BACKSLASH = 0x5C
# Bodies that carry text a route reads; others (none yet) pass untouched.
_TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded")


def json_has_nul(body: bytes) -> bool:
    """True when a JSON text holds a NUL character, raw or escaped as ``\\u0000``.

    An escape starts at a backslash preceded by an even number of backslashes, so
    ``"\\\\u0000"`` (a backslash, then the letters) is not one. A raw zero byte is
    never valid UTF-8 JSON (nor is the UTF-16 that carries them), so it is refused too.
    """
    if b"\x00" in body:
        return True
    at = body.find(_ESCAPED_NUL)
    while at != -1:
        before = at
        while before > 0 and body[before - 1] == _BACKSLASH:
            before -= 1
        if (at - before) % 2 == 0:
            return True
        at = body.find(_ESCAPED_NUL, at + 1)
    return False


def encoded_has_nul(text: bytes) -> bool:
    """True when a URL-encoded text (a query string, a form) holds a NUL, raw or as %00."""
    return b"\x00" in text or b"%00" in text


def _content_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return str(value.decode("latin-1")).split(";", 1)[0].strip().lower()
    return ""


class RefuseNul:
    """Plain ASGI layer: 422 ``validation_error`` for a request carrying a NUL character."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = None
        if "\x00" in scope["path"]:
            where = "path"
        elif encoded_has_nul(scope["query_string"]):
            where = "query"
        elif scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            kind = _content_type(scope)
            # No content type is read as JSON, as the framework and the lean routes do.
            if kind in _TEXT_BODIES or kind.endswith("+json") or not kind:
                body = await read_body(receive)
                if body is None:
                    return  # the client went away
                form = kind == "application/x-www-form-urlencoded"
                if encoded_has_nul(body) if form else json_has_nul(body):
                    where = "body"
                receive = replay(body, receive)
        if where is None:
            await self.app(scope, receive, send)
            return
        detail = {
            "location": [where],
            "message": "NUL characters (\\u0000) are not accepted",
            "type": "nul_character",
        }
        response = error_response(
            422, "validation_error", "the request is not valid", details=[detail]
        )
        await response(scope, receive, send)
