"""The bidding service: the bid book (PostgreSQL, Redis, RabbitMQ, auction)."""

from auction_platform.core.service import ServiceDefinition
from auction_platform.services.bidding import store

DEFINITION = ServiceDefinition(
    name="bidding",
    uses_database=True,
    uses_cache=True,
    uses_broker=True,
    calls=("auction",),
    critical=frozenset({"npgsql"}),
    tables=store.TABLES,
)
