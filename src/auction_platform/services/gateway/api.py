"""The gateway's proxy: forwards ``/api/v1/...`` to the owning service."""

from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Request, Response

from auction_platform.core.errors import ApiError
from auction_platform.services.gateway.routing import owner_of

log = logging.getLogger("auction_platform.gateway")

# Hop-by-hop headers (RFC 9110 section 7.6.1) never cross a proxy.
_HOP_BY_HOP = frozenset(
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
    }
)
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


# Set again by the gateway's own middleware on the way out.
_OWN_HEADERS = frozenset(
    {"x-request-id", "x-content-type-options", "x-frame-options", "referrer-policy"}
)


def build_router(clients: dict[str, httpx.AsyncClient]) -> APIRouter:
    """The catch-all route under ``/api/v1``."""
    router = APIRouter()

    @router.api_route("/api/v1/{path:path}", methods=_METHODS, include_in_schema=False)
    async def proxy(request: Request, path: str) -> Response:
        service = owner_of(request.url.path)
        if service is None:
            raise ApiError(404, "not_found", f"no route for {request.method} {request.url.path}")
        client = clients[service]
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        headers.append(("x-forwarded-for", request.client.host if request.client else ""))
        upstream = client.build_request(
            request.method,
            request.url.path,
            params=request.url.query,
            headers=headers,
            content=await request.body(),
        )
        try:
            answer = await client.send(upstream)
        except httpx.TimeoutException as exc:
            log.warning("%s timed out: %s", service, exc)
            raise ApiError(
                504, "gateway_timeout", f"the {service} service did not answer in time"
            ) from exc
        except httpx.ConnectError as exc:
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
        response = Response(content=answer.content, status_code=answer.status_code)
        response.raw_headers.extend(
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.headers.multi_items()
            if k.lower() not in _HOP_BY_HOP and k.lower() not in _OWN_HEADERS
        )
        return response

    return router
