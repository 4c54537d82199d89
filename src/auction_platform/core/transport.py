"""An httpx transport on aiohttp, for service-to-service calls over the network.

httpx is the one client API the platform uses (in the embedded mode it runs over
``ASGITransport`` to apps in the same process). Over the network its own connection
pool costs more CPU per request than the proxy itself can afford at the gateway's
request rates; aiohttp's pool is far cheaper. This transport keeps the httpx API
and errors, and moves the bytes with aiohttp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """A service's answer as bytes: what a proxy passes on without parsing it."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests through one pooled ``aiohttp.ClientSession``."""

    def __init__(self, *, max_connections: int = 200) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=60),
                auto_decompress=False,
                # Shared by every caller: it must never keep one caller's cookies.
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request; map aiohttp's failures onto httpx's exception types."""
        limits: dict[str, Any] = request.extensions.get("timeout", {})
        try:
            answer = await self.exchange(
                request.method,
                str(request.url),
                list(request.headers.multi_items()),
                await request.aread(),
                connect=limits.get("connect"),
                read=limits.get("read"),
            )
        except httpx.RequestError as exc:
            exc.request = request
            raise
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )

    async def exchange(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        connect: float | None,
        read: float | None,
    ) -> RawAnswer:
        """Send raw parts and return raw parts: the proxy's path, without httpx's models.

        Failures are raised as the same httpx exceptions as ``handle_async_request``
        raises, so callers handle one set of errors whichever path they take.
        """
        timeout = self._timeouts.get((connect, read))
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=None, connect=connect, sock_connect=connect, sock_read=read
            )
            self._timeouts[(connect, read)] = timeout
        try:
            async with self._client().request(
                method,
                url,
                headers=headers,
                data=body or None,
                timeout=timeout,
                allow_redirects=False,
            ) as answer:
                content = await answer.read()
                return RawAnswer(answer.status, list(answer.raw_headers), content)
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out") from exc
        except aiohttp.ClientError as exc:
            raise httpx.RemoteProtocolError(str(exc)) from exc

    async def aclose(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()
