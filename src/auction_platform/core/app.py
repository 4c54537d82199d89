"""The one factory every service's FastAPI app is built by."""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware import Middleware
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from auction_platform.core.auth import CurrentUser, Principal
from auction_platform.core.errors import install_error_handlers
from auction_platform.core.health import health_router
from auction_platform.core.inputs import RefuseNul
from auction_platform.core.lean import LeanRoute, LeanRoutes
from auction_platform.core.middleware import RequestMiddleware
from auction_platform.core.net import InternalNetworks, internal_only
from auction_platform.core.openapi import API_DOCS, install_openapi
from auction_platform.core.service import ServiceRuntime, dependency_checks

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    runtime: ServiceRuntime[Any],
    *,
    lifespan: Lifespan | None = None,
    metrics_route: bool = True,
    trusted_proxies: Sequence[str] | None = None,
) -> FastAPI:
    """A service's app: its routes, health, metrics, error shape and middleware.

    ``trusted_proxies`` (by default ``TRUSTED_PROXIES``) are the peers whose
    ``X-Forwarded-For`` names the client (``core.net``). ``/metrics`` and
    ``/health/detail`` answer only loopback and ``INTERNAL_NETWORKS``.
    """
    app = FastAPI(
        **_without_telemetry(),
        title=f"Auction platform: {runtime.name}",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=f"/api/v1/{runtime.name}/openapi.json",
        # FastAPI's page loads Swagger UI from a CDN: the gateway serves it instead,
        # vendored, for the whole API at /api/docs (see services/gateway/docs.py).
        docs_url=None,
        redoc_url=None,
        # No redirect to the path with or without its trailing slash: built from the
        # Host this service saw, it named the service's internal address to a client
        # behind the gateway. Such a path is a 404 like any other unknown path.
        redirect_slashes=False,
    )
    app.state.runtime = runtime
    install_openapi(app)

    @app.get(f"/api/v1/{runtime.name}/docs", include_in_schema=False)
    async def docs() -> RedirectResponse:
        return RedirectResponse(API_DOCS, status_code=307)

    install_error_handlers(app, runtime.definition.errors)
    internal = Depends(internal_only(InternalNetworks(runtime.settings.internal_networks)))
    app.include_router(
        health_router(
            lambda: dependency_checks(runtime),
            timeout=runtime.settings.dependency_timeout,
            draining=lambda: runtime.draining,
            detail_dependencies=[internal],
        )
    )
    if metrics_route:

        @app.get("/metrics", include_in_schema=False, dependencies=[internal])
        async def metrics() -> Response:
            return Response(
                runtime.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
            )

    for router in runtime.definition.routers(runtime):
        app.include_router(router)
    if runtime.settings.diagnostics:
        app.include_router(diagnostics_router())
        if runtime.verifier is not None:
            # The no-op takes the lean path too: it measures the stack bids take.
            app.add_middleware(LeanRoutes, routes=[lean_noop_route()], verifier=runtime.verifier)
    # Added first, so innermost: behind CORS and the request middleware.
    for layer in runtime.definition.middleware(runtime):
        app.add_middleware(layer.cls, *layer.args, **layer.kwargs)
    if runtime.definition.cors and runtime.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=runtime.settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(RefuseNul)
    app.add_middleware(
        RequestMiddleware,
        service=runtime.name,
        metrics=runtime.metrics,
        max_body_bytes=runtime.settings.max_body_bytes,
        max_upload_bytes=runtime.settings.photo_max_bytes + 64 * 1024,
    )
    if trusted_proxies is None:
        trusted_proxies = runtime.settings.trusted_proxies
    if trusted_proxies:
        # Outermost: every layer, the gateway's limits included, sees the resolved client.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))
    _put_in_front(app, runtime.definition.front(runtime))
    return app


def _put_in_front(app: FastAPI, layers: Sequence[Middleware]) -> None:
    """Wrap the app's whole stack (built when the first request comes) in ``layers``."""
    if not layers:
        return
    build = app.build_middleware_stack

    def build_with_front() -> ASGIApp:
        stack = build()
        for layer in reversed(layers):
            stack = layer.cls(stack, *layer.args, **layer.kwargs)
        return stack

    app.build_middleware_stack = build_with_front  # type: ignore[method-assign]


def _without_telemetry() -> dict[str, Any]:
    """FastAPI's own OpenTelemetry hooks off: the platform measures with Prometheus.

    Left on, FastAPI asks on every request whether a provider is configured.
    """
    if "telemetry" not in inspect.signature(FastAPI).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}


class _NoopBody(BaseModel):
    """A small JSON object with one number, parsed and checked as a command's body is."""

    model_config = ConfigDict(extra="forbid")
    value: int = Field(gt=0)


def diagnostics_router() -> APIRouter:
    """``POST /diagnostics/noop``: an authenticated POST that does nothing (benchmarks).

    Its body is ``{"value": <a positive integer>}``: the token check, the parsing and
    validation of a small body and the response are all it costs, on any service.
    """
    router = APIRouter(include_in_schema=False)

    @router.post("/diagnostics/noop")
    async def noop(body: _NoopBody, user: CurrentUser) -> dict[str, Any]:
        return {"ok": True, "user": user.subject, "value": body.value}

    return router


def lean_noop_route() -> LeanRoute:
    """``POST /diagnostics/noop`` on the lean path (see ``core.lean``)."""

    async def noop(
        params: dict[str, str], user: Principal, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any]:
        return 200, {"ok": True, "user": user.subject, "value": body.value}

    return LeanRoute(
        path="/diagnostics/noop",
        pattern=re.compile(r"^/diagnostics/noop$"),
        body=_NoopBody,
        handle=noop,
    )


def lifespan_of(start: Callable[[], Any], stop: Callable[[], Any]) -> Lifespan:
    """A lifespan that awaits ``start`` before serving and ``stop`` after."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await start()
        try:
            yield
        finally:
            await stop()

    return lifespan
