"""The closer benchmark's consumer: when each ``AuctionClosed`` reaches RabbitMQ's far side.

An exclusive queue of its own, bound to ``bidding.AuctionClosed`` on the run's exchange
(it goes when the connection closes), notes the host's wall clock at each delivery:
the lateness a consumer of the event sees, beside what the platform recorded.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import aio_pika
from _harness import RABBITMQ_URL

ROUTING_KEY = "bidding.AuctionClosed"


class ClosedArrivals:
    """Deliveries of ``AuctionClosed`` by auction: the first arrival and how many came."""

    def __init__(self) -> None:
        self.times: dict[str, datetime] = {}
        self.deliveries: Counter[str] = Counter()

    @property
    def count(self) -> int:
        return sum(self.deliveries.values())

    async def __call__(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        arrived = datetime.now(UTC)
        auction_id = str(json.loads(message.body)["data"]["auction_id"])
        self.deliveries[auction_id] += 1
        self.times.setdefault(auction_id, arrived)


@asynccontextmanager
async def receiving(name: str) -> AsyncIterator[ClosedArrivals]:
    """Consume the run's ``AuctionClosed`` events while the block runs."""
    arrivals = ClosedArrivals()
    connection = await aio_pika.connect(RABBITMQ_URL, timeout=10)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            f"{name}.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(f"{name}.closer-benchmark", exclusive=True)
        await queue.bind(exchange, routing_key=ROUTING_KEY)
        await queue.consume(arrivals, no_ack=True)
        yield arrivals
    finally:
        await connection.close()
