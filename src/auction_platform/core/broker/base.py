"""The one broker interface every messaging backend implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from auction_platform.contracts.events import Envelope

Handler = Callable[[Envelope], Awaitable[None]]


class BrokerUnavailable(Exception):
    """The broker cannot be reached or did not confirm a publish."""


class Broker(Protocol):
    """Topic publish/subscribe with at-least-once delivery and a dead-letter queue.

    - ``publish`` returns only once every envelope is confirmed by the broker
      (RabbitMQ publisher confirms); it raises ``BrokerUnavailable`` otherwise.
    - ``subscribe`` binds a durable queue named ``queue`` to the routing-key
      ``patterns`` (topic syntax: ``*`` one word, ``#`` any) and runs ``handler``
      for each message. A handler that returns acknowledges the message; one that
      raises has it redelivered, up to ``max_retries`` redeliveries, after which
      the message goes to the queue's dead-letter queue. A body that is not an
      envelope goes to the dead-letter queue at once.
    - ``declare`` creates a queue and its bindings without consuming, so events
      published before the first consumer starts wait in it (run by ``migrate``).
    - ``take_dead_letters`` removes and returns what sits in a queue's
      dead-letter queue (operators replay or inspect them).
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
