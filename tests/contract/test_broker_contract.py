"""The broker contract: every backend behaves the same to publishers and subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone

import pytest

from auction_platform.contracts.events import Envelope
from auction_platform.core.broker import build_broker
from auction_platform.core.broker.base import Broker, BrokerUnavailable
from auction_platform.core.broker.rabbitmq import RabbitBroker
from support.servers import unique_name

MAX_RETRIES = 2
PATIENCE = 30.0  # how long a delivery may take on a loaded machine
# Every queue a test subscribes; the RabbitMQ fixture deletes them all afterwards.
QUEUES = ("orders", "audit", "stars", "hashes", "suffix", "exact", "late")
DONE = Envelope(type="Done", producer="test", data={})


@pytest.fixture(params=["memory", "rabbitmq"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    """A started broker of each backend, with ``max_retries=2`` and a short retry delay."""
    if request.param == "memory":
        memory = build_broker("memory://", max_retries=MAX_RETRIES, retry_delay=0.0)
        await memory.start()
        yield memory
        await memory.close()
        return
    rabbitmq_url: str = request.getfixturevalue("rabbitmq_url")
    rabbit = build_broker(
        rabbitmq_url,
        exchange=unique_name("events"),
        queue_prefix=unique_name("t") + ".",
        max_retries=MAX_RETRIES,
        retry_delay=0.05,
    )
    assert isinstance(rabbit, RabbitBroker)
    await rabbit.start()
    yield rabbit
    await rabbit.close()
    await rabbit.delete_topology(QUEUES)


def event(type: str = "BidPlaced", producer: str = "bidding", **data: object) -> Envelope:
    """An envelope with routing key ``<producer>.<type>``."""
    return Envelope(type=type, producer=producer, data=dict(data))


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds, failing after ``PATIENCE`` seconds."""
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition still false after {PATIENCE} s")
        await asyncio.sleep(0.01)


class Inbox:
    """A handler that records every envelope it is given."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.received: list[Envelope] = []
        self.delay = delay

    async def __call__(self, envelope: Envelope) -> None:
        await asyncio.sleep(self.delay)
        self.received.append(envelope)

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.received if e.id != DONE.id]

    async def wait_for(self, count: int) -> None:
        await eventually(lambda: len(self.received) >= count)

    async def wait_for_event(self, envelope: Envelope) -> None:
        await eventually(lambda: envelope in self.received)


async def test_published_event_reaches_a_matching_subscriber(broker: Broker) -> None:
    inbox = Inbox()
    await broker.subscribe("orders", ["bidding.BidPlaced"], inbox)

    placed = event(lot="L-1")
    await broker.publish([placed])

    await inbox.wait_for(1)
    assert inbox.received == [placed]


async def test_topic_patterns_select_by_routing_key(broker: Broker) -> None:
    inboxes = {
        "stars": ("bidding.*", Inbox()),
        "hashes": ("bidding.#", Inbox()),
        "suffix": ("#.BidPlaced", Inbox()),
        "exact": ("bidding.BidPlaced.#", Inbox()),
    }
    for queue, (pattern, inbox) in inboxes.items():
        # prefetch=1 keeps each queue in order, so DONE arrives last.
        await broker.subscribe(queue, [pattern, DONE.routing_key], inbox, prefetch=1)

    placed = event("BidPlaced", "bidding")
    regional = event("BidPlaced", "bidding.eu")
    retracted = event("BidRetracted", "bidding")
    listed = event("ItemListed", "catalog")
    await broker.publish([placed, regional, retracted, listed])
    await broker.publish([DONE])
    for _, inbox in inboxes.values():
        await inbox.wait_for_event(DONE)

    def got(queue: str) -> set[str]:
        return set(inboxes[queue][1].ids)

    assert got("stars") == {placed.id, retracted.id}, "* is exactly one word"
    assert got("hashes") == {placed.id, regional.id, retracted.id}, "# is any number of words"
    assert got("suffix") == {placed.id, regional.id}
    assert got("exact") == {placed.id}, "# also matches zero words"


async def test_two_queues_each_get_a_copy(broker: Broker) -> None:
    orders, audit = Inbox(), Inbox()
    await broker.subscribe("orders", ["bidding.*"], orders)
    await broker.subscribe("audit", ["#"], audit)

    placed = event()
    await broker.publish([placed])

    await orders.wait_for(1)
    await audit.wait_for(1)
    assert orders.received == [placed]
    assert audit.received == [placed]


async def test_competing_consumers_on_one_queue_share_the_work(broker: Broker) -> None:
    first, second = Inbox(delay=0.01), Inbox(delay=0.01)
    await broker.subscribe("orders", ["bidding.*"], first, prefetch=1)
    await broker.subscribe("orders", ["bidding.*"], second, prefetch=1)

    published = [event(n=n) for n in range(10)]
    await broker.publish(published)

    await eventually(lambda: len(first.received) + len(second.received) >= len(published))
    handled = first.ids + second.ids
    assert sorted(handled) == sorted(e.id for e in published), "each message handled once"
    assert first.received, "both consumers take part"
    assert second.received, "both consumers take part"


async def test_failing_handler_is_retried_then_succeeds(broker: Broker) -> None:
    attempts: list[Envelope] = []
    done = Inbox()

    async def flaky(envelope: Envelope) -> None:
        attempts.append(envelope)
        if len(attempts) == 1:
            raise RuntimeError("transient failure")
        await done(envelope)

    await broker.subscribe("orders", ["bidding.*"], flaky)
    placed = event()
    await broker.publish([placed])

    await done.wait_for(1)
    assert attempts == [placed, placed]
    assert done.received == [placed]
    assert await broker.take_dead_letters("orders") == []


async def test_poison_message_goes_to_dead_letter_queue_after_bounded_retries(
    broker: Broker,
) -> None:
    attempts: list[Envelope] = []

    async def always_fails(envelope: Envelope) -> None:
        attempts.append(envelope)
        raise RuntimeError("poison")

    await broker.subscribe("orders", ["bidding.*"], always_fails)
    poison = event()
    await broker.publish([poison])

    dead: list[Envelope] = []

    async def collect() -> None:
        while not dead:
            dead.extend(await broker.take_dead_letters("orders"))
            await asyncio.sleep(0.02)

    await asyncio.wait_for(collect(), PATIENCE)
    assert dead == [poison]
    assert len(attempts) == 1 + MAX_RETRIES
    assert await broker.take_dead_letters("orders") == [], "taking removes them"


async def test_envelope_round_trips_every_field(broker: Broker) -> None:
    inbox = Inbox()
    await broker.subscribe("orders", ["bidding.*"], inbox)
    sent = Envelope(
        type="BidPlaced",
        producer="bidding",
        data={
            "lot": "L-1",
            "amount": {"currency": "EUR", "minor": 123_456},
            "bidders": ["zoë", "李"],
            "ratio": 0.25,
            "reserve_met": True,
            "note": None,
        },
        version=3,
        id="evt-0001",
        occurred_at=datetime(2031, 5, 6, 7, 8, 9, 123_456, tzinfo=timezone(timedelta(hours=2))),
        correlation_id="req-42",
    )
    await broker.publish([sent])

    await inbox.wait_for(1)
    (received,) = inbox.received
    assert received == sent
    assert received.occurred_at.utcoffset() == timedelta(hours=2)


async def test_events_published_before_any_subscription_are_not_kept(broker: Broker) -> None:
    early, late = event(n="early"), event(n="late")
    await broker.publish([early])

    inbox = Inbox()
    await broker.subscribe("orders", ["bidding.*"], inbox)
    await broker.publish([late])

    await inbox.wait_for(1)
    assert inbox.received == [late]


async def test_close_lets_an_in_flight_handler_finish(broker: Broker) -> None:
    started, finished = asyncio.Event(), asyncio.Event()

    async def slow(envelope: Envelope) -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.set()

    await broker.subscribe("orders", ["bidding.*"], slow)
    await broker.publish([event()])
    await asyncio.wait_for(started.wait(), PATIENCE)

    await broker.close()
    assert finished.is_set()


async def test_ping_succeeds_while_running_and_fails_after_close(broker: Broker) -> None:
    await broker.ping()
    await broker.close()
    with pytest.raises(BrokerUnavailable):
        await broker.ping()


async def test_publish_to_a_closed_broker_raises_broker_unavailable(broker: Broker) -> None:
    await broker.close()
    with pytest.raises(BrokerUnavailable):
        await broker.publish([event()])


def test_an_unknown_broker_url_scheme_is_rejected() -> None:
    with pytest.raises(ValueError, match="memory://, amqp:// or amqps://"):
        build_broker("kafka://localhost:9092")


async def test_a_declared_queue_keeps_events_until_its_consumer_starts(broker: Broker) -> None:
    await broker.declare("late", ["auction.*"])
    early = event(type="ProbeRecorded", producer="auction", n=1)
    await broker.publish([early])
    inbox = Inbox()
    await broker.subscribe("late", ["auction.*"], inbox)
    await inbox.wait_for(1)
    assert inbox.received == [early]
