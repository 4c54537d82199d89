"""Messaging: the broker interface and its in-process and RabbitMQ backends."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from auction_platform.core.broker.base import Broker

if TYPE_CHECKING:
    from auction_platform.core.broker.pause import Backoff


def build_broker(
    url: str,
    *,
    exchange: str = "auction.events",
    queue_prefix: str = "",
    max_retries: int = 5,
    retry_delay: float = 0.5,
    outage_backoff: Backoff | None = None,
) -> Broker:
    """The broker for ``url``: ``memory://`` in process, ``amqp://`` or ``amqps://`` RabbitMQ.

    ``outage_backoff``: how a consumer waits for a dependency that is down
    (``core.broker.pause``; 0.5 s doubling to 30 s by default).
    """
    from auction_platform.core.broker.pause import OUTAGE_BACKOFF

    backoff = outage_backoff or OUTAGE_BACKOFF
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        from auction_platform.core.broker.memory import MemoryBroker

        return MemoryBroker(
            max_retries=max_retries, retry_delay=retry_delay, outage_backoff=backoff
        )
    if scheme in ("amqp", "amqps"):
        from auction_platform.core.broker.rabbitmq import RabbitBroker

        return RabbitBroker(
            url,
            exchange=exchange,
            queue_prefix=queue_prefix,
            max_retries=max_retries,
            retry_delay=retry_delay,
            outage_backoff=backoff,
        )
    raise ValueError(
        f"unsupported broker URL scheme {scheme!r}: use memory://, amqp:// or amqps://"
    )
