"""Plain ASGI middleware: request id, body limit, access log and request metrics."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auction_platform.contracts.routes import UPLOADS
from auction_platform.core.context import (
    REQUEST_ID_HEADER,
    clean_request_id,
    reset_request_id,
    set_request_id,
)
from auction_platform.core.errors import DEFAULT_ERRORS, ErrorTable, error_body, response_for
from auction_platform.core.metrics import Metrics

log = logging.getLogger("auction_platform.access")
_QUIET_PREFIXES = ("/health", "/metrics")
_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


async def read_body(receive: Receive, *, limit: int | None = None) -> bytes | None:
    """The whole request body; None when the client left first or it exceeds ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the already-read body once, then the client's messages."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def send_whole(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    """Send a whole answer: the status, ``headers`` and the body's length, then the body."""
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": status, "headers": [*headers, length]})
    await send({"type": "http.response.body", "body": body})


async def send_error_for(
    exc: Exception,
    scope: Scope,
    receive: Receive,
    send: Send,
    errors: ErrorTable = DEFAULT_ERRORS,
) -> None:
    """Answer ``exc`` from plain ASGI code as the app's handlers would; re-raise the rest."""
    response = response_for(exc, errors)
    if response is None:
        raise exc
    await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestMiddleware:
    """Binds the request id, limits the body, logs and measures every request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        metrics: Metrics,
        max_body_bytes: int,
        max_upload_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        # Uploads (``contracts.routes.UPLOADS``) may be this large; the rest max_body_bytes.
        self.max_upload_bytes = max(max_upload_bytes or 0, max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = clean_request_id(_header(scope, b"x-request-id"))
        token = set_request_id(request_id)
        started = time.perf_counter()
        status = 500
        limit = self.max_body_bytes
        if scope.get("method") == "POST" and UPLOADS.match(scope.get("path", "")):
            limit = self.max_upload_bytes

        declared = _header(scope, b"content-length")
        if declared is None and _header(scope, b"transfer-encoding") is not None:
            # A chunked body has no declared size: read it here, within the limit,
            # so an oversized one is refused before any route sees it.
            buffered = await self._buffered(receive, limit)
            if buffered is None:
                declared = str(limit + 1)
            else:
                receive = buffered
        if declared is not None and declared.isdigit() and int(declared) > limit:
            status = 413
            await self._send_error(
                send, request_id, 413, "body_too_large", f"the request body exceeds {limit} bytes"
            )
            self._observe(scope, status, started)
            reset_request_id(token)
            return

        started_response = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                headers.extend(_SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Answered here rather than by Starlette's last-resort handler, so the
            # answer keeps the error shape, the request id and the headers.
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started_response:
                raise
            status = 500
            await self._send_error(
                send, request_id, 500, "internal_error", "an unexpected error occurred"
            )
        finally:
            self._observe(scope, status, started)
            reset_request_id(token)

    async def _buffered(self, receive: Receive, limit: int) -> Receive | None:
        """The whole body read up front; None when it exceeds the limit."""
        body = await read_body(receive, limit=limit)
        return None if body is None else replay(body, receive)

    async def _send_error(
        self, send: Send, request_id: str, status: int, code: str, message: str
    ) -> None:
        body = json.dumps(error_body(code, message)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
            *_SECURITY_HEADERS,
        ]
        await send_whole(send, status, headers, body)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        route: Any = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        self.metrics.observe_request(
            service=self.service, method=method, route=template, status=status, seconds=seconds
        )
        path = scope.get("path", "")
        if not path.startswith(_QUIET_PREFIXES):
            level = logging.WARNING if status >= 500 else logging.INFO
            log.log(
                level,
                "%s %s -> %d",
                method,
                path,
                status,
                extra={
                    "service": self.service,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
