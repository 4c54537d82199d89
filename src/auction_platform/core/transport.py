"""httpx transports with a raw path for the gateway's proxy: over the network, in-process.

httpx is the one client API the platform uses. Over the network its own connection
pool costs more CPU per request than the proxy itself can afford at the gateway's
request rates; aiohttp's pool is far cheaper. ``AiohttpTransport`` keeps the httpx
API and errors, and moves the bytes with aiohttp.

In the embedded mode the services are apps in the same process, reached through
httpx's ``ASGITransport``. Building httpx's request and response models for every
proxied call cost more than the ASGI call itself; ``InProcessTransport`` is that
transport with the same raw path as the network's (``exchange``), which builds the
ASGI scope from the parts the proxy already holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

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


class InProcessTransport(httpx.ASGITransport):
    """httpx's transport to an app in this process, with a raw ``exchange`` beside it.

    As ``ASGITransport``: the client's timeouts do not bind the app, and an app that
    fails before it answers is a 500 (``raise_app_exceptions`` off).
    """

    def __init__(self, app: Any) -> None:
        super().__init__(app=app, raise_app_exceptions=False)

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
        """Call the app with raw parts and return raw parts, as ``AiohttpTransport.exchange``."""
        scheme, _, rest = url.partition("://")
        host, _, target = rest.partition("/")
        path, _, query = ("/" + target).partition("?")
        raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        names = {name for name, _ in raw}
        if b"host" not in names:
            raw.append((b"host", host.encode("latin-1")))
        if b"content-length" not in names and (body or method not in ("GET", "HEAD")):
            raw.append((b"content-length", str(len(body)).encode()))
        server, _, port = host.partition(":")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "headers": raw,
            "scheme": scheme,
            "path": unquote(path),
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "server": (server, int(port) if port else None),  # as httpx: no default port
            "client": self.client,
            "root_path": self.root_path,
        }
        answered = asyncio.get_running_loop().create_future()
        status: int | None = None
        answer_headers: list[tuple[bytes, bytes]] = []
        parts: list[bytes] = []
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.shield(answered)
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, answer_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                answer_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                if message.get("body") and method != "HEAD":
                    parts.append(message["body"])
                if not message.get("more_body", False) and not answered.done():
                    answered.set_result(None)

        try:
            await self.app(scope, receive, send)
        except Exception:
            if status is None:
                status, answer_headers, parts = 500, [], []
        finally:
            if not answered.done():
                answered.set_result(None)
        return RawAnswer(status or 500, answer_headers, b"".join(parts))


# The transports with a raw ``exchange``: what the gateway's proxy sends through.
RawTransport = AiohttpTransport | InProcessTransport
