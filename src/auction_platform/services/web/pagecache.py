"""Pages for visitors who are not signed in, kept for a moment (a micro-cache).

A lot page or a catalogue page is the same for every anonymous visitor, and a
popular one is asked for many times a second. Kept for ``seconds`` (1 s by
default), it is made once a second instead of once a request: a page is at most
that old, and the live feed brings a lot page's price up to date at once. Misses
for the same page wait for the one render under way instead of each making it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Render = Callable[[], Awaitable[tuple[int, str]]]


class PageCache:
    """Rendered pages by address, each kept ``seconds``; ``seconds=0`` keeps none."""

    def __init__(
        self,
        *,
        seconds: float,
        size: int = 2_048,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._pages: dict[str, tuple[float, int, str]] = {}
        self._rendering: dict[str, asyncio.Future[tuple[int, str]]] = {}

    async def page(self, key: str, render: Render) -> tuple[int, str]:
        """The page at ``key``: kept if fresh, else rendered once for every waiter."""
        if self.seconds <= 0:
            return await render()
        now = self.clock()
        kept = self._pages.get(key)
        if kept is not None and kept[0] > now:
            return kept[1], kept[2]
        pending = self._rendering.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self._rendering[key] = future
        try:
            status, html = await render()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: a waiter-less failure is not logged as lost
            raise
        finally:
            self._rendering.pop(key, None)
        future.set_result((status, html))
        if status == 200:
            if len(self._pages) >= self.size:
                self._drop_stale(now)
            self._pages[key] = (now + self.seconds, status, html)
        return status, html

    def _drop_stale(self, now: float) -> None:
        for key in [k for k, (expires, _, _) in self._pages.items() if expires <= now]:
            del self._pages[key]
        if len(self._pages) >= self.size:
            self._pages.clear()
