"""Pooled HTTP clients to other services, over the network or in-process.

In the distributed mode a client points at the service's URL; in the embedded
mode it goes through ``httpx.ASGITransport`` to the service's app in this
process. The code that uses a client is the same either way.
"""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from auction_platform.core.context import REQUEST_ID_HEADER, current_request_id
from auction_platform.core.transport import AiohttpTransport


async def _pass_request_id(request: httpx.Request) -> None:
    request_id = current_request_id()
    if request_id and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = request_id


def service_client(
    *,
    base_url: str,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 10.0,
    connect_timeout: float = 2.0,
    max_connections: int = 200,
) -> httpx.AsyncClient:
    """A pooled client with timeouts on every phase, passing the request id along."""
    return httpx.AsyncClient(
        base_url=base_url,
        # A pooled client serves every caller: it must never keep one caller's cookies.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        transport=transport or AiohttpTransport(max_connections=max_connections),
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        event_hooks={"request": [_pass_request_id]},
        follow_redirects=False,
    )
