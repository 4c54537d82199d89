"""Waiting out an unavailable dependency: a consumer pauses instead of dead-lettering.

A handler that fails because something it needs is down (``core.outages``: the
database refuses or drops connections, no pooled connection comes free, the cache
is out of reach) says nothing about its event. Its delivery keeps the message,
spends none of the message's retry budget, and tries again after a delay that
doubles up to a cap; one waiting delivery at a time tries, and the queue takes no
new delivery meanwhile. The first success (or a failure of an event's own) resumes
the queue. Both broker backends consume through this, so they behave alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from auction_platform.contracts.events import Envelope
from auction_platform.core.outages import dependency_down

log = logging.getLogger("auction_platform.broker")

_DESCRIBED_CHARS = 300


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long a paused queue waits between tries: ``first`` seconds, doubling up to ``cap``."""

    first: float = 0.5
    cap: float = 30.0


OUTAGE_BACKOFF = Backoff()


class ConsumerStopped(Exception):
    """The broker closed while a delivery waited for a dependency; its message is not settled."""


def describe(error: BaseException) -> str:
    """An error in one short line, for logs and dead-letter records."""
    text = " ".join(str(error).split())
    line = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return line[:_DESCRIBED_CHARS]


class Pause:
    """The consumption of one queue, held while a dependency its handler needs is down."""

    def __init__(self, queue: str, backoff: Backoff) -> None:
        self.queue = queue
        self._backoff = backoff
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._turn = asyncio.Lock()  # one waiting delivery tries at a time
        self._delay = backoff.first
        self._since: float | None = None
        self._stopped = False

    @property
    def paused_for(self) -> float | None:
        """Seconds since consumption paused, or None while it flows."""
        return None if self._since is None else time.monotonic() - self._since

    async def attempt(
        self, run: Callable[[], Awaitable[None]], envelope: Envelope
    ) -> Exception | None:
        """Run a delivery's handler until it succeeds or fails on the event's own account.

        None once it succeeded; the exception when it failed for its event (the
        caller spends the retry budget); ``ConsumerStopped`` when the broker
        closes while the delivery waits.
        """
        if not self._flowing.is_set():
            await self._flowing.wait()
            self._check_stopped()
        while True:
            try:
                await run()
            except Exception as error:
                if not dependency_down(error):
                    self._resume()
                    return error
                await self._wait_out(error, envelope)
            else:
                self._resume()
                return None

    def stop(self) -> None:
        """Release every waiting delivery (the broker is closing), unsettled."""
        self._stopped = True
        self._flowing.set()

    async def _wait_out(self, error: Exception, envelope: Envelope) -> None:
        if self._since is None:
            self._since = time.monotonic()
            self._flowing.clear()
        async with self._turn:
            if self._since is not None and not self._stopped:
                delay, self._delay = self._delay, min(self._backoff.cap, self._delay * 2)
                # The runbook (section 3) greps for "consumer <queue>: paused".
                log.warning(
                    "consumer %s: paused for %.1f s, a dependency is unavailable (%s); "
                    "event %s (%s) is kept and tried again in %.1f s",
                    self.queue,
                    self.paused_for or 0.0,
                    describe(error),
                    envelope.id,
                    envelope.type,
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._flowing.wait(), delay)
        self._check_stopped()

    def _resume(self) -> None:
        if self._since is None:
            return
        log.warning("consumer %s: resumed after %.1f s paused", self.queue, self.paused_for)
        self._since = None
        self._delay = self._backoff.first
        self._flowing.set()

    def _check_stopped(self) -> None:
        if self._stopped:
            raise ConsumerStopped(self.queue)


class Pauses:
    """The pause of every queue one broker consumes."""

    def __init__(self, backoff: Backoff) -> None:
        self._backoff = backoff
        self._by_queue: dict[str, Pause] = {}

    def of(self, queue: str) -> Pause:
        """The pause of ``queue`` (made on first use)."""
        pause = self._by_queue.get(queue)
        if pause is None:
            pause = self._by_queue[queue] = Pause(queue, self._backoff)
        return pause

    def seconds(self) -> dict[str, float | None]:
        """Each consumed queue with how long it has been paused (None: flowing)."""
        return {queue: pause.paused_for for queue, pause in self._by_queue.items()}

    def stop(self) -> None:
        """Release every waiting delivery of every queue."""
        for pause in self._by_queue.values():
            pause.stop()
