"""The process-local set of token marks (revoked, stale), fed by the cache's pub/sub.

Identity marks an access token revoked (a logout) or stale (its account's roles
changed) in the cache's mark set ``token-marks``, announcing it on the channel of the
same name in the same step. Every process holds the live marks in memory and checks a
token against them there: no round trip per request, and a token check that does not
need Redis. A process follows the set by subscribing to the channel, then reading the
whole set (so nothing announced in between is missed), then applying each
announcement. When the cache is lost it goes on with the marks it holds and tries
again every ``retry_interval``; once reconnected it reads the whole set again, so a
mark written meanwhile takes effect within seconds of the cache's return. A token is
never honoured past its own expiry anyway: a missed mark costs at most an access
token's lifetime. The whole set is read again every ``reload_interval`` too, in case
an announcement was lost on a connection that died without a word.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any, Final

from auction_platform.core.cache.base import CacheUnavailable, Mark, MarkCache, decode_marks

log = logging.getLogger("auction_platform.auth")

# The mark set in the cache, and the channel its changes are announced on.
MARK_SET: Final = "token-marks"
# Expired marks are dropped from memory after this many new ones (and when read).
_SWEEP_EVERY_MARKS: Final = 1024


class Revocations:
    """The token marks of this process, following the cache's mark set (``start``)."""

    def __init__(
        self,
        cache: MarkCache,
        *,
        retry_interval: float = 1.0,
        reload_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache = cache
        self._retry_interval = retry_interval
        self._reload_interval = reload_interval
        self._clock = clock
        self._marks: dict[str, tuple[bytes, float]] = {}
        self._held_since_sweep = 0
        self._following = False
        self._settled = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def following(self) -> bool:
        """True while the marks follow the cache; False while it is lost (marks held are used)."""
        return self._following

    def mark_of(self, token_id: str) -> bytes | None:
        """The mark of the token with this ``jti`` (revoked, stale), or None."""
        held = self._marks.get(token_id)
        if held is None:
            return None
        value, expires_at = held
        if expires_at <= self._clock():
            del self._marks[token_id]
            return None
        return value

    async def mark(self, marks: Sequence[Mark]) -> None:
        """Mark tokens in the cache for every process, and here at once.

        Raises ``CacheUnavailable`` when the cache cannot take them: a revocation
        that only this process knew of would not be one.
        """
        await self._cache.add_marks(MARK_SET, MARK_SET, marks)
        self._hold(marks)

    async def start(self) -> None:
        """Follow the cache's marks; returns once the first reading succeeded or failed."""
        if self._task is not None:
            return
        self._settled.clear()
        self._task = asyncio.create_task(self._follow(), name="token-marks")
        await self._settled.wait()

    async def close(self) -> None:
        """Stop following the cache (the marks held stay)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._following = False

    async def _follow(self) -> None:
        while True:
            try:
                async with self._cache.subscribe(MARK_SET) as announcements:
                    await self._reload()
                    if not self._following:
                        log.info("token marks: following the cache (%d held)", len(self._marks))
                    self._following = True
                    self._settled.set()
                    await _until_one_ends(self._apply(announcements), self._reload_regularly())
                raise CacheUnavailable("the subscription to the token marks ended")
            except CacheUnavailable as exc:
                if self._following or not self._settled.is_set():
                    log.warning(
                        "token marks: the cache is unavailable; tokens are checked against "
                        "the %d marks held until it returns: %s",
                        len(self._marks),
                        exc,
                    )
            except Exception:
                log.exception("token marks: following the cache failed; trying again")
            self._following = False
            self._settled.set()
            await asyncio.sleep(self._retry_interval)

    async def _apply(self, announcements: AsyncIterator[bytes]) -> None:
        async for message in announcements:
            try:
                marks = decode_marks(message)
            except ValueError as exc:
                log.warning("token marks: an announcement was ignored: %s", exc)
                continue
            self._hold(marks)

    async def _reload_regularly(self) -> None:
        while True:
            await asyncio.sleep(self._reload_interval)
            await self._reload()

    async def _reload(self) -> None:
        # Marks held here and missing from the cache (a cache that lost its data)
        # are kept until they expire.
        self._hold(await self._cache.marks(MARK_SET))

    def _hold(self, marks: Sequence[Mark]) -> None:
        now = self._clock()
        for mark in marks:
            self._marks[mark.name] = (mark.value, now + mark.ttl)
        self._held_since_sweep += len(marks)
        if self._held_since_sweep >= _SWEEP_EVERY_MARKS:
            self._held_since_sweep = 0
            expired = [name for name, (_, at) in self._marks.items() if at <= now]
            for name in expired:
                del self._marks[name]


async def _until_one_ends(*jobs: Coroutine[Any, Any, None]) -> None:
    """Run the jobs together until one of them ends; the others are cancelled, its error raised."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()
