"""The analytics service: event store, rollups and search (PostgreSQL, Elasticsearch)."""

from auction_platform.core.service import ServiceDefinition
from auction_platform.services.analytics import api, handlers, store

DEFINITION = ServiceDefinition(
    name="analytics",
    uses_database=True,
    uses_broker=True,
    critical=frozenset({"npgsql"}),
    tables=store.TABLES,
    routers=lambda runtime: [api.build_router(runtime.db)] if runtime.db else [],
    consumers=lambda runtime: handlers.CONSUMERS,
)
