"""The category tree as search reads it: asked of the auction service, kept for a while.

Search treats a category as itself and its descendants (``contracts.categories``):
a filter on "home" finds the lots of "kitchen", and the category facet counts roll
up the tree. The tree is the auction service's (``GET /api/v1/categories``); this
process keeps the answer ``ttl`` seconds. When the auction service cannot answer,
search keeps going with the last tree it had (or none at all, until it has one:
then a category filter matches that slug only and counts do not roll up), and asks
again at most every ``retry`` seconds, so search never fails for want of the tree.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

import httpx

from auction_platform.contracts.categories import Category, from_tree

log = logging.getLogger("auction_platform.analytics.categories")

TREE_TTL = 30.0
RETRY_SECONDS = 5.0


class CategoryTree(Protocol):
    """Where search gets the tree from."""

    async def current(self) -> list[Category]: ...


class FixedTree:
    """A tree that never changes (none at all by default: every category stands alone)."""

    def __init__(self, categories: Iterable[Category] = ()) -> None:
        self._tree = list(categories)

    async def current(self) -> list[Category]:
        return self._tree


class CategoryTreeReader:
    """The latest category tree, from the auction service, refreshed after ``ttl``."""

    def __init__(
        self,
        client: Callable[[], httpx.AsyncClient],
        *,
        ttl: float = TREE_TTL,
        retry: float = RETRY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._retry = retry
        self._monotonic = monotonic
        self._tree: list[Category] = []
        self._next_ask = 0.0

    async def current(self) -> list[Category]:
        """The tree (retired categories included); the last known one while it cannot be had."""
        now = self._monotonic()
        if now < self._next_ask:
            return self._tree
        try:
            answer = await self._client().get(
                "/api/v1/categories", params={"include_retired": "true"}
            )
            answer.raise_for_status()
            self._tree = from_tree(answer.json()["categories"])
            self._next_ask = now + self._ttl
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("category tree unavailable (%s); search uses the last one known", exc)
            self._next_ask = now + self._retry
        return self._tree
