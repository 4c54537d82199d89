"""A pass run whenever its work falls due: asleep in between, woken early by this process.

A scheduler pass finds what is due and does it; it also knows when its next work
falls due, so the loop sleeps until then instead of polling. Two things can move that
moment earlier: another process scheduling something (seen at the next look, at most
``longest`` seconds later), and this process doing so, which sets ``wake``: commonly
``Database.on_write`` (every write transaction of the service in this process).
An idle platform then wakes a few times a minute instead of four times a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

MAX_BACKOFF = 5.0
# The longest sleep: work scheduled by another process (a replica, a command) is
# found this late at most.
LONGEST_SLEEP = 5.0


def seconds_until(moment: datetime | None, *, now: datetime) -> float | None:
    """Seconds from ``now`` to ``moment`` (0 when it has come); None without a moment."""
    if moment is None:
        return None
    return max((moment - now).total_seconds(), 0.0)


async def run_passes(
    run_once: Callable[[], Awaitable[float | None]],
    *,
    interval: float,
    log: logging.Logger,
    what: str,
    wake: asyncio.Event | None = None,
    longest: float = LONGEST_SLEEP,
) -> None:
    """Call ``run_once`` whenever its work may be due, forever.

    ``run_once`` returns the seconds until the next pass should run: 0 after a full
    batch (more is waiting), the time to its next due moment, or None when nothing
    is scheduled. The loop sleeps that long, at most ``longest``; ``wake`` cuts the
    sleep short, but woken passes still start at most once per ``interval`` however
    often it is set (and never later than the pass asked for). A failing pass (the
    database is away) is retried with a doubling delay up to ``MAX_BACKOFF``, logged
    with its traceback the first time only.
    """
    loop = asyncio.get_running_loop()
    failures = 0
    while True:
        started = loop.time()
        if wake is not None:
            wake.clear()  # a change from here on is seen by this pass or wakes the next
        try:
            after = await run_once()
            failures = 0
        except Exception:
            failures += 1
            if failures == 1:
                log.exception("%s pass failed; retrying", what)
            await asyncio.sleep(min(interval * 2 ** min(failures, 8), max(interval, MAX_BACKOFF)))
            continue
        if after is not None and after <= 0:
            await asyncio.sleep(0)  # a full batch: go on, letting others run in between
            continue
        delay = longest if after is None else min(after, longest)
        due = loop.time() + delay
        if await _sleep(delay, wake):
            # Paced, but never past the moment the pass asked for: a pass that wrote
            # (and so woke itself) still runs again when its next work falls due.
            await asyncio.sleep(max(min(started + interval, due) - loop.time(), 0.0))


async def _sleep(seconds: float, wake: asyncio.Event | None) -> bool:
    """Sleep ``seconds``, or less if ``wake`` is set; True when woken early."""
    if wake is None:
        await asyncio.sleep(seconds)
        return False
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()
            return True
    return False


async def run_passes_woken_by_writes(
    on_write: Callable[[Callable[[], None]], Callable[[], None]],
    run_once: Callable[[], Awaitable[float | None]],
    *,
    interval: float,
    log: logging.Logger,
    what: str,
    longest: float = LONGEST_SLEEP,
) -> None:
    """``run_passes``, woken early by each write of this process (``Database.on_write``)."""
    wake = asyncio.Event()
    stop_waking = on_write(wake.set)
    try:
        await run_passes(
            run_once, interval=interval, log=log, what=what, wake=wake, longest=longest
        )
    finally:
        stop_waking()
