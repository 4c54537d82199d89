"""In-process broker for the embedded mode, with the same semantics as RabbitMQ."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from auction_platform.contracts.events import Envelope
from auction_platform.core.broker.base import BrokerUnavailable, Handler

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


@dataclass
class _Queue:
    name: str
    patterns: set[str] = field(default_factory=set)
    inbox: asyncio.Queue[_Delivery] = field(default_factory=asyncio.Queue)
    dead: list[Envelope] = field(default_factory=list)

    def matches(self, routing_key: str) -> bool:
        return any(topic_matches(p, routing_key) for p in self.patterns)


class MemoryBroker:
    """Topic publish/subscribe inside one process: asynchronous delivery, retries, dead letters."""

    def __init__(self, *, max_retries: int = 5, retry_delay: float = 0.0) -> None:
        self._max_retries = max_retries
        self._retry_delay = retry_delay
        self._queues: dict[str, _Queue] = {}
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
            for queue in self._queues.values():
                if queue.matches(envelope.routing_key):
                    queue.inbox.put_nowait(_Delivery(envelope))

    async def declare(self, queue: str, patterns: Sequence[str]) -> None:
        """Create ``queue`` bound to ``patterns``; it keeps messages until consumed."""
        self._bind(queue, patterns)

    def _bind(self, queue: str, patterns: Sequence[str]) -> _Queue:
        self._ensure_running()
        bound = self._queues.setdefault(queue, _Queue(queue))
        bound.patterns.update(patterns)
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
        return taken

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
            if await self._handle(queue, handler, delivery):
                continue
            if delivery.redeliveries >= self._max_retries:
                log.error(
                    "consumer %s: event %s (%s) failed %d times, dead-lettered",
                    queue.name,
                    delivery.envelope.id,
                    delivery.envelope.type,
                    delivery.redeliveries + 1,
                )
                queue.dead.append(delivery.envelope)
                continue
            await asyncio.sleep(self._retry_delay)
            delivery.redeliveries += 1
            queue.inbox.put_nowait(delivery)

    async def _handle(self, queue: _Queue, handler: Handler, delivery: _Delivery) -> bool:
        self._in_flight += 1
        self._idle.clear()
        try:
            await handler(delivery.envelope)
        except Exception:
            log.exception(
                "consumer %s: handler failed for event %s (%s), attempt %d",
                queue.name,
                delivery.envelope.id,
                delivery.envelope.type,
                delivery.redeliveries + 1,
            )
            return False
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()
        return True
