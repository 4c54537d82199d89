"""The gateway's proxy: checks the caller, limits the rate, forwards to the owner."""

from __future__ import annotations

import asyncio
import logging

import httpx
from fastapi import APIRouter, Request, Response

from auction_platform.core.auth import (
    TokenVerifier,
    bearer_token,
    refuse_revoked,
    revocation_key,
)
from auction_platform.core.errors import ApiError
from auction_platform.services.gateway.limits import RateLimits, RetryBudget
from auction_platform.services.gateway.routing import route_for

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
    }
)
# Set again by the gateway's own middleware on the way out.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "upgrade",
        "trailer",
        "content-length",
        "x-request-id",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
    }
)
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_IDEMPOTENT_READS = frozenset({"GET", "HEAD"})


def build_router(
    clients: dict[str, httpx.AsyncClient],
    *,
    verifier: TokenVerifier,
    limits: RateLimits,
    budget: RetryBudget,
) -> APIRouter:
    """The catch-all routes under ``/api/v1`` and the JWKS document."""
    router = APIRouter()

    async def forward(request: Request) -> Response:
        route = route_for(request.url.path)
        if route is None:
            raise ApiError(404, "not_found", f"no route for {request.method} {request.url.path}")
        address = request.client.host if request.client else "unknown"
        if route.limited:
            await _admit(
                bearer_token(request), address, route.auth, verifier=verifier, limits=limits
            )
        client = clients[route.service]
        headers = [
            (k, v) for k, v in request.headers.items() if k.lower() not in _DROPPED_REQUEST_HEADERS
        ]
        headers.append(("x-forwarded-for", address))
        upstream = client.build_request(
            request.method,
            request.url.path,
            params=request.url.query,
            headers=headers,
            content=await request.body(),
            timeout=route.timeout if route.timeout else httpx.USE_CLIENT_DEFAULT,
        )
        answer = await _send(client, upstream, route.service, budget=budget)
        response = Response(content=answer.content, status_code=answer.status_code)
        response.raw_headers.extend(
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.headers.multi_items()
            if k.lower() not in _DROPPED_RESPONSE_HEADERS
        )
        return response

    router.add_api_route("/api/v1/{path:path}", forward, methods=_METHODS, include_in_schema=False)
    router.add_api_route(
        "/.well-known/jwks.json", forward, methods=["GET"], include_in_schema=False
    )
    return router


async def _admit(
    token: str | None,
    address: str,
    auth_route: bool,
    *,
    verifier: TokenVerifier,
    limits: RateLimits,
) -> None:
    """Check the caller's token and take from its rate-limit buckets, or raise.

    A signed-in caller costs one Redis round trip for both the revocation mark and
    the buckets (when they live in the same cache). A token that fails its signature
    or claims is refused before the buckets are touched; a revoked one after.
    """
    if not token:
        await limits.check(address=address, user=None, auth_route=auth_route)
        return
    cache = verifier.revocations
    if cache is None or cache is not limits.cache:
        principal = await verifier.verify(token)
        await limits.check(address=address, user=principal.subject, auth_route=auth_route)
        return
    principal = await verifier.verify_unrevoked(token)
    requests = limits.requests(address=address, user=principal.subject, auth_route=auth_route)
    # Without the cache the revocation cannot be checked: CacheUnavailable goes up
    # (503), exactly as it does from ``verify``.
    mark, decisions = await cache.get_and_take_tokens(revocation_key(principal), requests)
    refuse_revoked(mark)
    limits.enforce(decisions)


async def _send(
    client: httpx.AsyncClient, upstream: httpx.Request, service: str, *, budget: RetryBudget
) -> httpx.Response:
    """Send once; retry an idempotent read once when it never reached the service."""
    budget.record_request()
    retryable = upstream.method in _IDEMPOTENT_READS
    while True:
        try:
            answer = await client.send(upstream)
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
        if answer.status_code == 503 and retryable and budget.try_spend():
            retryable = False
            await asyncio.sleep(0.05)
            continue
        return answer
