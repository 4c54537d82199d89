"""The gateway's proxy: checks the caller, limits the rate, forwards to the owner."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from auction_platform.contracts.routes import Route, route_for
from auction_platform.core.auth import TokenVerifier, bearer_of
from auction_platform.core.context import REQUEST_ID_HEADER, current_request_id
from auction_platform.core.errors import ApiError
from auction_platform.core.http import ServiceClient
from auction_platform.core.middleware import read_body, send_error_for, send_whole
from auction_platform.core.transport import RawAnswer
from auction_platform.services.gateway.limits import RateLimits, RetryBudget

log = logging.getLogger("auction_platform.gateway")

# Hop-by-hop headers (RFC 9110 section 7.6.1) never cross a proxy; the client's own
# forwarding headers are replaced by what the gateway saw.
_DROPPED_REQUEST_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
        "forwarded",
        # Replaced by the request id the gateway logs this request under.
        "x-request-id",
        # The site's device cookie, which only the site forwards (identity's signup
        # signals): a client could otherwise sign up under another's device.
        "x-device-id",
    }
)
# Set again by the gateway's own middleware on the way out.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"upgrade",
        b"trailer",
        b"content-length",
        b"x-request-id",
        b"x-content-type-options",
        b"x-frame-options",
        b"referrer-policy",
    }
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_IDEMPOTENT_READS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class _ProxiedRoute:
    """What the request middleware labels proxied requests' metrics with."""

    path: str = "/api/v1/{path:path}"


_PROXIED = _ProxiedRoute()


class GatewayProxy:
    """The gateway's hot path in plain ASGI: check the caller, limit, forward the bytes.

    It sits inside the request middleware (request id, body limit, security headers,
    access log and metrics) and CORS, in front of the framework's routes: a path that
    no service owns, the gateway's own routes (health, metrics, its OpenAPI document)
    and the live feed's WebSocket fall through to them. Bodies and answers are passed
    on as bytes: the gateway never parses what the services say.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        clients: Mapping[str, ServiceClient],
        verifier: TokenVerifier,
        limits: RateLimits,
        budget: RetryBudget,
    ) -> None:
        self.app = app
        self.clients = clients
        self.verifier = verifier
        self.limits = limits
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = route_for(scope["path"]) if scope["type"] == "http" else None
        if route is None or scope["method"] not in _METHODS:
            await self.app(scope, receive, send)
            return
        scope["route"] = _PROXIED
        try:
            answer = await self._forward(route, scope, receive)
        except Exception as exc:
            await send_error_for(exc, scope, receive, send)
            return
        headers = [
            (name, value)
            for name, value in answer.headers
            if name.lower() not in _DROPPED_RESPONSE_HEADERS
        ]
        await send_whole(send, answer.status, headers, answer.body)

    async def _forward(self, route: Route, scope: Scope, receive: Receive) -> RawAnswer:
        client = scope.get("client")
        address = client[0] if client else "unknown"
        token = None
        headers: list[tuple[str, str]] = []
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            if name in _DROPPED_REQUEST_HEADERS:
                continue
            value = raw_value.decode("latin-1")
            if name == "authorization":
                token = bearer_of(value)
            headers.append((name, value))
        if route.limited:
            await _admit(token, address, route.auth, verifier=self.verifier, limits=self.limits)
        headers.append(("x-forwarded-for", address))
        request_id = current_request_id()
        if request_id:
            headers.append((REQUEST_ID_HEADER, request_id))
        body = await read_body(receive)  # within the limit, checked by the middleware
        if body is None:
            raise ApiError(400, "bad_request", "the client went away before sending the body")
        target = _sent_path(scope)
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        return await _send(
            self.clients[route.service],
            scope["method"],
            target,
            headers,
            body,
            route,
            budget=self.budget,
        )


def _sent_path(scope: Scope) -> str:
    """The path as the client sent it, still percent-encoded.

    Decoded, a ``%2F`` would become a separator and a ``%07`` a character no URL may
    hold (the request could not be sent on). Some clients' ``raw_path`` carries the
    query too; it is sent from ``query_string``.
    """
    raw: bytes | None = scope.get("raw_path")
    if raw:
        return raw.split(b"?", 1)[0].decode("latin-1")
    return quote(scope["path"])


async def _admit(
    token: str | None,
    address: str,
    auth_route: bool,
    *,
    verifier: TokenVerifier,
    limits: RateLimits,
) -> None:
    """Check the caller's token and take from its rate-limit buckets, or raise.

    The token is checked in this process (its marks are held here), so a signed-in
    caller costs one Redis round trip, for the buckets, and none while Redis is away.
    A token that is not valid, revoked or stale is refused before the buckets are
    touched.
    """
    user = (await verifier.verify(token)).subject if token else None
    await limits.check(address=address, user=user, auth_route=auth_route)


async def _send(
    client: ServiceClient,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    route: Route,
    *,
    budget: RetryBudget,
) -> RawAnswer:
    """Send once; retry an idempotent read once when it never reached the service."""
    service = route.service
    budget.record_request()
    retryable = method in _IDEMPOTENT_READS
    while True:
        try:
            answer = await client.exchange(method, target, headers, body, timeout=route.timeout)
        except httpx.TimeoutException as exc:
            log.warning("%s timed out: %s", service, exc)
            raise ApiError(
                504, "gateway_timeout", f"the {service} service did not answer in time"
            ) from exc
        except httpx.ConnectError as exc:
            if retryable and budget.try_spend():
                retryable = False
                await asyncio.sleep(0.05)
                continue
            log.warning("%s unreachable: %s", service, exc)
            raise ApiError(
                503,
                "service_unavailable",
                f"the {service} service is unavailable",
                headers={"Retry-After": "1"},
            ) from exc
        except httpx.HTTPError as exc:
            log.warning("%s failed: %s", service, exc)
            raise ApiError(
                502, "bad_gateway", f"the {service} service gave no valid answer"
            ) from exc
        if answer.status == 503 and retryable and budget.try_spend():
            retryable = False
            await asyncio.sleep(0.05)
            continue
        return answer
