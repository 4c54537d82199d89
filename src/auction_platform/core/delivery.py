"""How an event reaches a transactional consumer: with its inbox row, alone or in a group.

Each event is applied in a transaction that also claims its id in the service's
inbox, so a redelivered event changes nothing (``claim_event``). A consumer marked
``grouped`` (its handler only writes to its own database: no call out, no message
sent but through the outbox) has the events that arrive while its last transaction
runs applied together in the next one: one transaction, one commit and one write lock
for a bid's rollups, search document and stored event instead of one each. In the
embedded mode every write to a SQLite file waits for the one before it, and the
consumers of a busy auction's bids fell further behind the bids the longer it ran.

A group that fails is rolled back and its events applied again one by one, each in
its own transaction, so one poison event fails alone and the rest are applied once;
a group that fails because a dependency is down fails every event in it as such
(the broker pauses the queue). At most ``prefetch`` events wait per queue, so a
group is at most that large.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import Table

from auction_platform.contracts.events import Envelope
from auction_platform.core.context import reset_request_id, set_request_id
from auction_platform.core.inbox import claim_event
from auction_platform.core.outages import dependency_down
from auction_platform.core.uow import Transaction, UnitOfWork

log = logging.getLogger("auction_platform.service")

EventHandler = Callable[[Transaction, Envelope], Awaitable[None]]
Deliver = Callable[[Envelope], Awaitable[None]]
# Counts each event's outcome: handled, duplicate, unavailable or failed.
Outcomes = Callable[[str], None]


def delivery(
    uow: UnitOfWork,
    inbox: Table,
    *,
    consumer: str,
    handle: EventHandler,
    grouped: bool,
    count: Outcomes,
) -> Deliver:
    """The function the broker calls with each event of ``consumer``'s queue."""

    async def apply(envelopes: Sequence[Envelope]) -> list[str]:
        """Claim and handle each event in one transaction; each one's outcome."""
        outcomes: list[str] = []
        async with uow() as tx:
            for envelope in envelopes:
                token = set_request_id(envelope.correlation_id or envelope.id)
                try:
                    if await claim_event(tx.conn, inbox, consumer=consumer, event_id=envelope.id):
                        await handle(tx, envelope)
                        outcomes.append("handled")
                    else:
                        outcomes.append("duplicate")
                finally:
                    reset_request_id(token)
        return outcomes

    async def alone(envelope: Envelope) -> None:
        token = set_request_id(envelope.correlation_id or envelope.id)
        try:
            (outcome,) = await apply([envelope])
            count(outcome)
        except Exception as exc:
            if dependency_down(exc):  # the broker pauses the queue and logs it
                count("unavailable")
                raise
            count("failed")
            log.exception("consumer %s failed on event %s", consumer, envelope.id)
            raise
        finally:
            reset_request_id(token)

    if not grouped:
        return alone
    return _Group(apply, alone, count).submit


class _Group:
    """Events waiting for a consumer's transaction, applied together by one task."""

    def __init__(
        self,
        apply: Callable[[Sequence[Envelope]], Awaitable[list[str]]],
        alone: Deliver,
        count: Outcomes,
    ) -> None:
        self._apply = apply
        self._alone = alone
        self._count = count
        self._waiting: list[tuple[Envelope, asyncio.Future[None]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, envelope: Envelope) -> None:
        """Apply ``envelope`` in the consumer's next transaction; raise what it raised."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((envelope, future))
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="consumer group")
        await asyncio.shield(future)  # a caller that stops waiting leaves the group whole

    async def _work(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                await self._run(group)
        finally:
            self._worker = None

    async def _run(self, group: list[tuple[Envelope, asyncio.Future[None]]]) -> None:
        if len(group) == 1:
            ((envelope, future),) = group
            await _settle(future, self._alone(envelope))
            return
        try:
            outcomes = await self._apply([envelope for envelope, _ in group])
        except Exception as exc:
            if dependency_down(exc):
                for _, future in group:
                    self._count("unavailable")
                    _fail(future, exc)
                return
            log.warning(
                "a group of %d events failed (%s); applying them one by one", len(group), exc
            )
            for envelope, future in group:
                await _settle(future, self._alone(envelope))
            return
        for (_, future), outcome in zip(group, outcomes, strict=True):
            self._count(outcome)
            if not future.done():
                future.set_result(None)


async def _settle(future: asyncio.Future[None], work: Awaitable[None]) -> None:
    try:
        await work
    except Exception as exc:
        _fail(future, exc)
    else:
        if not future.done():
            future.set_result(None)


def _fail(future: asyncio.Future[None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
        # Its caller may have stopped waiting (a broker closing): not a lost error.
        future.add_done_callback(lambda done: done.exception())
