"""Plain ASGI middleware: request id, body limit, access log and request metrics."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auction_platform.core.context import (
    REQUEST_ID_HEADER,
    clean_request_id,
    reset_request_id,
    set_request_id,
)
from auction_platform.core.errors import ApiError, error_body
from auction_platform.core.metrics import Metrics

log = logging.getLogger("auction_platform.access")
_QUIET_PREFIXES = ("/health", "/metrics")
_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestMiddleware:
    """Binds the request id, limits the body, logs and measures every request."""

    def __init__(
        self, app: ASGIApp, *, service: str, metrics: Metrics, max_body_bytes: int
    ) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = clean_request_id(_header(scope, b"x-request-id"))
        token = set_request_id(request_id)
        started = time.perf_counter()
        status = 500
        limit = self.max_body_bytes

        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            status = 413
            await self._reject_too_large(send, request_id)
            self._observe(scope, status, started)
            reset_request_id(token)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise ApiError(413, "body_too_large", f"the request body exceeds {limit} bytes")
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                headers.extend(_SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        finally:
            self._observe(scope, status, started)
            reset_request_id(token)

    async def _reject_too_large(self, send: Send, request_id: str) -> None:
        import json

        body = json.dumps(
            error_body("body_too_large", f"the request body exceeds {self.max_body_bytes} bytes")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
                    *_SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

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
