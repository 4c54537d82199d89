"""The outbox on real PostgreSQL and RabbitMQ: outages and competing relays."""

from __future__ import annotations

import asyncio
from collections import Counter

from test_outbox_delivery import pending_in_outbox, stored_events

from auction_platform.composition import Platform
from auction_platform.contracts.events import Envelope
from auction_platform.core.broker.rabbitmq import RabbitBroker
from auction_platform.core.outbox import OutboxRelay
from support import queue_sets
from support.platforms import distributed_settings, running
from support.tcp_proxy import TcpProxy
from support.waiting import eventually


async def test_an_event_committed_while_rabbitmq_is_unreachable_is_delivered_once_it_is_back(
    postgres_url: str, redis_url: str, rabbitmq_url: str
) -> None:
    proxy = TcpProxy("127.0.0.1", 5672)
    await proxy.start()
    through_proxy = f"amqp://guest:guest@127.0.0.1:{proxy.port}/?reconnect_interval=0.2"
    settings = distributed_settings(
        postgres_url=postgres_url, redis_url=redis_url, rabbitmq_url=through_proxy
    )
    try:
        async with running(settings, ["auction", "analytics"]) as platform:
            await proxy.cut()
            async with platform.runtimes["auction"].require_uow()() as tx:
                sent = tx.emit("ProbeRecorded", {"during": "outage"})
            await asyncio.sleep(0.5)
            assert await pending_in_outbox(platform, "auction") == 1
            assert await stored_events(platform, "ProbeRecorded") == []

            await proxy.start()
            [row] = await eventually(lambda: stored_events(platform, "ProbeRecorded"), timeout=20)
            assert row["event_id"] == sent.id
            await eventually(lambda: _outbox_is_empty(platform))
    finally:
        await proxy.cut()


async def _outbox_is_empty(platform: Platform) -> bool:
    return await pending_in_outbox(platform, "auction") == 0


async def test_two_relays_on_one_outbox_publish_each_event_exactly_once(
    postgres_url: str, redis_url: str, rabbitmq_url: str
) -> None:
    settings = distributed_settings(
        postgres_url=postgres_url, redis_url=redis_url, rabbitmq_url=rabbitmq_url
    )
    seen: Counter[str] = Counter()

    async def count(envelope: Envelope) -> None:
        seen[envelope.id] += 1

    async with running(settings, ["auction"]) as platform:
        runtime = platform.runtimes["auction"]
        assert runtime.relay is not None
        assert runtime.db is not None
        await runtime.relay.stop()  # two explicit relays below instead
        listener = RabbitBroker(
            rabbitmq_url,
            exchange=settings.rabbitmq_exchange,
            queue_prefix=settings.rabbitmq_queue_prefix,
        )
        await listener.start()
        queue_sets.remember(settings.rabbitmq_queue_prefix, ["listener"])
        try:
            await listener.subscribe("listener", ["auction.#"], count)
            uow = runtime.require_uow()
            for batch in range(20):
                async with uow() as tx:
                    for n in range(10):
                        tx.emit("ProbeRecorded", {"batch": batch, "n": n})
            assert runtime.definition.tables is not None
            relays = [
                OutboxRelay(
                    runtime.definition.tables.outbox, db=runtime.db, broker=broker, batch_size=7
                )
                for broker in (platform.broker, listener)
                if broker is not None
            ]

            async def drain(relay: OutboxRelay) -> int:
                total = 0
                while published := await relay.relay_once():
                    total += published
                return total

            totals = await asyncio.gather(*(drain(r) for r in relays))
            assert sum(totals) == 200
            await eventually(lambda: _count_is(seen, 200))
            assert set(seen.values()) == {1}
        finally:
            await listener.close()


async def _count_is(seen: Counter[str], expected: int) -> bool:
    return len(seen) == expected


async def test_an_event_crosses_from_one_service_process_to_another_over_rabbitmq(
    postgres_url: str, redis_url: str, rabbitmq_url: str
) -> None:
    settings = distributed_settings(
        postgres_url=postgres_url, redis_url=redis_url, rabbitmq_url=rabbitmq_url
    )
    # Two platforms, each with its own connections: the producer and the consumer
    # share nothing but RabbitMQ (and, here, one PostgreSQL database).
    async with (
        running(settings, ["analytics"]) as consumer,
        running(settings, ["auction"]) as producer,
    ):
        assert producer.broker is not consumer.broker
        async with producer.runtimes["auction"].require_uow()() as tx:
            sent = tx.emit("ProbeRecorded", {"from": "auction"})
        [row] = await eventually(lambda: stored_events(consumer, "ProbeRecorded"))
    assert row["event_id"] == sent.id
