"""The tests' own RabbitMQ queues: one set per test process, kept, emptied between tests.

A fresh set of quorum queues for every test (about a thousand a run) left the test
broker unable to finish a handshake; ``support.queue_sets`` is what replaced it.
"""

from __future__ import annotations

import aio_pika
from sqlalchemy import select

from auction_platform.composition import Platform
from auction_platform.contracts.events import Envelope
from auction_platform.core.broker.rabbitmq import RabbitBroker
from auction_platform.services.analytics.store import events as event_store
from auction_platform.settings import Settings
from support import queue_sets
from support.platforms import distributed_settings, running
from support.waiting import eventually

QUEUE = "analytics.event-store"


def test_every_distributed_platform_of_a_process_shares_one_exchange_and_queue_set() -> None:
    servers = {"postgres_url": "postgresql+asyncpg://x/a", "redis_url": "memory://"}
    first = distributed_settings(**servers, rabbitmq_url="amqp://127.0.0.1/")
    second = distributed_settings(**servers, rabbitmq_url="amqp://127.0.0.1/")
    assert first.rabbitmq_exchange == second.rabbitmq_exchange == queue_sets.EXCHANGE
    assert first.rabbitmq_queue_prefix == second.rabbitmq_queue_prefix
    # A queue's delivery limit is fixed at its creation: another limit, another set.
    strict = distributed_settings(**servers, rabbitmq_url="amqp://127.0.0.1/", broker_max_retries=1)
    assert strict.rabbitmq_queue_prefix != first.rabbitmq_queue_prefix
    assert strict.rabbitmq_exchange == first.rabbitmq_exchange
    assert queue_sets.child_environ() == {
        "RABBITMQ_EXCHANGE": first.rabbitmq_exchange,
        "RABBITMQ_QUEUE_PREFIX": first.rabbitmq_queue_prefix,
    }


async def _waiting(url: str, queue: str) -> int:
    """How many messages wait in ``queue`` (which must exist)."""
    async with await aio_pika.connect(url) as connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0


async def _stored_ids(platform: Platform) -> set[str]:
    db = platform.runtimes["analytics"].db
    assert db is not None
    async with db.read() as conn:
        return set((await conn.execute(select(event_store.c.event_id))).scalars())


async def _leave_behind(settings: Settings, envelope: Envelope) -> None:
    """What a test may end with: an event queued for a stopped consumer, a dead letter."""
    broker = RabbitBroker(
        settings.rabbitmq_url,
        exchange=settings.rabbitmq_exchange,
        queue_prefix=settings.rabbitmq_queue_prefix,
    )
    await broker.start()
    try:
        await broker.publish([envelope])
    finally:
        await broker.close()
    async with await aio_pika.connect(settings.rabbitmq_url) as connection:
        channel = await connection.channel()
        dead = aio_pika.Message(envelope.to_json())
        name = f"{settings.rabbitmq_queue_prefix}{QUEUE}.dlq"
        await channel.default_exchange.publish(dead, routing_key=name)


async def test_a_platforms_queues_outlive_it_and_are_emptied_before_the_next_test(
    postgres_url: str, redis_url: str, rabbitmq_url: str
) -> None:
    settings = distributed_settings(
        postgres_url=postgres_url, redis_url=redis_url, rabbitmq_url=rabbitmq_url
    )
    async with running(settings, ["analytics"]):
        pass
    queue = settings.rabbitmq_queue_prefix + QUEUE
    left = Envelope(type="ProbeRecorded", producer="auction", data={"left": "behind"})
    await _leave_behind(settings, left)
    assert await _waiting(rabbitmq_url, queue) == 1
    assert await _waiting(rabbitmq_url, f"{queue}.dlq") == 1

    queue_sets.empty(rabbitmq_url)  # what the fixture does between two tests

    assert await _waiting(rabbitmq_url, queue) == 0
    assert await _waiting(rabbitmq_url, f"{queue}.dlq") == 0
    async with running(settings, ["analytics"]) as platform:
        assert platform.broker is not None
        marker = Envelope(type="ProbeRecorded", producer="auction", data={"left": "no"})
        await platform.broker.publish([marker])

        async def marker_stored() -> bool:
            return marker.id in await _stored_ids(platform)

        await eventually(marker_stored)
        assert left.id not in await _stored_ids(platform)
