"""RabbitMQ dead letters as an operator sees them: why and when each failed, and replay.

A message the consumer gives up on is published to the dead-letter exchange with
headers that record the failure (``x-failure-reason``, ``x-first-dead-lettered-at``,
``x-delivery-attempts``); one the quorum queue dead-letters by itself (its delivery
limit as a backstop, or a body rejected for not being an envelope) carries
RabbitMQ's ``x-death`` instead, and both are read here. Replay publishes a letter
to its work queue through the default exchange (publisher confirms) and only then
acknowledges it in the dead-letter queue: at least once, harmless to idempotent
consumers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiormq
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel

from auction_platform.contracts.events import Envelope
from auction_platform.core.broker.base import DeadLetter, DeadLetterQueue

FAILURE_REASON = "x-failure-reason"
FIRST_DEAD_LETTERED_AT = "x-first-dead-lettered-at"
DELIVERY_ATTEMPTS = "x-delivery-attempts"
# What RabbitMQ writes about a dead-lettering and a quorum queue's redeliveries:
# a replayed message starts afresh without them.
_SERVER_HEADERS = ("x-death", "x-delivery-count")
_SERVER_HEADER_PREFIXES = ("x-first-death-", "x-last-death-")
_RABBITMQ_REASONS = {
    "delivery_limit": "failed every delivery (the queue's delivery limit)",
    "rejected": "rejected by its consumer",
    "expired": "expired in the queue",
    "maxlen": "the queue was full",
}


def failure_headers(message: AbstractIncomingMessage, reason: str, attempts: int) -> dict[str, Any]:
    """The headers of a message the consumer dead-letters after ``attempts`` failed tries."""
    headers = _own_headers(message.headers or {})
    headers.setdefault(FIRST_DEAD_LETTERED_AT, datetime.now(UTC).isoformat())
    headers[FAILURE_REASON] = reason
    headers[DELIVERY_ATTEMPTS] = attempts
    return headers


def read_letter(message: AbstractIncomingMessage, work_queue: str) -> DeadLetter:
    """A dead-letter queue's message as an operator reads it."""
    headers = message.headers or {}
    try:
        envelope: Envelope | None = Envelope.from_json(message.body)
    except ValueError:
        envelope = None
    reason = headers.get(FAILURE_REASON)
    if not isinstance(reason, str):
        reason = _rabbitmq_reason(headers, envelope is not None)
    return DeadLetter(
        event_type=envelope.type if envelope else str(message.type or "(not an event)"),
        event_id=envelope.id if envelope else str(message.message_id or "-"),
        reason=reason,
        first_dead_lettered_at=_first_dead_lettered_at(headers, work_queue),
        envelope=envelope,
    )


async def list_letters(
    channel: AbstractRobustChannel, dead_queue: str, work_queue: str, *, limit: int, timeout: float
) -> DeadLetterQueue:
    """How many messages ``dead_queue`` holds and the first ``limit``, all left in place.

    Each is fetched unacknowledged; closing the channel returns them to the queue.
    """
    async with asyncio.timeout(timeout):
        queue = await channel.declare_queue(dead_queue, passive=True, robust=False)
    result = queue.declaration_result
    count = (result.message_count if result is not None else 0) or 0
    letters: list[DeadLetter] = []
    while len(letters) < limit:
        async with asyncio.timeout(timeout):
            message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        letters.append(read_letter(message, work_queue))
    return DeadLetterQueue(dead_queue, count, tuple(letters))


async def replay_letters(
    channel: AbstractRobustChannel,
    dead_queue: str,
    work_queue: str,
    *,
    limit: int | None,
    timeout: float,
) -> int:
    """Move up to ``limit`` events (all by default) from ``dead_queue`` to ``work_queue``.

    A body that is not an event envelope stays where it is. ``channel`` must have
    publisher confirms on.
    """
    async with asyncio.timeout(timeout):
        queue = await channel.declare_queue(dead_queue, passive=True, robust=False)
        await channel.declare_queue(work_queue, passive=True, robust=False)
        underlay = await channel.get_underlay_channel()
    moved = 0
    while limit is None or moved < limit:
        async with asyncio.timeout(timeout):
            message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        letter = read_letter(message, work_queue)
        if letter.envelope is None:
            continue  # left unacknowledged: back in the queue when the channel closes
        properties = message.properties
        properties.headers = _replay_headers(message.headers or {}, letter)
        async with asyncio.timeout(timeout):
            confirmed = await underlay.basic_publish(
                message.body, exchange="", routing_key=work_queue, properties=properties
            )
            if not isinstance(confirmed, aiormq.spec.Basic.Ack):
                raise RuntimeError(f"RabbitMQ did not confirm the replay of {letter.event_id}")
            await message.ack()
        moved += 1
    return moved


def _own_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in headers.items()
        if key not in _SERVER_HEADERS and not key.startswith(_SERVER_HEADER_PREFIXES)
    }


def _replay_headers(headers: Mapping[str, Any], letter: DeadLetter) -> dict[str, Any]:
    """A replayed message's headers: when it first failed stays, the rest starts afresh."""
    kept = _own_headers(headers)
    for stale in (FAILURE_REASON, DELIVERY_ATTEMPTS):
        kept.pop(stale, None)
    if letter.first_dead_lettered_at is not None:
        kept[FIRST_DEAD_LETTERED_AT] = letter.first_dead_lettered_at.isoformat()
    return kept


def _deaths(headers: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    deaths = headers.get("x-death")
    if not isinstance(deaths, list):
        return []
    return [death for death in deaths if isinstance(death, Mapping)]


def _rabbitmq_reason(headers: Mapping[str, Any], is_envelope: bool) -> str:
    if not is_envelope:
        return "not an event envelope"
    reason = headers.get("x-first-death-reason")
    if not isinstance(reason, str):
        reasons = [d.get("reason") for d in _deaths(headers)]
        reason = next((r for r in reversed(reasons) if isinstance(r, str)), "")
    return _RABBITMQ_REASONS.get(reason, reason or "not recorded")


def _first_dead_lettered_at(headers: Mapping[str, Any], work_queue: str) -> datetime | None:
    recorded = headers.get(FIRST_DEAD_LETTERED_AT)
    if isinstance(recorded, str):
        try:
            return datetime.fromisoformat(recorded)
        except ValueError:
            pass
    times = [
        death["time"]
        for death in _deaths(headers)
        if death.get("queue") == work_queue and isinstance(death.get("time"), datetime)
    ]
    if not times:
        return None
    first: datetime = min(times)
    return first if first.tzinfo else first.replace(tzinfo=UTC)
