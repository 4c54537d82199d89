"""The cached copies of books (Redis in the distributed mode): never older than one shown.

After every commit the batch refreshes the copy of each book it changed and announces
it on the live feed (``refresh``). A copy is stored only if its version is above the
cached one, compared on the cache server, so two batches racing (two replicas) or a
late one never replace a newer copy. A refresh that fails (the cache is down) leaves
behind a copy that missed an update: its auction is remembered, the copy is not served
again by this process, and it is repaired from the database once the cache answers
(``keep_repaired``, a background job). Whatever the cache holds, this process never
serves a copy older than a version it has already shown, in an answer or a read.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from auction_platform.contracts import auctions as contract
from auction_platform.core.cache.base import BookCache, CacheUnavailable, VersionedCopy
from auction_platform.services.bidding.domain import BookView

log = logging.getLogger("auction_platform.bidding")

# How long a copy lives; the database answers once it has expired.
COPY_TTL_SECONDS: Final = 60.0
# Auctions whose newest shown version is remembered (the least recently shown are forgotten).
REMEMBERED_BOOKS: Final = 10_000

# The current public books of these auctions, read from the database.
LoadBooks = Callable[[list[str]], Awaitable[list[BookView]]]


def book_key(auction_id: str) -> str:
    """The cache key of an auction's public book."""
    return f"bidding:book:{auction_id}"


def _copies(books: Sequence[BookView]) -> list[VersionedCopy]:
    return [
        VersionedCopy(
            book_key(book["auction_id"]),
            contract.feed_channel(book["auction_id"]),
            json.dumps(book).encode(),
            int(book["version"]),
        )
        for book in books
    ]


class BookCopies:
    """The process's side of the cached books: write newer, read never older, repair."""

    def __init__(self, cache: BookCache, *, remembered: int = REMEMBERED_BOOKS) -> None:
        self._cache = cache
        self._remembered = remembered
        # auction id -> the newest version shown, least recently shown first
        self._shown: dict[str, int] = {}
        # auctions whose copy missed an update, and a wake-up for the repair job
        self._missed: set[str] = set()
        self._wake = asyncio.Event()

    @property
    def missed(self) -> frozenset[str]:
        """The auctions whose cached copy missed an update and awaits repair."""
        return frozenset(self._missed)

    def shown(self, book: BookView) -> None:
        """Remember that this version of the book has been shown (answered or read)."""
        auction_id, version = book["auction_id"], int(book["version"])
        known = self._shown.pop(auction_id, version)
        self._shown[auction_id] = max(known, version)
        if len(self._shown) > self._remembered:
            del self._shown[next(iter(self._shown))]

    async def refresh(self, books: Sequence[BookView]) -> None:
        """After a commit: store each book's copy unless a newer one is cached; announce it."""
        for book in books:
            self.shown(book)
        try:
            await self._cache.set_and_publish(_copies(books), ttl=COPY_TTL_SECONDS)
        except CacheUnavailable as exc:
            # The bids are committed; only the copies and the live feeds lag, until repaired.
            self._missed.update(book["auction_id"] for book in books)
            self._wake.set()
            log.warning("live feed not updated for %d book(s): %s", len(books), exc)

    async def read(self, auction_id: str) -> BookView | None:
        """The cached copy; None when missing, unreachable, awaiting repair or older than shown."""
        if auction_id in self._missed:
            return None
        try:
            cached = await self._cache.get(book_key(auction_id))
        except CacheUnavailable:
            return None  # the cache is a copy: the database answers
        if cached is None:
            return None
        book: BookView = json.loads(cached)
        if int(book["version"]) < self._shown.get(auction_id, 0):
            # Another process's copy that missed updates: repaired from the database.
            self._missed.add(auction_id)
            self._wake.set()
            return None
        self.shown(book)
        return book

    async def repair(self, load: LoadBooks) -> None:
        """Store the current copy of every book whose copy missed an update.

        Raises ``CacheUnavailable`` while the cache is down; what was not repaired
        stays to be repaired.
        """
        missed, self._missed = self._missed, set()
        repaired = False
        try:
            if missed:
                await self._cache.ping()
                books = await load(sorted(missed))
                for book in books:
                    self.shown(book)
                await self._cache.set_and_publish(_copies(books), ttl=COPY_TTL_SECONDS)
                log.info("cached copies of %d book(s) repaired", len(books))
            repaired = True
        finally:
            if not repaired:
                self._missed |= missed

    async def keep_repaired(self, load: LoadBooks, *, pause: float = 0.5) -> None:
        """Repair missed copies as they come, every ``pause`` while the cache is down (a job)."""
        while True:
            if not self._missed:
                self._wake.clear()
                await self._wake.wait()
            try:
                await self.repair(load)
            except CacheUnavailable:
                await asyncio.sleep(pause)
