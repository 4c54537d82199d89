"""The gateway: routing, token checks, rate limits, live feed, API docs and web UI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.middleware import Middleware

from auction_platform.contracts.routes import DOWNSTREAM
from auction_platform.core.auth import TokenVerifier
from auction_platform.core.cache.base import PlatformCache
from auction_platform.core.http import ServiceClient
from auction_platform.core.service import ServiceDefinition, ServiceRuntime
from auction_platform.services.gateway import api
from auction_platform.services.gateway.docs import build_docs_router
from auction_platform.services.gateway.feed import LiveFeed, feed_hub
from auction_platform.services.gateway.limits import RateLimits, RetryBudget


@dataclass(frozen=True, slots=True)
class Gateway:
    """The gateway's context: whom it forwards to, how it checks and limits callers."""

    cache: PlatformCache
    clients: Mapping[str, ServiceClient]
    verifier: TokenVerifier
    limits: RateLimits
    budget: RetryBudget


def build_context(runtime: ServiceRuntime[Gateway]) -> Gateway:
    """The gateway's context from its runtime (the verifier trusts identity's keys)."""
    assert runtime.verifier is not None and runtime.cache is not None
    return Gateway(
        cache=runtime.cache,
        clients=runtime.clients,
        verifier=runtime.verifier,
        limits=RateLimits(runtime.cache, runtime.settings),
        budget=RetryBudget(),
    )


def _routers(runtime: ServiceRuntime[Gateway]) -> list[APIRouter]:
    gateway = runtime.context
    return [build_docs_router(gateway.clients)]


def _middleware(runtime: ServiceRuntime[Gateway]) -> list[Middleware]:
    gateway = runtime.context
    return [
        Middleware(
            api.GatewayProxy,
            clients=gateway.clients,
            verifier=gateway.verifier,
            limits=gateway.limits,
            budget=gateway.budget,
        )
    ]


def _front(runtime: ServiceRuntime[Gateway]) -> list[Middleware]:
    gateway = runtime.context
    return [Middleware(LiveFeed, hub=feed_hub(gateway.cache, gateway.clients))]


DEFINITION = ServiceDefinition[Gateway](
    name="gateway",
    context=build_context,
    # Redis holds the rate-limit buckets and feeds the token marks; without it the
    # gateway checks tokens against the marks it holds and limits per process, so it
    # is only Degraded.
    uses_cache=True,
    calls=DOWNSTREAM,
    # P0 services in the runbook; without payment, notification or analytics the
    # gateway still serves bidding, so it is Degraded rather than not ready.
    critical=frozenset({"identity", "auction", "bidding"}),
    cors=True,
    probe_readiness_of_calls=True,
    routers=_routers,
    middleware=_middleware,
    front=_front,
)
