"""Messaging: the broker interface and its in-process and RabbitMQ backends."""

from __future__ import annotations

from urllib.parse import urlsplit

from auction_platform.core.broker.base import Broker


def build_broker(
    url: str,
    *,
    exchange: str = "auction.events",
    queue_prefix: str = "",
    max_retries: int = 5,
    retry_delay: float = 0.5,
) -> Broker:
    """The broker for ``url``: ``memory://`` in process, ``amqp://`` or ``amqps://`` RabbitMQ."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        from auction_platform.core.broker.memory import MemoryBroker

        return MemoryBroker(max_retries=max_retries, retry_delay=retry_delay)
    if scheme in ("amqp", "amqps"):
        from auction_platform.core.broker.rabbitmq import RabbitBroker

        return RabbitBroker(
            url,
            exchange=exchange,
            queue_prefix=queue_prefix,
            max_retries=max_retries,
            retry_delay=retry_delay,
        )
    raise ValueError(
        f"unsupported broker URL scheme {scheme!r}: use memory://, amqp:// or amqps://"
    )
