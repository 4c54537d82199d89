"""Who is on the other end of a request."""

from __future__ import annotations

from starlette.requests import Request


def client_address(request: Request) -> str:
    """The client's address: the one the gateway forwarded, else the peer's.

    Services sit behind the gateway (and a NetworkPolicy admits only the gateway),
    which replaces ``X-Forwarded-For`` with the address it saw.
    """
    forwarded = request.headers.get("x-forwarded-for", "")
    first = forwarded.split(",")[0].strip()
    if first:
        return first
    return request.client.host if request.client else "unknown"
