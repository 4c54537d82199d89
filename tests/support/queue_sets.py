"""One RabbitMQ exchange and queue set per test process, emptied between tests.

A quorum queue is costly to create and to delete (a Raft member with a log of its
own): a run that declared a fresh queue set for every test, about a thousand queues,
left the test broker unable to finish an AMQP handshake. So a test process (a
pytest-xdist worker, or the only one) names one exchange and one queue prefix, and
every distributed platform and served child it starts uses them. The ``rabbitmq_url``
fixture empties the process's queues before and after each test that asks for
RabbitMQ (after that test's consumers have stopped), so no event of one test reaches
the next; the session's end deletes them. The names are the process's own, not its
worker id, since other runs may share the broker; ``.ci/run`` removes the queues of a
run that was killed (their names start ``q_`` and twelve hex digits).
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
import uuid
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
from aio_pika.exceptions import ChannelNotFoundEntity

from auction_platform.composition import Platform
from auction_platform.core.broker.rabbitmq import RabbitBroker
from auction_platform.settings import SERVICES, Settings

T = TypeVar("T")

_TAG = uuid.uuid4().hex[:12]
EXCHANGE = f"ex_{_TAG}"
DEFAULT_MAX_RETRIES: int = Settings.model_fields["broker_max_retries"].default
# A deadline for a loaded machine, not a measure.
_TIMEOUT = 60.0

# The queues (without their prefix) declared under each prefix of this process so far.
_declared: dict[str, set[str]] = {}


def queue_prefix(max_retries: int = DEFAULT_MAX_RETRIES) -> str:
    """This process's prefix for queues that dead-letter after ``max_retries`` redeliveries.

    A quorum queue's delivery limit is fixed when the queue is created, so each limit
    tests ask for has a set of its own (still one per process).
    """
    return f"q_{_TAG}.r{max_retries}."


def is_shared(prefix: str) -> bool:
    """Whether queues under ``prefix`` belong to this process's sets (emptied, not deleted)."""
    return prefix.startswith(f"q_{_TAG}.")


def remember(prefix: str, queues: Iterable[str]) -> None:
    """Count ``queues`` (without ``prefix``) among this process's: emptied and deleted with them.

    Called before they are declared, so a test that fails half-way leaves none unknown.
    """
    _declared.setdefault(prefix, set()).update(queues)


def child_environ() -> dict[str, str]:
    """The exchange and queue prefix of this process's set, as a served child reads them."""
    prefix = queue_prefix()
    remember(prefix, every_queue())  # the child's ``migrate`` declares them all
    return {"RABBITMQ_EXCHANGE": EXCHANGE, "RABBITMQ_QUEUE_PREFIX": prefix}


def queue_names(platform: Platform) -> list[str]:
    """Every queue the platform's consumers declare (without the prefix)."""
    return [
        f"{runtime.name}.{consumer.name}"
        for runtime in platform.runtimes.values()
        for consumer in runtime.definition.consumers(runtime)
    ]


@functools.cache
def every_queue() -> tuple[str, ...]:
    """Every queue any service consumes (without the prefix): what ``migrate`` declares."""
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(_env_file=None, data_dir=Path(data_dir))  # type: ignore[call-arg]
        return tuple(queue_names(Platform(settings, SERVICES, embedded=False, environ={})))


def empty(url: str) -> None:
    """Purge every queue of this process's sets on the broker at ``url``."""
    queues = [
        f"{prefix}{name}{suffix}"
        for prefix, names in sorted(_declared.items())
        for name in sorted(names)
        for suffix in ("", ".dlq")
    ]
    if queues:
        _blocking(_purge(url, queues))


def delete(url: str) -> None:
    """Delete this process's queues and exchange (at the end of the session)."""
    if _declared:
        _blocking(_delete(url))


async def _purge(url: str, queues: Iterable[str]) -> None:
    async with asyncio.timeout(_TIMEOUT):
        connection = await aio_pika.connect(url, timeout=_TIMEOUT)
        async with connection:
            channel = await connection.channel()
            for name in queues:
                try:
                    queue = await channel.declare_queue(name, passive=True)
                except ChannelNotFoundEntity:
                    # Not declared yet (a test failed first); the error closed the channel.
                    channel = await connection.channel()
                    continue
                # Only a queue holding messages is purged: a purge is a write to its log.
                if queue.declaration_result.message_count:
                    await queue.purge()


async def _delete(url: str) -> None:
    for prefix, names in sorted(_declared.items()):
        broker = RabbitBroker(url, exchange=EXCHANGE, queue_prefix=prefix, timeout=_TIMEOUT)
        await broker.delete_topology(sorted(names))


def _blocking(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end on a loop of its own: the caller's loop may be running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()
