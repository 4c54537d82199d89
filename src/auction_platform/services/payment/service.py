"""The payment service: orders, Stripe, webhooks and refunds (PostgreSQL, Stripe, RabbitMQ)."""

from auction_platform.core.service import ServiceDefinition
from auction_platform.services.payment import store

DEFINITION = ServiceDefinition(
    name="payment",
    uses_database=True,
    uses_broker=True,
    critical=frozenset({"npgsql"}),
    tables=store.TABLES,
)
