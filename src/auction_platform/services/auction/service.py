"""The auction service: catalogue, lifecycle and scheduler (PostgreSQL, Redis, RabbitMQ)."""

from auction_platform.core.service import ServiceDefinition
from auction_platform.services.auction import store

DEFINITION = ServiceDefinition(
    name="auction",
    uses_database=True,
    uses_cache=True,
    uses_broker=True,
    critical=frozenset({"npgsql"}),
    tables=store.TABLES,
)
