"""The gateway: routing, token checks, rate limits, live feed and web UI (all services)."""

from auction_platform.core.service import ServiceDefinition
from auction_platform.services.gateway import api
from auction_platform.services.gateway.routing import DOWNSTREAM

DEFINITION = ServiceDefinition(
    name="gateway",
    calls=DOWNSTREAM,
    # P0 services in the runbook; without payment, notification or analytics the
    # gateway still serves bidding, so it is Degraded rather than not ready.
    critical=frozenset({"identity", "auction", "bidding"}),
    routers=lambda runtime: [api.build_router(runtime.clients)],
)
