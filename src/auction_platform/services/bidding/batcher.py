"""Group commit: the commands waiting in a queue are applied in one transaction.

Each process keeps a few queues, each auction always in the same one. The first
command on an idle queue starts a worker; while the worker's transaction runs, later
commands queue up and go together in the next one, in arrival order. Idle, a batch
is one command; under load batches grow by themselves, so throughput is no longer
bounded by one commit per bid, whether the bids are on one auction or on many.

A request announces itself (``arriving``) while it is being checked, before it can
be queued: its token's revocation costs a Redis round trip. A worker about to take
a batch waits for the requests announced for its queue by then (not for later ones,
which keep coming under load), up to ``gather_window``, so that they join this batch
instead of starting the next one. On a busy process this
is what keeps batches large: without it, the faster a batch finished, the fewer
requests had reached the queue, and the more commits each bid shared with fewer
others. An idle queue never waits: a lone request is not announced by anyone else.
Several replicas stay correct because each batch locks its book rows (in auction id
order, so two batches never wait on each other in a circle), which orders their
batches.

The service sheds load itself, so that every answer is true: a queue holds at most
``max_queue`` commands, and a command still queued when its deadline passes (its
request's wait budget, below the gateway's time limit) leaves the queue. Either way the
request is refused with ``Overloaded`` before its command is applied, so it was not
recorded; a command taken into a batch is always answered with its outcome.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger("auction_platform.bidding")


T = TypeVar("T")  # a command
R = TypeVar("R")  # what its request gets back


class Overloaded(Exception):
    """The command was refused before it was applied: its queue was full, or its time was up."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the command was shed ({reason})")
        self.reason = reason


QUEUE_FULL = "queue_full"
WAIT_BUDGET = "wait_budget"


@dataclass(slots=True)
class Pending(Generic[T, R]):
    """A queued command, the future its request waits on, and its deadline's timer."""

    command: T
    future: asyncio.Future[R]
    expiry: asyncio.TimerHandle | None = None

    def settle(self, outcome: R) -> None:
        """Hand the outcome to the waiting request (which may have gone away)."""
        if not self.future.done():
            self.future.set_result(outcome)

    def fail(self, error: BaseException) -> None:
        """Hand an error to the waiting request."""
        if not self.future.done():
            self.future.set_exception(error)


# Commands grouped by auction, each group in arrival order.
ApplyBatch = Callable[[dict[str, list[Pending[T, R]]]], Awaitable[None]]


class Batcher(Generic[T, R]):
    """Queues commands and applies them in batches, in arrival order per auction.

    Auctions are spread over ``shards`` queues, each with at most one batch in flight:
    a batch takes everything its queue holds (up to ``max_batch``), whatever the
    auctions, so bids spread over many auctions share a commit as bids on one hot
    auction do. An auction always maps to the same queue, so its commands are never
    in two transactions of this process at once.
    """

    def __init__(
        self,
        apply: ApplyBatch[T, R],
        *,
        max_batch: int = 200,
        shards: int = 4,
        gather_window: float = 0.002,
        max_queue: int = 1_000,
        on_shed: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self._apply = apply
        self._max_batch = max_batch
        self._shards = shards
        self._gather_window = gather_window
        self._max_queue = max_queue
        self._on_shed = on_shed
        self._queues: dict[int, list[tuple[str, Pending[T, R]]]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        # Per queue, the tickets of the announced requests, oldest first; and what its
        # worker waits for: the newest ticket announced when it began, and an event.
        self._tickets = itertools.count()
        self._arriving: dict[int, dict[int, None]] = {}
        self._awaited: dict[int, tuple[int, asyncio.Event]] = {}
        self.batches = 0
        self.commands = 0

    async def submit(self, auction_id: str, command: T, *, deadline: float | None = None) -> R:
        """Queue a command and wait for its outcome (after its batch has committed).

        Raises ``Overloaded`` when the queue is full, or when the command is still
        queued at ``deadline`` (the event loop's time): it was not applied.
        """
        loop = asyncio.get_running_loop()
        shard = self._shard(auction_id)
        queue = self._queues.setdefault(shard, [])
        if len(queue) >= self._max_queue:
            raise self._shed(QUEUE_FULL)
        pending: Pending[T, R] = Pending(command, loop.create_future())
        if deadline is not None:
            if deadline <= loop.time():
                raise self._shed(WAIT_BUDGET)
            pending.expiry = loop.call_at(deadline, self._expire, shard, pending)
        queue.append((auction_id, pending))
        if shard not in self._workers:
            self._workers[shard] = asyncio.create_task(self._work(shard), name=f"books:{shard}")
        return await pending.future

    def waiting(self, auction_id: str) -> int:
        """How many commands wait in the queue of ``auction_id`` (besides its batch in flight)."""
        return len(self._queues.get(self._shard(auction_id), ()))

    def _shed(self, reason: str) -> Overloaded:
        self._on_shed(reason)
        return Overloaded(reason)

    def _expire(self, shard: int, pending: Pending[T, R]) -> None:
        """A command's deadline passed while it was queued: it leaves the queue, refused."""
        queue = self._queues.get(shard, [])
        # The oldest commands expire first: the search ends near the front.
        for index, (_, queued) in enumerate(queue):
            if queued is pending:
                del queue[index]
                pending.fail(self._shed(WAIT_BUDGET))
                return

    @contextmanager
    def arriving(self, auction_id: str) -> Iterator[None]:
        """Announce a command for ``auction_id`` while the request is being checked.

        The block should end right before ``submit`` (or when the request is refused):
        a worker waits for the commands announced when it is ready for its next batch,
        at most ``gather_window``.
        """
        shard = self._shard(auction_id)
        ticket = next(self._tickets)
        outstanding = self._arriving.setdefault(shard, {})
        outstanding[ticket] = None
        try:
            yield
        finally:
            del outstanding[ticket]
            if not outstanding:
                del self._arriving[shard]
            awaited = self._awaited.get(shard)
            # Tickets only grow, and the dict keeps them in order: its first key is
            # the oldest announcement still being checked.
            if awaited is not None and (not outstanding or next(iter(outstanding)) > awaited[0]):
                del self._awaited[shard]
                awaited[1].set()

    async def _gather(self, shard: int) -> None:
        """Wait, briefly, for the commands announced for this queue so far."""
        outstanding = self._arriving.get(shard)
        if not outstanding or len(self._queues[shard]) >= self._max_batch:
            return
        arrived = asyncio.Event()
        self._awaited[shard] = (next(reversed(outstanding)), arrived)
        try:
            async with asyncio.timeout(self._gather_window):
                await arrived.wait()
        except TimeoutError:
            self._awaited.pop(shard, None)

    def _shard(self, auction_id: str) -> int:
        """The queue of an auction: the same one for as long as the process runs."""
        return zlib.crc32(auction_id.encode()) % self._shards

    async def _work(self, shard: int) -> None:
        queue = self._queues[shard]
        try:
            while queue:
                await self._gather(shard)
                taken = queue[: self._max_batch]
                del queue[: self._max_batch]
                if not taken:
                    continue  # every command left expired while the worker gathered
                groups: dict[str, list[Pending[T, R]]] = {}
                for auction_id, pending in taken:
                    if pending.expiry is not None:
                        pending.expiry.cancel()  # taken: it will be answered with its outcome
                    groups.setdefault(auction_id, []).append(pending)
                self.batches += 1
                self.commands += len(taken)
                try:
                    await self._apply(groups)
                except Exception as error:
                    log.exception("batch of %d on %d books failed", len(taken), len(groups))
                    for _, pending in taken:
                        pending.fail(error)
        finally:
            # No await between the last check of the queue and here: a command
            # queued meanwhile would have been taken by the loop. Anything left
            # means the worker was cancelled (shutdown): those never committed.
            self._awaited.pop(shard, None)
            del self._workers[shard]
            for _, pending in self._queues.pop(shard, []):
                if pending.expiry is not None:
                    pending.expiry.cancel()
                pending.fail(RuntimeError("the service is shutting down"))

    async def drain(self) -> None:
        """Wait for every queued command to be applied (shutdown)."""
        while self._workers:
            await asyncio.gather(*self._workers.values(), return_exceptions=True)
