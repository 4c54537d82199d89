"""Polling with a deadline instead of sleeping and hoping.

Deadlines are generous: they say when to give up on something that should happen,
not how fast it should happen (speed is measured in ``benchmarks/``). A test on a
quiet machine returns as soon as the condition holds; a loaded one still passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# Long enough for a busy machine (two test workers and another program) to get there.
PATIENCE = 30.0


async def eventually(
    probe: Callable[[], Awaitable[T]], *, timeout: float = PATIENCE, interval: float = 0.05
) -> T:
    """Await ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if loop.time() > deadline:
            what = getattr(probe, "__qualname__", repr(probe))
            raise AssertionError(
                f"waited {timeout}s for {what} to hold; it did not (last value: {value!r})"
            )
        await asyncio.sleep(interval)
