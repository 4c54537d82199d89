"""Group commit: the commands waiting for one auction are applied in one transaction.

Each process keeps a queue per auction. The first command for an idle auction
starts a worker; while the worker's transaction runs, later commands queue up and
go together in the next one, in arrival order. Idle, a batch is one command;
under load batches grow by themselves, so throughput is no longer bounded by one
commit per bid. Several replicas stay correct because each batch locks the book
row, which orders their batches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("auction_platform.bidding")


@dataclass(frozen=True, slots=True)
class Answer:
    """What the HTTP layer sends back: a status and a JSON body."""

    status: int
    body: dict[str, Any]


@dataclass(slots=True)
class Command:
    """One request against a book: a bid, Buy It Now, a retraction or a cancellation."""

    kind: str
    user_id: str
    payload: dict[str, Any]
    idempotency_key: str | None = None
    request_hash: str | None = None
    future: asyncio.Future[Answer] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, answer: Answer) -> None:
        """Hand the answer to the waiting request (which may have gone away)."""
        if not self.future.done():
            self.future.set_result(answer)

    def fail(self, error: BaseException) -> None:
        """Hand an error to the waiting request."""
        if not self.future.done():
            self.future.set_exception(error)


ApplyBatch = Callable[[str, list[Command]], Awaitable[None]]


class Batcher:
    """Queues commands per auction and applies them in batches, in arrival order."""

    def __init__(self, apply: ApplyBatch, *, max_batch: int = 200) -> None:
        self._apply = apply
        self._max_batch = max_batch
        self._queues: dict[str, list[Command]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self.batches = 0
        self.commands = 0

    async def submit(self, auction_id: str, command: Command) -> Answer:
        """Queue a command and wait for its answer (after its batch has committed)."""
        self._queues.setdefault(auction_id, []).append(command)
        if auction_id not in self._workers:
            self._workers[auction_id] = asyncio.create_task(
                self._work(auction_id), name=f"book:{auction_id}"
            )
        return await command.future

    async def _work(self, auction_id: str) -> None:
        queue = self._queues[auction_id]
        try:
            while queue:
                batch = queue[: self._max_batch]
                del queue[: self._max_batch]
                self.batches += 1
                self.commands += len(batch)
                try:
                    await self._apply(auction_id, batch)
                except Exception as error:
                    log.exception("batch of %d on %s failed", len(batch), auction_id)
                    for command in batch:
                        command.fail(error)
        finally:
            # No await between the last check of the queue and here: a command
            # queued meanwhile would have been taken by the loop. Anything left
            # means the worker was cancelled (shutdown): those never committed.
            del self._workers[auction_id]
            for command in self._queues.pop(auction_id, []):
                command.fail(RuntimeError("the service is shutting down"))

    async def drain(self) -> None:
        """Wait for every queued command to be applied (shutdown)."""
        while self._workers:
            await asyncio.gather(*self._workers.values(), return_exceptions=True)
