"""A read-through copy of each lot's document in the cache (Redis in production).

Every change writes the new document once it is committed (consumers write it
at the end of their transaction, see ``consumers``); a miss reads the database
and fills the copy for a short while only, because a reader that loses a race
with a writer could otherwise keep an old copy alive for the full TTL. The
database stays the one source: losing the cache only makes reads slower.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from auction_platform.core.cache.base import Cache, CacheUnavailable
from auction_platform.services.auction import views
from auction_platform.services.auction.domain import Lot

log = logging.getLogger("auction_platform.auction.cache")

WRITE_TTL = 60.0  # after a change: the copy is the committed state
FILL_TTL = 5.0  # after a miss: the copy may already be a moment old


def key(lot_id: str) -> str:
    """The cache key of a lot's document."""
    return f"auction:lot:{lot_id}"


class LotCache:
    """Documents of lots by id; every cache failure is a miss, never an error."""

    def __init__(self, cache: Cache | None) -> None:
        self._cache = cache

    async def get(self, lot_id: str) -> dict[str, Any] | None:
        """The cached document, or None (missing, unreadable, or the cache is down)."""
        if self._cache is None:
            return None
        try:
            raw = await self._cache.get(key(lot_id))
        except CacheUnavailable:
            log.warning("lot cache unavailable; reading the database")
            return None
        if raw is None:
            return None
        try:
            document: dict[str, Any] = json.loads(raw)
        except ValueError:
            return None
        return document

    async def put(self, lot: Lot, *, ttl: float = WRITE_TTL) -> dict[str, Any]:
        """Store the lot's current document; returns it."""
        document = views.document(lot)
        if self._cache is not None:
            try:
                await self._cache.set(key(lot.id), json.dumps(document).encode(), ttl=ttl)
            except CacheUnavailable:
                log.warning("lot cache unavailable; %s not cached", lot.id)
        return document

    async def read_through(
        self, lot_id: str, load: Callable[[], Awaitable[Lot | None]]
    ) -> dict[str, Any] | None:
        """The document from the cache, or from ``load`` (then cached briefly)."""
        document = await self.get(lot_id)
        if document is not None:
            return document
        lot = await load()
        if lot is None:
            return None
        return await self.put(lot, ttl=FILL_TTL)
