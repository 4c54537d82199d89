"""The identity service: accounts, roles, tokens and sessions (PostgreSQL, Redis)."""

from auction_platform.core.service import ServiceDefinition
from auction_platform.services.identity import store

DEFINITION = ServiceDefinition(
    name="identity",
    uses_database=True,
    uses_cache=True,
    # Account events (welcome mail) leave through the outbox, which keeps them
    # while RabbitMQ is away; revocations and throttles need Redis, so the
    # service is not ready without it.
    uses_broker=True,
    critical=frozenset({"npgsql", "redis"}),
    tables=store.TABLES,
)
