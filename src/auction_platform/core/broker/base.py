"""The one broker interface every messaging backend implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from auction_platform.contracts.events import Envelope

Handler = Callable[[Envelope], Awaitable[None]]


class BrokerUnavailable(Exception):
    """The broker cannot be reached or did not confirm a publish."""


class NoSuchQueue(LookupError):
    """The broker has no such queue (nothing ever declared or consumed it)."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message in a dead-letter queue, as an operator reads it."""

    event_type: str
    event_id: str
    # Why it was dead-lettered: the handler's last error when it was recorded.
    reason: str
    first_dead_lettered_at: datetime | None
    envelope: Envelope | None  # None: the body is not an event envelope


@dataclass(frozen=True, slots=True)
class DeadLetterQueue:
    """What a dead-letter queue holds: how many messages, and the first of them."""

    name: str
    count: int
    letters: tuple[DeadLetter, ...]


class Broker(Protocol):
    """Topic publish/subscribe with at-least-once delivery and a dead-letter queue.

    - ``publish`` returns only once every envelope is confirmed by the broker
      (RabbitMQ publisher confirms); it raises ``BrokerUnavailable`` otherwise.
    - ``subscribe`` binds a durable queue named ``queue`` to the routing-key
      ``patterns`` (topic syntax: ``*`` one word, ``#`` any) and runs ``handler``
      for each message. A handler that returns acknowledges the message; one that
      raises has it redelivered, up to ``max_retries`` redeliveries, after which
      the message goes to the queue's dead-letter queue. A body that is not an
      envelope goes to the dead-letter queue at once. A handler that raises because
      a dependency is down (``core.outages``) spends none of that budget: the
      delivery keeps its message and the queue pauses (``core.broker.pause``).
    - ``declare`` creates a queue and its bindings without consuming, so events
      published before the first consumer starts wait in it (run by ``migrate``).
    - ``take_dead_letters`` removes and returns what sits in a queue's
      dead-letter queue; ``list_dead_letters`` reads it without removing anything,
      ``replay_dead_letters`` moves its events back to the queue (operators).
    - ``pauses`` says which consumed queues wait for a dependency, and since when.
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    async def publish(self, envelopes: Sequence[Envelope]) -> None: ...

    async def declare(self, queue: str, patterns: Sequence[str]) -> None: ...

    async def subscribe(
        self, queue: str, patterns: Sequence[str], handler: Handler, *, prefetch: int = 16
    ) -> None: ...

    async def take_dead_letters(self, queue: str, *, limit: int = 100) -> list[Envelope]: ...

    async def list_dead_letters(self, queue: str, *, limit: int = 100) -> DeadLetterQueue: ...

    async def replay_dead_letters(self, queue: str, *, limit: int | None = None) -> int: ...

    def pauses(self) -> dict[str, float | None]: ...
