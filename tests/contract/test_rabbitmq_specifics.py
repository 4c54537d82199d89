"""What only the RabbitMQ backend has to get right: topology, wire format, failing fast."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
import pytest
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage
from aio_pika.exceptions import ChannelPreconditionFailed

from auction_platform.contracts.events import Envelope
from auction_platform.core.broker.base import BrokerUnavailable
from auction_platform.core.broker.rabbitmq import RabbitBroker
from support.servers import unique_name

UNREACHABLE_URL = "amqp://guest:guest@127.0.0.1:1/"
PATIENCE = 30.0  # how long a delivery may take on a loaded machine


@dataclass
class Setup:
    broker: RabbitBroker
    exchange: str
    prefix: str
    admin: AbstractConnection


@pytest.fixture
async def rabbit(rabbitmq_url: str) -> AsyncIterator[Setup]:
    """A started broker on unique names, plus a plain connection to look at the server."""
    exchange, prefix = unique_name("events"), unique_name("t") + "."
    broker = RabbitBroker(
        rabbitmq_url, exchange=exchange, queue_prefix=prefix, max_retries=2, retry_delay=0.05
    )
    await broker.start()
    admin = await aio_pika.connect(rabbitmq_url)
    yield Setup(broker, exchange, prefix, admin)
    await admin.close()
    await broker.close()
    await broker.delete_topology(["orders"])


async def get_one(setup: Setup, queue: str) -> AbstractIncomingMessage:
    """The first message on ``queue`` (acknowledged), waiting up to ``PATIENCE`` seconds."""
    channel = await setup.admin.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
        deadline = time.monotonic() + PATIENCE
        while (message := await declared.get(fail=False)) is None:
            assert time.monotonic() < deadline, f"nothing arrived on {queue}"
            await asyncio.sleep(0.02)
        await message.ack()
        return message
    finally:
        await channel.close()


async def test_a_body_that_is_not_an_envelope_goes_straight_to_the_dead_letter_queue(
    rabbit: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[Envelope] = []

    async def handler(envelope: Envelope) -> None:
        handled.append(envelope)

    await rabbit.broker.subscribe("orders", ["bidding.*"], handler)
    channel = await rabbit.admin.channel()
    exchange = await channel.get_exchange(rabbit.exchange)
    with caplog.at_level(logging.ERROR, logger="auction_platform.broker"):
        await exchange.publish(aio_pika.Message(b"{not json"), routing_key="bidding.BidPlaced")
        dead = await get_one(rabbit, f"{rabbit.prefix}orders.dlq")
    await channel.close()

    assert dead.body == b"{not json"
    deaths = dead.headers["x-death"]
    assert isinstance(deaths, list)
    assert isinstance(deaths[0], dict)
    assert deaths[0]["reason"] == "rejected", "rejected at once, not retried to the limit"
    assert handled == []
    assert any("consumer" in r.getMessage() for r in caplog.records)


async def test_start_against_an_unreachable_server_fails_fast() -> None:
    broker = RabbitBroker(UNREACHABLE_URL, timeout=2.0)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as raised:
        await broker.start()
    waited = time.monotonic() - started
    assert waited < 20, f"an unreachable server was waited on for {waited:.1f}s (timeout 2 s)"
    assert "127.0.0.1:1" in str(raised.value)
    assert "guest:guest" not in str(raised.value), "no credentials in errors"
    with pytest.raises(BrokerUnavailable):
        await broker.publish([Envelope(type="BidPlaced", producer="bidding", data={})])


async def test_queues_are_durable_quorum_queues(rabbit: Setup) -> None:
    async def noop(envelope: Envelope) -> None:
        pass

    await rabbit.broker.subscribe("orders", ["bidding.*"], noop)

    for name in (f"{rabbit.prefix}orders", f"{rabbit.prefix}orders.dlq"):
        channel = await rabbit.admin.channel()
        await channel.declare_queue(name, passive=True)
        await channel.close()
        # Re-declaring with other properties fails the server's equivalence check,
        # which is how a client can see what a queue was declared as.
        for durable, queue_type in ((True, "classic"), (False, "quorum")):
            channel = await rabbit.admin.channel()
            with pytest.raises(ChannelPreconditionFailed):
                await channel.declare_queue(
                    name, durable=durable, arguments={"x-queue-type": queue_type}
                )


async def test_published_messages_carry_persistent_event_metadata(rabbit: Setup) -> None:
    channel = await rabbit.admin.channel()
    tap = await channel.declare_queue(exclusive=True)
    await tap.bind(rabbit.exchange, routing_key="#")
    sent = Envelope(
        type="BidPlaced",
        producer="bidding",
        data={"lot": "L-1"},
        occurred_at=datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC),
        correlation_id="req-42",
    )
    await rabbit.broker.publish([sent])

    message = await get_one(rabbit, tap.name)
    await channel.close()
    assert message.routing_key == "bidding.BidPlaced"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == sent.id
    assert message.content_type == "application/json"
    assert message.type == "BidPlaced"
    assert message.correlation_id == "req-42"
    assert message.timestamp == sent.occurred_at
    assert Envelope.from_json(message.body) == sent


async def test_take_dead_letters_of_a_queue_never_subscribed_is_empty(rabbit: Setup) -> None:
    assert await rabbit.broker.take_dead_letters("never-subscribed") == []
    await rabbit.broker.ping()


async def test_a_dead_letter_that_is_not_an_envelope_is_listed_and_never_replayed(
    rabbit: Setup,
) -> None:
    async def handler(envelope: Envelope) -> None:
        pass

    await rabbit.broker.subscribe("orders", ["bidding.*"], handler)
    channel = await rabbit.admin.channel()
    exchange = await channel.get_exchange(rabbit.exchange)
    junk = aio_pika.Message(b"{not json", message_id="m-1", type="Junk")
    await exchange.publish(junk, routing_key="bidding.BidPlaced")
    await channel.close()
    deadline = time.monotonic() + PATIENCE
    while (listed := await rabbit.broker.list_dead_letters("orders")).count < 1:
        assert time.monotonic() < deadline, "the junk was not dead-lettered"
        await asyncio.sleep(0.02)

    [letter] = listed.letters
    assert (letter.event_type, letter.event_id, letter.envelope) == ("Junk", "m-1", None)
    assert letter.reason == "not an event envelope"
    assert letter.first_dead_lettered_at is not None, "from RabbitMQ's x-death"
    assert await rabbit.broker.replay_dead_letters("orders") == 0
    assert (await rabbit.broker.list_dead_letters("orders")).count == 1, "left where it was"
