"""Use cases of the category tree: read it (cached briefly), and an admin's changes.

Readers get the tree from a copy kept in this process for ``TREE_TTL`` seconds, so a
page of the catalogue costs no query for it; a change made here drops the copy at
once, one made on another replica shows here within the TTL. Listing a lot checks
its category against the database in the lot's own transaction, never the copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from auction_platform.contracts import audit
from auction_platform.contracts.categories import Category, as_tree
from auction_platform.core.failures import Conflict
from auction_platform.core.uow import Transaction, UnitOfWork
from auction_platform.services.auction import category_store
from auction_platform.services.auction.categories import (
    changes,
    check_name,
    check_parent,
    no_such_category,
)
from auction_platform.services.auction.listing import check_category

TREE_TTL = 5.0


@dataclass
class CategoryTree:
    """The tree's use cases over one database, with the brief in-process copy."""

    uow: UnitOfWork
    clock: Callable[[], datetime]
    monotonic: Callable[[], float] = time.monotonic
    _copy: tuple[float, list[Category]] | None = field(default=None, init=False)

    async def current(self) -> list[Category]:
        """Every category, from the copy while it is fresh."""
        if self._copy is not None and self.monotonic() < self._copy[0]:
            return self._copy[1]
        async with self.uow() as tx:
            found = await category_store.all_categories(tx.conn)
        self._copy = (self.monotonic() + TREE_TTL, found)
        return found

    async def tree(self, *, include_retired: bool) -> list[dict[str, Any]]:
        """The tree as JSON, retired categories included or not."""
        return as_tree(await self.current(), include_retired=include_retired)

    async def add(
        self,
        slug: str,
        name: str,
        *,
        parent: str | None,
        position: int | None,
        actor_id: str = audit.SYSTEM,
        reason: str | None = None,
    ) -> Category:
        """A new category (409 ``category_exists`` when the slug is taken), by ``actor_id``."""
        slug, name = check_category(slug), check_name(name)
        now = self.clock()
        async with self.uow() as tx:
            tree = await category_store.lock_tree(tx.conn)
            if any(c.slug == slug for c in tree):
                raise Conflict("category_exists", f"the category {slug!r} exists")
            parent = check_parent([*tree, Category(slug, name)], slug, parent)
            if position is None:
                position = 1 + max((c.position for c in tree if c.parent == parent), default=-1)
            category = Category(slug, name, parent, position)
            await category_store.add_category(tx.conn, category, now=now)
            added = {"name": name, "parent": parent, "position": position}
            self._record(tx, actor_id, "category.added", category, reason, added)
        self._copy = None
        return category

    async def change(
        self,
        slug: str,
        *,
        name: str | None = None,
        parent: str | None = None,
        move: bool = False,
        position: int | None = None,
        retired: bool | None = None,
        actor_id: str = audit.SYSTEM,
        reason: str | None = None,
    ) -> Category:
        """Rename, move (``move``: to ``parent``, None for the top), reposition or retire,
        by ``actor_id`` (the audit trail keeps what changed, from what to what)."""
        now = self.clock()
        async with self.uow() as tx:
            tree = await category_store.lock_tree(tx.conn)
            category = next((c for c in tree if c.slug == slug), None)
            if category is None:
                raise no_such_category(slug)
            was = category
            if name is not None:
                category = replace(category, name=check_name(name))
            if move:
                category = replace(category, parent=check_parent(tree, slug, parent))
            if position is not None:
                category = replace(category, position=position)
            if retired is not None:
                category = replace(category, retired=retired)
            await category_store.save_category(tx.conn, category, now=now)
            action, changed = changes(was, category)
            self._record(tx, actor_id, action, category, reason, {"changes": changed})
        self._copy = None
        return category

    def _record(
        self,
        tx: Transaction,
        actor_id: str,
        action: str,
        category: Category,
        reason: str | None,
        details: dict[str, Any],
    ) -> None:
        audit.record(
            tx,
            actor_id=actor_id,
            action=action,
            target=f"category:{category.slug}",
            at=self.clock().isoformat(),
            reason=reason,
            details=details,
        )
