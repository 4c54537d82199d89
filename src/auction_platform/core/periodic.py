"""A pass run again and again: at once after a full batch, backing off while it fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

MAX_BACKOFF = 5.0


async def run_passes(
    run_once: Callable[[], Awaitable[bool]],
    *,
    interval: float,
    log: logging.Logger,
    what: str,
) -> None:
    """Call ``run_once`` every ``interval`` seconds, forever.

    ``run_once`` returns True when its batch was full (more may be waiting): the next
    pass starts at once. A failing pass (the database is away) is retried with a
    doubling delay up to ``MAX_BACKOFF``, logged with its traceback the first time only.
    """
    failures = 0
    while True:
        try:
            more = await run_once()
            failures = 0
        except Exception:
            failures += 1
            more = False
            if failures == 1:
                log.exception("%s pass failed; retrying", what)
        await asyncio.sleep(
            0 if more else min(interval * 2 ** min(failures, 8), max(interval, MAX_BACKOFF))
        )
