"""The gateway: routing, token checks, rate limits, live feed and web UI (all services)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.middleware import Middleware

from auction_platform.contracts.routes import DOWNSTREAM
from auction_platform.core.service import ServiceDefinition, ServiceRuntime
from auction_platform.services.gateway import api
from auction_platform.services.gateway.feed import build_feed_router
from auction_platform.services.gateway.limits import RateLimits, RetryBudget


def _routers(runtime: ServiceRuntime) -> list[APIRouter]:
    assert runtime.cache is not None
    return [build_feed_router(runtime.cache, runtime.clients)]


def _middleware(runtime: ServiceRuntime) -> list[Middleware]:
    assert runtime.verifier is not None and runtime.cache is not None
    return [
        Middleware(
            api.GatewayProxy,
            clients=runtime.clients,
            verifier=runtime.verifier,
            limits=RateLimits(runtime.cache, runtime.settings),
            budget=RetryBudget(),
        )
    ]


DEFINITION = ServiceDefinition(
    name="gateway",
    # Redis holds the rate-limit buckets; without it the gateway lets traffic
    # through unlimited rather than refusing it, so it is only Degraded.
    uses_cache=True,
    calls=DOWNSTREAM,
    # P0 services in the runbook; without payment, notification or analytics the
    # gateway still serves bidding, so it is Degraded rather than not ready.
    critical=frozenset({"identity", "auction", "bidding"}),
    cors=True,
    probe_readiness_of_calls=True,
    routers=_routers,
    middleware=_middleware,
)
