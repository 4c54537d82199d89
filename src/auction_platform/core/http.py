"""Pooled HTTP clients to other services, over the network or in-process.

In the distributed mode a client points at the service's URL; in the embedded
mode it goes through ``httpx.ASGITransport`` to the service's app in this
process. The code that uses a client is the same either way.
"""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from auction_platform.core.context import REQUEST_ID_HEADER, current_request_id
from auction_platform.core.transport import (
    AiohttpTransport,
    InProcessTransport,
    RawAnswer,
    RawTransport,
)


async def _pass_request_id(request: httpx.Request) -> None:
    request_id = current_request_id()
    if request_id and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = request_id


class ServiceClient(httpx.AsyncClient):
    """A service's pooled client, with a raw path for the gateway's proxy.

    ``exchange`` takes and returns plain bytes and tuples. Over the network it goes
    straight to the aiohttp pool, and in-process straight to the app, skipping httpx's
    request and response models (the gateway's largest per-request cost after the
    socket work); through any other transport it builds an ordinary httpx request.
    All raise httpx's exceptions.
    """

    def __init__(self, *, wire: RawTransport | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._wire = wire
        self._origin = str(self.base_url).rstrip("/")

    async def exchange(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        timeout: float | None = None,
    ) -> RawAnswer:
        """Send ``method target`` (path and query) with ``headers`` and ``body``, as they are.

        ``timeout`` replaces the client's read timeout for this call.
        """
        if self._wire is not None:
            return await self._wire.exchange(
                method,
                self._origin + target,
                headers,
                body,
                connect=self.timeout.connect,
                read=timeout if timeout is not None else self.timeout.read,
            )
        path, _, query = target.partition("?")
        request = self.build_request(
            method,
            path,
            params=query,
            headers=headers,
            content=body,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )
        # The bytes as the service sent them: a compressed body stays compressed,
        # as its Content-Encoding says (as the aiohttp path does, auto_decompress off).
        answer = await self.send(request, stream=True)
        try:
            content = b"".join([chunk async for chunk in answer.aiter_raw()])
        finally:
            await answer.aclose()
        return RawAnswer(answer.status_code, answer.headers.raw, content)


def service_client(
    *,
    base_url: str,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 10.0,
    connect_timeout: float = 2.0,
    max_connections: int = 200,
) -> ServiceClient:
    """A pooled client with timeouts on every phase, passing the request id along."""
    wire: RawTransport | None = None
    if transport is None:
        wire = AiohttpTransport(max_connections=max_connections)
    elif isinstance(transport, InProcessTransport):
        wire = transport
    return ServiceClient(
        wire=wire,
        base_url=base_url,
        # A pooled client serves every caller: it must never keep one caller's cookies.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        transport=transport or wire,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        event_hooks={"request": [_pass_request_id]},
        follow_redirects=False,
    )
