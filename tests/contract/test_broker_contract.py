"""The broker contract: every backend behaves the same to publishers and subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from auction_platform.contracts.events import Envelope
from auction_platform.core.broker import build_broker
from auction_platform.core.broker.base import Broker, BrokerUnavailable, NoSuchQueue
from auction_platform.core.broker.pause import Backoff
from auction_platform.core.broker.rabbitmq import RabbitBroker
from auction_platform.core.cache.base import CacheUnavailable
from support.servers import unique_name

MAX_RETRIES = 2
# How long a queue waits for a dependency that is down: short, so a test sees many tries.
OUTAGE_BACKOFF = Backoff(first=0.01, cap=0.05)
PATIENCE = 30.0  # how long a delivery may take on a loaded machine
# Every queue a test subscribes; the RabbitMQ fixture deletes them all afterwards.
QUEUES = ("orders", "audit", "stars", "hashes", "suffix", "exact", "late")
DONE = Envelope(type="Done", producer="test", data={})


@pytest.fixture(params=["memory", "rabbitmq"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    """A started broker of each backend, with ``max_retries=2`` and short delays."""
    if request.param == "memory":
        memory = build_broker(
            "memory://", max_retries=MAX_RETRIES, retry_delay=0.0, outage_backoff=OUTAGE_BACKOFF
        )
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
        outage_backoff=OUTAGE_BACKOFF,
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


async def test_a_binding_added_later_gets_the_next_events_of_a_key_already_routed(
    broker: Broker,
) -> None:
    orders, audit = Inbox(), Inbox()
    await broker.subscribe("orders", ["bidding.*"], orders, prefetch=1)
    first = event(lot="L-1")
    await broker.publish([first])
    await orders.wait_for(1)
    # A new queue, and a new pattern on a queue that already had one.
    await broker.subscribe("audit", ["catalog.*"], audit, prefetch=1)
    await broker.declare("audit", ["bidding.BidPlaced"])
    second = event(lot="L-2")
    await broker.publish([second])
    await audit.wait_for_event(second)
    await orders.wait_for_event(second)
    assert audit.received == [second]
    assert orders.received == [first, second]


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


class Outage:
    """A handler whose dependency is down for its first ``tries`` calls (or until restored)."""

    def __init__(self, *, tries: int | None = None, error: Exception | None = None) -> None:
        self.tries = tries
        self.down = tries is None
        self.error = error or ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        self.attempts: list[Envelope] = []
        self.handled = Inbox()

    async def __call__(self, envelope: Envelope) -> None:
        self.attempts.append(envelope)
        if self.down or (self.tries is not None and len(self.attempts) <= self.tries):
            raise self.error
        await self.handled(envelope)

    def tries_of(self, envelope: Envelope) -> int:
        return sum(1 for attempt in self.attempts if attempt.id == envelope.id)


async def dead_letter_count(broker: Broker, queue: str = "orders") -> int:
    return (await broker.list_dead_letters(queue)).count


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        CacheUnavailable("Redis at 127.0.0.1:6379: connection refused"),
    ],
    ids=["database-refused", "cache-down"],
)
async def test_a_dependency_down_longer_than_the_retry_budget_is_waited_out(
    broker: Broker, error: Exception
) -> None:
    # Four times the budget in failed tries: an outage, not a poison message.
    outage = Outage(tries=4 * (1 + MAX_RETRIES), error=error)
    await broker.subscribe("orders", ["bidding.*"], outage)
    placed = event()
    await broker.publish([placed])

    await outage.handled.wait_for(1)
    assert outage.handled.received == [placed]
    assert outage.tries_of(placed) == 4 * (1 + MAX_RETRIES) + 1
    assert await dead_letter_count(broker) == 0


async def test_a_paused_queue_takes_no_new_delivery_until_its_dependency_is_back(
    broker: Broker,
) -> None:
    outage = Outage()
    await broker.subscribe("orders", ["bidding.*"], outage)
    first, second = event(n=1), event(n=2)
    await broker.publish([first])
    await eventually(lambda: outage.tries_of(first) >= 2)
    assert broker.pauses()["orders"] is not None, "paused while the dependency is down"

    await broker.publish([second])
    await eventually(lambda: outage.tries_of(first) >= 2 + 4)
    assert outage.tries_of(second) == 0, "a paused queue does not spin through its messages"

    outage.down = False
    await outage.handled.wait_for(2)
    assert sorted(outage.handled.ids) == sorted([first.id, second.id])
    assert broker.pauses()["orders"] is None, "flowing again"
    assert await dead_letter_count(broker) == 0


async def test_tries_during_an_outage_do_not_spend_the_retry_budget(broker: Broker) -> None:
    attempts: list[str] = []

    async def down_then_poison(envelope: Envelope) -> None:
        attempts.append(envelope.id)
        if len(attempts) <= 5:
            raise CacheUnavailable("Redis is down")
        raise ValueError("no such lot: L-404")

    await broker.subscribe("orders", ["bidding.*"], down_then_poison)
    poison = event()
    await broker.publish([poison])

    await eventually_async(lambda: dead_letter_count(broker), 1)
    assert len(attempts) == 5 + 1 + MAX_RETRIES, "only failures of the event's own count"


async def eventually_async(count: Callable[[], Awaitable[int]], expected: int) -> None:
    """Wait until ``await count()`` is ``expected``, failing after ``PATIENCE`` seconds."""
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while (got := await count()) != expected:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{got} != {expected} after {PATIENCE} s")
        await asyncio.sleep(0.02)


async def test_dead_letters_are_listed_with_their_failure_and_left_in_place(
    broker: Broker,
) -> None:
    async def always_fails(envelope: Envelope) -> None:
        raise RuntimeError(f"poison {envelope.data['n']}")

    await broker.subscribe("orders", ["bidding.*"], always_fails)
    poison = event(n=7)
    before = datetime.now(UTC) - timedelta(seconds=5)  # servers stamp whole seconds
    await broker.publish([poison])
    await eventually_async(lambda: dead_letter_count(broker), 1)

    for _ in range(2):  # reading leaves them where they are
        listed = await broker.list_dead_letters("orders")
        assert listed.count == 1
        assert listed.name.endswith("orders.dlq")
        [letter] = listed.letters
        assert (letter.event_type, letter.event_id) == (poison.type, poison.id)
        assert letter.envelope == poison
        assert letter.reason == "RuntimeError: poison 7"
        assert letter.first_dead_lettered_at is not None
        assert before <= letter.first_dead_lettered_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert await broker.take_dead_letters("orders") == [poison]


async def test_replayed_dead_letters_go_back_to_their_queue(broker: Broker) -> None:
    broken = True
    attempts: list[str] = []
    handled = Inbox()

    async def broken_until_fixed(envelope: Envelope) -> None:
        attempts.append(envelope.id)
        if broken:
            raise RuntimeError("a bug, since fixed")
        await handled(envelope)

    await broker.subscribe("orders", ["bidding.*"], broken_until_fixed)
    first, second = event(n=1), event(n=2)
    await broker.publish([first, second])
    await eventually_async(lambda: dead_letter_count(broker), 2)
    failed_at = {
        letter.event_id: letter.first_dead_lettered_at
        for letter in (await broker.list_dead_letters("orders")).letters
    }

    # Replayed before the fix: each fails its whole budget again and is back, still
    # showing when it first failed.
    assert await broker.replay_dead_letters("orders") == 2
    await eventually(lambda: len(attempts) == 2 * 2 * (1 + MAX_RETRIES))
    await eventually_async(lambda: dead_letter_count(broker), 2)
    for letter in (await broker.list_dead_letters("orders")).letters:
        assert letter.first_dead_lettered_at == failed_at[letter.event_id]

    broken = False
    assert await broker.replay_dead_letters("orders", limit=1) == 1
    await handled.wait_for(1)
    assert await dead_letter_count(broker) == 1, "no more than the limit"
    assert await broker.replay_dead_letters("orders") == 1
    await handled.wait_for(2)
    assert sorted(handled.ids) == sorted([first.id, second.id])
    assert await dead_letter_count(broker) == 0
    assert await broker.replay_dead_letters("orders") == 0


async def test_dead_letters_of_a_queue_the_broker_does_not_have(broker: Broker) -> None:
    with pytest.raises(NoSuchQueue):
        await broker.list_dead_letters("never-declared")
    with pytest.raises(NoSuchQueue):
        await broker.replay_dead_letters("never-declared")
    await broker.ping()


async def test_close_releases_deliveries_waiting_for_a_dependency(broker: Broker) -> None:
    outage = Outage()
    await broker.subscribe("orders", ["bidding.*"], outage)
    await broker.publish([event()])
    await eventually(lambda: len(outage.attempts) >= 2)

    await asyncio.wait_for(broker.close(), PATIENCE)
    assert outage.handled.received == []
