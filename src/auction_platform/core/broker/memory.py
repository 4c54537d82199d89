"""In-process broker for the embedded mode, with the same semantics as RabbitMQ."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache, partial

from auction_platform.contracts.events import Envelope
from auction_platform.core.broker.base import (
    BrokerUnavailable,
    DeadLetter,
    DeadLetterQueue,
    Handler,
    NoSuchQueue,
)
from auction_platform.core.broker.pause import (
    OUTAGE_BACKOFF,
    Backoff,
    ConsumerStopped,
    Pause,
    Pauses,
    describe,
)

log = logging.getLogger("auction_platform.broker")

_CLOSE_GRACE = 5.0


def topic_matches(pattern: str, routing_key: str) -> bool:
    """Whether ``routing_key`` matches the AMQP topic ``pattern`` (``*`` one word, ``#`` any)."""
    return _match(tuple(pattern.split(".")), tuple(routing_key.split(".")))


@lru_cache(maxsize=4096)
def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return head in ("*", words[0]) and _match(rest, words[1:])


@dataclass
class _Delivery:
    envelope: Envelope
    redeliveries: int = 0
    # Kept through a replay, so a letter dead again shows when it first failed.
    first_dead_lettered_at: datetime | None = None


@dataclass
class _Queue:
    name: str
    pause: Pause
    patterns: set[str] = field(default_factory=set)
    inbox: asyncio.Queue[_Delivery] = field(default_factory=asyncio.Queue)
    dead: list[DeadLetter] = field(default_factory=list)

    def matches(self, routing_key: str) -> bool:
        return any(topic_matches(p, routing_key) for p in self.patterns)


class MemoryBroker:
    """Topic publish/subscribe inside one process: asynchronous delivery, retries, dead letters.

    Dead letters live in this process's memory, like its queues: they end with it.
    """

    def __init__(
        self,
        *,
        max_retries: int = 5,
        retry_delay: float = 0.0,
        outage_backoff: Backoff = OUTAGE_BACKOFF,
    ) -> None:
        self._max_retries = max_retries
        self._retry_delay = retry_delay
        self._pauses = Pauses(outage_backoff)
        self._queues: dict[str, _Queue] = {}
        # The queues each routing key goes to, worked out once per key (a handful of
        # event types) until a queue or a binding is added.
        self._routes: dict[str, list[_Queue]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._started = False
        self._closed = False

    async def start(self) -> None:
        """Make the broker ready to publish and subscribe."""
        if self._closed:
            raise BrokerUnavailable("memory broker is closed")
        self._started = True

    async def close(self) -> None:
        """Let in-flight handlers finish (bounded), then stop every consumer."""
        if self._closed:
            return
        self._closed = True
        self._pauses.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), _CLOSE_GRACE)
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()

    async def ping(self) -> None:
        """Succeed while the broker is running."""
        self._ensure_running()

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Enqueue each envelope on every queue bound to a matching pattern."""
        self._ensure_running()
        # Serialise up front: a payload RabbitMQ could not carry fails here too, and
        # every subscriber gets its own copy of the data.
        wire = [Envelope.from_json(envelope.to_json()) for envelope in envelopes]
        for envelope in wire:
            for queue in self._route(envelope.routing_key):
                queue.inbox.put_nowait(_Delivery(envelope))

    def _route(self, routing_key: str) -> list[_Queue]:
        queues = self._routes.get(routing_key)
        if queues is None:
            queues = [queue for queue in self._queues.values() if queue.matches(routing_key)]
            self._routes[routing_key] = queues
        return queues

    async def declare(self, queue: str, patterns: Sequence[str]) -> None:
        """Create ``queue`` bound to ``patterns``; it keeps messages until consumed."""
        self._bind(queue, patterns)

    def _bind(self, queue: str, patterns: Sequence[str]) -> _Queue:
        self._ensure_running()
        bound = self._queues.get(queue)
        if bound is None:
            bound = self._queues[queue] = _Queue(queue, self._pauses.of(queue))
        if not bound.patterns.issuperset(patterns):
            bound.patterns.update(patterns)
            self._routes.clear()
        return bound

    async def subscribe(
        self, queue: str, patterns: Sequence[str], handler: Handler, *, prefetch: int = 16
    ) -> None:
        """Bind ``queue`` to ``patterns``; run ``handler`` on up to ``prefetch`` at a time."""
        bound = self._bind(queue, patterns)
        for _ in range(max(1, prefetch)):
            task = asyncio.create_task(self._consume(bound, handler), name=f"consumer:{queue}")
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)

    async def take_dead_letters(self, queue: str, *, limit: int = 100) -> list[Envelope]:
        """Remove and return up to ``limit`` envelopes from the queue's dead-letter list."""
        bound = self._queues.get(queue)
        if bound is None:
            return []
        taken, bound.dead[:] = bound.dead[:limit], bound.dead[limit:]
        return [letter.envelope for letter in taken if letter.envelope is not None]

    async def list_dead_letters(self, queue: str, *, limit: int = 100) -> DeadLetterQueue:
        """How many envelopes the queue's dead-letter list holds, and the first ``limit``."""
        dead = self._known(queue).dead
        return DeadLetterQueue(f"{queue}.dlq", len(dead), tuple(dead[:limit]))

    async def replay_dead_letters(self, queue: str, *, limit: int | None = None) -> int:
        """Move up to ``limit`` dead letters (all by default) back to the queue; how many."""
        bound = self._known(queue)
        count = len(bound.dead) if limit is None else limit
        taken, bound.dead[:] = bound.dead[:count], bound.dead[count:]
        for letter in taken:
            assert letter.envelope is not None  # only envelopes are ever published here
            bound.inbox.put_nowait(
                _Delivery(letter.envelope, first_dead_lettered_at=letter.first_dead_lettered_at)
            )
        return len(taken)

    def pauses(self) -> dict[str, float | None]:
        """Each consumed queue with how long it has waited for a dependency (None: flowing)."""
        return self._pauses.seconds()

    def _known(self, queue: str) -> _Queue:
        bound = self._queues.get(queue)
        if bound is None:
            raise NoSuchQueue(f"no queue {queue!r} in the embedded broker")
        return bound

    def _ensure_running(self) -> None:
        if self._closed:
            raise BrokerUnavailable("memory broker is closed")
        if not self._started:
            raise BrokerUnavailable("memory broker is not started")

    async def _consume(self, queue: _Queue, handler: Handler) -> None:
        while not self._closed:
            delivery = await queue.inbox.get()
            if self._closed:
                return
            envelope = delivery.envelope
            try:
                failure = await queue.pause.attempt(partial(self._run, handler, envelope), envelope)
            except ConsumerStopped:
                return
            if failure is None:
                continue
            last = delivery.redeliveries >= self._max_retries
            log.error(
                "consumer %s: handler failed for event %s (%s), attempt %d of %d%s",
                queue.name,
                envelope.id,
                envelope.type,
                delivery.redeliveries + 1,
                self._max_retries + 1,
                ", dead-lettering it" if last else ", will retry",
                exc_info=failure,
            )
            if last:
                first = delivery.first_dead_lettered_at or datetime.now(UTC)
                letter = DeadLetter(envelope.type, envelope.id, describe(failure), first, envelope)
                queue.dead.append(letter)
                continue
            await asyncio.sleep(self._retry_delay)
            delivery.redeliveries += 1
            queue.inbox.put_nowait(delivery)

    async def _run(self, handler: Handler, envelope: Envelope) -> None:
        self._in_flight += 1
        self._idle.clear()
        try:
            await handler(envelope)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()
