"""The category table of the auction service, and its queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, String, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.contracts.categories import Category
from auction_platform.core.sql import insert_ignoring_duplicates
from auction_platform.services.auction.store import TABLES

categories = Table(
    "auction_categories",
    TABLES.metadata,
    Column("slug", String(40), primary_key=True),
    Column("name", String(60), nullable=False),
    Column("parent", String(40), nullable=True),
    Column("position", Integer, nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def _category(row: Any) -> Category:
    return Category(row.slug, row.name, row.parent, row.position, row.retired_at is not None)


async def all_categories(conn: AsyncConnection) -> list[Category]:
    """Every category, retired ones included."""
    rows = await conn.execute(select(categories).order_by(categories.c.slug))
    return [_category(row) for row in rows]


async def add_category(conn: AsyncConnection, category: Category, *, now: datetime) -> bool:
    """Add a category; False when its slug is taken."""
    values = {
        "slug": category.slug,
        "name": category.name,
        "parent": category.parent,
        "position": category.position,
        "retired_at": now if category.retired else None,
        "updated_at": now,
    }
    return await insert_ignoring_duplicates(conn, categories, values)


async def save_category(conn: AsyncConnection, category: Category, *, now: datetime) -> None:
    """Store a category's name, place and retirement (a retired one keeps its first date)."""
    retired_at = func.coalesce(categories.c.retired_at, now) if category.retired else None
    await conn.execute(
        update(categories)
        .where(categories.c.slug == category.slug)
        .values(
            name=category.name,
            parent=category.parent,
            position=category.position,
            retired_at=retired_at,
            updated_at=now,
        )
    )


async def lock_tree(conn: AsyncConnection) -> list[Category]:
    """Every category, locked against another admin's change until the transaction ends.

    Changes to the tree are rare; taking every row keeps two concurrent moves from
    making a cycle that neither would make alone.
    """
    rows = await conn.execute(select(categories).order_by(categories.c.slug).with_for_update())
    return [_category(row) for row in rows]
