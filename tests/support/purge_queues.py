"""Delete the RabbitMQ queues named on standard input (leftovers of interrupted test runs)."""

from __future__ import annotations

import asyncio
import os
import sys

import aio_pika

RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


async def purge(names: list[str]) -> int:
    """Delete each named queue; the number deleted."""
    connection = await asyncio.wait_for(aio_pika.connect(RABBITMQ_URL), 10)
    deleted = 0
    async with connection:
        channel = await connection.channel()
        for name in names:
            await channel.queue_delete(name)
            deleted += 1
    return deleted


if __name__ == "__main__":
    wanted = [line.strip() for line in sys.stdin if line.strip()]
    if wanted:
        print(f"deleted {asyncio.run(purge(wanted))} leftover test queues")
