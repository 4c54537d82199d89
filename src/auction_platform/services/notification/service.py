"""The notification service: stateless consumers sending email and SMS (RabbitMQ)."""

from auction_platform.core.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="notification",
    uses_broker=True,
    critical=frozenset({"rabbitmq"}),
)
