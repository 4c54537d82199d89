"""Writes of the search documents, and the rows an external index has still to take.

Every change bumps the document's ``version``; an external index (Elasticsearch)
is fed the rows whose ``version`` is ahead of ``indexed_version`` and uses the
version as an external version, so shipping a row twice, or two replicas shipping
it at once, or in the wrong order, leaves the newest copy in the index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.sql import insert_ignoring_duplicates
from auction_platform.services.analytics.domain import LotStatus, utc
from auction_platform.services.analytics.search_query import fold
from auction_platform.services.analytics.store import search_docs

# What a listing (AuctionPublished / AuctionEdited) sets on a document.
LISTING_FIELDS = (
    "title",
    "description",
    "category",
    "currency",
    "format",
    "dutch",
    "starts_at",
    "ends_at",
)
# What an edit that arrives after a bid still sets: the words people search by.
DESCRIPTION_FIELDS = ("title", "description", "category")
_TIMES = ("starts_at", "ends_at", "listed_at")


def document_of(row: Any) -> dict[str, Any]:
    """A document row as a dict, its times aware UTC."""
    doc = dict(row)
    for name in _TIMES:
        if doc.get(name) is not None:
            doc[name] = utc(doc[name])
    return doc


async def document_for_update(conn: AsyncConnection, auction_id: str) -> dict[str, Any] | None:
    """A document, locked until commit, or None."""
    query = select(search_docs).where(search_docs.c.auction_id == auction_id).with_for_update()
    row = (await conn.execute(query)).mappings().one_or_none()
    return document_of(row) if row is not None else None


async def add_listing(
    conn: AsyncConnection, auction_id: str, listing: dict[str, Any], *, listed_at: datetime
) -> bool:
    """Index a newly listed lot; False when it was already indexed."""
    return await insert_ignoring_duplicates(
        conn,
        search_docs,
        {
            "auction_id": auction_id,
            **{name: listing[name] for name in LISTING_FIELDS},
            "folded_title": fold(listing["title"]),
            "folded_description": fold(listing["description"]),
            "status": LotStatus.SCHEDULED.value,
            "price_cents": int(listing["start_cents"]),
            "bid_count": 0,
            "last_seq": 0,
            "listed_at": listed_at,
            "version": 1,
            "indexed_version": 0,
        },
    )


async def change(conn: AsyncConnection, doc: dict[str, Any], **values: Any) -> None:
    """Change a document (locked by ``document_for_update``); bumps its version."""
    for name in ("title", "description"):
        if name in values:
            values[f"folded_{name}"] = fold(values[name])
    await conn.execute(
        update(search_docs)
        .where(search_docs.c.id == doc["id"])
        .values(**values, version=search_docs.c.version + 1)
    )


async def unindexed(conn: AsyncConnection, *, limit: int) -> list[dict[str, Any]]:
    """Documents changed since they were last shipped to the external index."""
    query = (
        select(search_docs)
        .where(search_docs.c.version > search_docs.c.indexed_version)
        .order_by(search_docs.c.id)
        .limit(limit)
    )
    return [document_of(row) for row in (await conn.execute(query)).mappings()]


async def mark_indexed(conn: AsyncConnection, shipped: list[tuple[int, int]]) -> None:
    """Record that ``(id, version)`` pairs are in the external index (never moving back)."""
    for doc_id, version in shipped:
        await conn.execute(
            update(search_docs)
            .where(search_docs.c.id == doc_id, search_docs.c.indexed_version < version)
            .values(indexed_version=version)
        )
