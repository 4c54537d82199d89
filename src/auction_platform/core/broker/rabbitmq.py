"""RabbitMQ broker: a durable topic exchange, quorum queues and per-queue dead-letter queues."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, cast
from urllib.parse import urlsplit

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustQueue,
)
from aio_pika.exceptions import ChannelNotFoundEntity

from auction_platform.contracts.events import Envelope
from auction_platform.core.broker import rabbitmq_letters as letters
from auction_platform.core.broker.base import (
    BrokerUnavailable,
    DeadLetterQueue,
    Handler,
    NoSuchQueue,
)
from auction_platform.core.broker.pause import (
    OUTAGE_BACKOFF,
    Backoff,
    ConsumerStopped,
    Pauses,
    describe,
)

log = logging.getLogger("auction_platform.broker")

_CLOSE_GRACE = 5.0
_LOGGED_BODY_BYTES = 1000
_PERSISTENT = int(aio_pika.DeliveryMode.PERSISTENT)  # delivery mode 2: the broker writes it to disk


def _delivery_failures(message: AbstractIncomingMessage) -> int:
    """How many earlier deliveries of this message failed, as counted by the quorum queue."""
    count = (message.headers or {}).get("x-delivery-count")
    return count if isinstance(count, int) else 0


@dataclass(frozen=True, slots=True)
class _Consumer:
    # Held here because the robust connection keeps its channels only weakly.
    channel: AbstractRobustChannel
    queue: AbstractRobustQueue
    tag: str


class RabbitBroker:
    """The ``Broker`` on RabbitMQ, with publisher confirms and broker-counted redeliveries.

    A delivery waiting for a dependency (``core.broker.pause``) holds its message
    unacknowledged, so the queue's count of deliveries does not move and, with at
    most ``prefetch`` messages unacknowledged, the server sends no more meanwhile.
    """

    def __init__(
        self,
        url: str,
        *,
        exchange: str = "auction.events",
        queue_prefix: str = "",
        max_retries: int = 5,
        retry_delay: float = 0.5,
        timeout: float = 5.0,
        outage_backoff: Backoff = OUTAGE_BACKOFF,
    ) -> None:
        self._url = url
        self._exchange_name = exchange
        self._dlx_name = f"{exchange}.dlx"
        self._queue_prefix = queue_prefix
        self._max_retries = max_retries
        self._retry_delay = retry_delay
        self._timeout = timeout
        self._pauses = Pauses(outage_backoff)
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._consumers: list[_Consumer] = []
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def _where(self) -> str:
        # Never put the URL itself in a message: it carries the password.
        return urlsplit(self._url).netloc.rpartition("@")[2]

    def _unavailable(self, failure: str, exc: BaseException) -> BrokerUnavailable:
        detail = str(exc) or type(exc).__name__  # a timeout has no message
        return BrokerUnavailable(f"{failure} (RabbitMQ at {self._where}): {detail}")

    async def start(self) -> None:
        """Connect, then declare the topic exchange and the dead-letter exchange."""
        if self._closed:
            raise BrokerUnavailable("RabbitMQ broker is closed")
        if self._connection is not None:
            return
        try:
            # connect_robust gives up by itself once its own timeout passes; the outer
            # bound, slightly longer so the inner one can clean up first, is for a
            # failure connect_robust would otherwise keep retrying in the background.
            connection = await asyncio.wait_for(
                aio_pika.connect_robust(self._url, timeout=self._timeout), self._timeout + 1.0
            )
        except Exception as exc:
            raise self._unavailable("cannot connect", exc) from exc
        try:
            async with asyncio.timeout(self._timeout):
                channel = await connection.channel(publisher_confirms=True)
                await channel.declare_exchange(
                    self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
                )
                await channel.declare_exchange(
                    self._dlx_name, aio_pika.ExchangeType.DIRECT, durable=True
                )
        except Exception as exc:
            await self._close_quietly(connection)
            raise self._unavailable("cannot declare the exchanges", exc) from exc
        self._connection = connection
        self._publish_channel = channel

    async def close(self) -> None:
        """Stop consuming, let in-flight handlers finish (bounded), then disconnect."""
        if self._closed:
            return
        self._closed = True
        connection, self._connection = self._connection, None
        self._publish_channel = None
        if connection is None:
            return
        for consumer in self._consumers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.queue.cancel(consumer.tag), self._timeout)
        self._consumers.clear()
        self._pauses.stop()
        deadline = asyncio.get_running_loop().time() + _CLOSE_GRACE
        while self._in_flight:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            await asyncio.wait(set(self._in_flight), timeout=remaining)
        await self._close_quietly(connection)

    async def ping(self) -> None:
        """Raise ``BrokerUnavailable`` unless the server answers a round trip."""
        channel = self._publish_channel
        if channel is None or self._connection is None:
            raise BrokerUnavailable("RabbitMQ broker is not started or already closed")
        if self._connection.is_closed or not self._connection.connected.is_set():
            raise BrokerUnavailable(f"RabbitMQ at {self._where} is not connected")
        try:
            # basic.qos is a synchronous method with no effect on a channel that never consumes.
            async with asyncio.timeout(self._timeout):
                await channel.set_qos(prefetch_count=0)
        except Exception as exc:
            raise self._unavailable("no answer to ping", exc) from exc

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Publish persistently and wait until the server confirms every envelope."""
        channel = self._publish_channel
        if channel is None:
            raise BrokerUnavailable("RabbitMQ broker is not started or already closed")
        if not envelopes:
            return
        try:
            async with asyncio.timeout(self._timeout):
                # The channel underneath the robust one (a new one after a reconnect),
                # with the frame properties built directly: an ``aio_pika.Message`` per
                # event cost more CPU than the publication itself on a busy relay.
                # aiormq's abstract channel does not declare ``wait``; its channel does.
                underlay = cast(aiormq.Channel, await channel.get_underlay_channel())
                # An event no queue is bound to is dropped, as on any topic exchange.
                # ``wait=False``: no extra future per event for the socket write to
                # drain; the confirmation awaited next comes after the write anyway,
                # and a relay batch (at most ``batch_size`` events) bounds the queue.
                results = await asyncio.gather(
                    *(
                        underlay.basic_publish(
                            envelope.to_json(),
                            exchange=self._exchange_name,
                            routing_key=envelope.routing_key,
                            properties=self._properties(envelope),
                            mandatory=False,
                            wait=False,
                        )
                        for envelope in envelopes
                    )
                )
        except Exception as exc:
            raise self._unavailable(f"{len(envelopes)} event(s) not confirmed", exc) from exc
        if not all(isinstance(result, aiormq.spec.Basic.Ack) for result in results):
            raise BrokerUnavailable(f"RabbitMQ at {self._where} did not acknowledge every event")

    async def declare(self, queue: str, patterns: Sequence[str]) -> None:
        """Declare the queue, its dead-letter queue and bindings, without consuming."""
        connection = self._connection
        if connection is None:
            raise BrokerUnavailable("RabbitMQ broker is not started or already closed")
        name = self._queue_prefix + queue
        try:
            async with asyncio.timeout(self._timeout):
                channel = await connection.channel(publisher_confirms=False)
                try:
                    await self._declare(channel, name, patterns)
                finally:
                    await channel.close()
        except Exception as exc:
            raise self._unavailable(f"cannot declare {name}", exc) from exc

    async def _declare(
        self, channel: AbstractRobustChannel, name: str, patterns: Sequence[str]
    ) -> AbstractRobustQueue:
        dead = await channel.declare_queue(
            f"{name}.dlq", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dead.bind(self._dlx_name, routing_key=name)
        bound = await channel.declare_queue(
            name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": self._max_retries,
                "x-dead-letter-exchange": self._dlx_name,
                "x-dead-letter-routing-key": name,
            },
        )
        for pattern in patterns:
            await bound.bind(self._exchange_name, routing_key=pattern)
        return bound

    async def subscribe(
        self, queue: str, patterns: Sequence[str], handler: Handler, *, prefetch: int = 16
    ) -> None:
        """Declare the quorum queue and its dead-letter queue, bind ``patterns`` and consume."""
        connection = self._connection
        if connection is None:
            raise BrokerUnavailable("RabbitMQ broker is not started or already closed")
        name = self._queue_prefix + queue
        channel: AbstractRobustChannel | None = None
        try:
            async with asyncio.timeout(self._timeout):
                channel = await connection.channel(publisher_confirms=False)
                await channel.set_qos(prefetch_count=prefetch)
                bound = await self._declare(channel, name, patterns)

                async def on_message(message: AbstractIncomingMessage) -> None:
                    await self._on_message(queue, handler, message)

                tag = await bound.consume(on_message)
        except Exception as exc:
            if channel is not None:
                with contextlib.suppress(Exception):
                    await channel.close()
            raise self._unavailable(f"cannot subscribe {name}", exc) from exc
        self._consumers.append(_Consumer(channel, bound, tag))

    async def take_dead_letters(self, queue: str, *, limit: int = 100) -> list[Envelope]:
        """Remove and return up to ``limit`` envelopes from the queue's dead-letter queue."""
        name = f"{self._queue_prefix}{queue}.dlq"
        taken: list[Envelope] = []
        try:
            async with self._operator_channel(name, publisher_confirms=False) as channel:
                async with asyncio.timeout(self._timeout):
                    dead = await channel.declare_queue(name, passive=True, robust=False)
                while len(taken) < limit:
                    async with asyncio.timeout(self._timeout):
                        message = await dead.get(no_ack=False, fail=False)
                        if message is None:
                            break
                        try:
                            taken.append(Envelope.from_json(message.body))
                        except ValueError as exc:
                            log.error(
                                "consumer %s: discarding a dead letter that is not an envelope"
                                " (%s): %r",
                                name,
                                exc,
                                message.body[:_LOGGED_BODY_BYTES],
                            )
                        await message.ack()
        except NoSuchQueue:
            pass
        return taken

    async def list_dead_letters(self, queue: str, *, limit: int = 100) -> DeadLetterQueue:
        """How many messages the queue's dead-letter queue holds, and the first ``limit``."""
        name = self._queue_prefix + queue
        async with self._operator_channel(name, publisher_confirms=False) as channel:
            return await letters.list_letters(
                channel, f"{name}.dlq", name, limit=limit, timeout=self._timeout
            )

    async def replay_dead_letters(self, queue: str, *, limit: int | None = None) -> int:
        """Move up to ``limit`` events (all by default) from the dead-letter queue back."""
        name = self._queue_prefix + queue
        async with self._operator_channel(name, publisher_confirms=True) as channel:
            return await letters.replay_letters(
                channel, f"{name}.dlq", name, limit=limit, timeout=self._timeout
            )

    def pauses(self) -> dict[str, float | None]:
        """Each consumed queue with how long it has waited for a dependency (None: flowing)."""
        return self._pauses.seconds()

    @contextlib.asynccontextmanager
    async def _operator_channel(
        self, name: str, *, publisher_confirms: bool
    ) -> AsyncIterator[AbstractRobustChannel]:
        """A channel of its own for a dead-letter operation, its failures said plainly."""
        connection = self._connection
        if connection is None:
            raise BrokerUnavailable("RabbitMQ broker is not started or already closed")
        try:
            async with asyncio.timeout(self._timeout):
                channel = await connection.channel(publisher_confirms=publisher_confirms)
        except Exception as exc:
            raise self._unavailable("cannot open a channel", exc) from exc
        try:
            yield channel
        except ChannelNotFoundEntity as exc:
            raise NoSuchQueue(f"RabbitMQ at {self._where} has no queue {name}") from exc
        except (NoSuchQueue, BrokerUnavailable):
            raise
        except Exception as exc:
            raise self._unavailable(f"cannot read {name}", exc) from exc
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def delete_topology(self, queues: Sequence[str]) -> None:
        """Delete the named queues, their dead-letter queues and both exchanges (after close)."""
        try:
            async with asyncio.timeout(self._timeout):
                # A connection of its own: a robust one would re-declare what we delete.
                connection = await aio_pika.connect(self._url, timeout=self._timeout)
                async with connection:
                    channel = await connection.channel()
                    for queue in queues:
                        name = self._queue_prefix + queue
                        await channel.queue_delete(name)
                        await channel.queue_delete(f"{name}.dlq")
                    await channel.exchange_delete(self._exchange_name)
                    await channel.exchange_delete(self._dlx_name)
        except Exception as exc:
            raise self._unavailable("cannot delete the topology", exc) from exc

    @staticmethod
    def _properties(envelope: Envelope) -> aiormq.spec.Basic.Properties:
        return aiormq.spec.Basic.Properties(
            content_type="application/json",
            delivery_mode=_PERSISTENT,
            message_id=envelope.id,
            message_type=envelope.type,
            correlation_id=envelope.correlation_id,
            timestamp=envelope.occurred_at,
        )

    async def _on_message(
        self, queue: str, handler: Handler, message: AbstractIncomingMessage
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self._process(queue, handler, message)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def _process(
        self, queue: str, handler: Handler, message: AbstractIncomingMessage
    ) -> None:
        try:
            envelope = Envelope.from_json(message.body)
        except ValueError as exc:
            log.error(
                "consumer %s: message %s is not an event envelope (%s), dead-lettering it",
                queue,
                message.message_id,
                exc,
            )
            await self._settle(queue, message.reject(requeue=False))
            return
        try:
            failure = await self._pauses.of(queue).attempt(partial(handler, envelope), envelope)
        except ConsumerStopped:
            return  # unsettled: the server returns it when the connection closes
        if failure is None:
            await self._settle(queue, message.ack())
            return
        failures = _delivery_failures(message)
        last = failures >= self._max_retries
        log.error(
            "consumer %s: handler failed for event %s (%s), attempt %d of %d%s",
            queue,
            envelope.id,
            envelope.type,
            failures + 1,
            self._max_retries + 1,
            ", dead-lettering it" if last else ", will retry",
            exc_info=failure,
        )
        if last and await self._dead_letter(queue, message, failure, failures + 1):
            await self._settle(queue, message.ack())
            return
        await asyncio.sleep(self._retry_delay)
        # The quorum queue counts this return and dead-letters past x-delivery-limit
        # (the backstop when the failure could not be recorded above).
        await self._settle(queue, message.nack(requeue=True))

    async def _dead_letter(
        self, queue: str, message: AbstractIncomingMessage, failure: Exception, attempts: int
    ) -> bool:
        """Publish the message to the dead-letter queue with its failure recorded; confirmed?"""
        channel = self._publish_channel
        if channel is None:
            return False
        properties = message.properties
        properties.headers = letters.failure_headers(message, describe(failure), attempts)
        try:
            async with asyncio.timeout(self._timeout):
                underlay = await channel.get_underlay_channel()
                confirmed = await underlay.basic_publish(
                    message.body,
                    exchange=self._dlx_name,
                    routing_key=self._queue_prefix + queue,
                    properties=properties,
                )
        except Exception as exc:
            log.warning("consumer %s: could not record a dead letter (%s)", queue, exc)
            return False
        return isinstance(confirmed, aiormq.spec.Basic.Ack)

    @staticmethod
    async def _settle(queue: str, outcome: Awaitable[None]) -> None:
        try:
            await outcome
        except Exception as exc:
            log.warning(
                "consumer %s: could not settle a message (%s); the server will redeliver it",
                queue,
                exc,
            )

    @staticmethod
    async def _close_quietly(connection: AbstractRobustConnection) -> None:
        try:
            await asyncio.wait_for(connection.close(), _CLOSE_GRACE)
        except Exception as exc:
            log.warning("closing the RabbitMQ connection failed: %s", exc)
