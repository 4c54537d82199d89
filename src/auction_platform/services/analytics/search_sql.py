"""Full-text search in the analytics database: PostgreSQL ``tsvector`` or SQLite FTS5.

The filters, facets, ordering and paging are the same SQL on both; only the text
condition and its rank differ, and they live here (the analytics service's own
dialect-specific SQL, as ``core/sql.py`` holds the platform's):

- PostgreSQL: ``document @@ websearch_to_tsquery('english', q)`` over the
  generated ``document`` column (GIN-indexed), ranked by ``ts_rank_cd`` (title
  weighs more than description).
- SQLite: ``analytics_search_fts MATCH q`` joined to the documents by rowid,
  ranked by ``bm25`` with the title weighted four times the description.

``q`` is never the user's text: it is rendered from the parsed query
(``search_query``), so it is always valid syntax for the backend.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    String,
    bindparam,
    case,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.db import Database
from auction_platform.services.analytics.domain import PRICE_BANDS, SEARCHABLE_STATUSES, band_key
from auction_platform.services.analytics.search import SearchPage, SearchQuery, hit
from auction_platform.services.analytics.search_query import TextQuery, to_fts5, to_websearch
from auction_platform.services.analytics.search_store import document_of
from auction_platform.services.analytics.store import search_docs

log = logging.getLogger("auction_platform.analytics.search")

_DOCS = search_docs.c
_FTS = table("analytics_search_fts", column("rowid"))
_FTS_NAME: ColumnElement[Any] = literal_column("analytics_search_fts")
_STATUS_RANK = case({"open": 0, "scheduled": 1, "closed": 2}, value=_DOCS.status, else_=3)


def _band_of_price() -> ColumnElement[Any]:
    whens = [(_DOCS.price_cents < high, band_key(low, high)) for low, high in PRICE_BANDS if high]
    low, high = PRICE_BANDS[-1]
    return case(*whens, else_=band_key(low, high))


@dataclass(frozen=True, slots=True)
class _TextMatch:
    """How one dialect matches and ranks text (no text: everything, unranked)."""

    source: FromClause
    condition: ColumnElement[bool] | None = None
    best_first: ColumnElement[Any] | None = None


def _text_match(dialect: str, text: TextQuery) -> _TextMatch:
    if dialect == "postgresql":
        websearch = to_websearch(text)
        if websearch is None:
            return _TextMatch(search_docs)
        tsquery = func.websearch_to_tsquery(
            literal_column("'english'::regconfig"), bindparam("q", websearch, type_=String)
        )
        document: ColumnElement[Any] = literal_column("analytics_search_docs.document")
        return _TextMatch(
            search_docs,
            document.op("@@")(tsquery),
            func.ts_rank_cd(document, tsquery).desc(),
        )
    fts5 = to_fts5(text)
    if fts5 is None:
        return _TextMatch(search_docs)
    return _TextMatch(
        search_docs.join(_FTS, _FTS.c.rowid == _DOCS.id),
        _FTS_NAME.op("MATCH")(bindparam("q", fts5, type_=String)),
        func.bm25(_FTS_NAME, 4.0, 1.0).asc(),
    )


def _conditions(query: SearchQuery, match: _TextMatch) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [_DOCS.status.in_(SEARCHABLE_STATUSES)]
    if match.condition is not None:
        conditions.append(match.condition)
    if query.status is not None:
        conditions.append(_DOCS.status == query.status)
    if query.format is not None:
        conditions.append(_DOCS.format == query.format)
    if query.categories is not None:
        conditions.append(_DOCS.category.in_(sorted(query.categories)))
    elif query.category is not None:
        conditions.append(_DOCS.category == query.category)
    if query.min_price_cents is not None:
        conditions.append(_DOCS.price_cents >= query.min_price_cents)
    if query.max_price_cents is not None:
        conditions.append(_DOCS.price_cents <= query.max_price_cents)
    return conditions


def _order(query: SearchQuery, match: _TextMatch) -> list[Any]:
    newest = [_DOCS.listed_at.desc(), _DOCS.auction_id]
    if query.sort == "relevance":
        return [match.best_first, *newest] if match.best_first is not None else newest
    if query.sort == "ending_soonest":
        return [_STATUS_RANK, _DOCS.ends_at, _DOCS.auction_id]
    if query.sort == "price_low":
        return [_DOCS.price_cents, _DOCS.auction_id]
    if query.sort == "price_high":
        return [_DOCS.price_cents.desc(), _DOCS.auction_id]
    return newest


async def _counts(
    conn: AsyncConnection, key: ColumnElement[Any], base: Select[Any]
) -> dict[str, int]:
    # Grouped by the output column's name: PostgreSQL would not see that two copies
    # of an expression with bound parameters (the price bands) are the same.
    grouped = base.add_columns(key.label("key"), func.count().label("n")).group_by(
        literal_column("key")
    )
    return {str(row.key): int(row.n) for row in await conn.execute(grouped)}


class SqlSearch:
    """Search with the database's own full-text index."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.name = db.dialect

    async def start(self) -> None:
        """Nothing to prepare: the migrations made the index."""

    async def catch_up(self) -> None:
        """Nothing to wait for: the documents are the index."""

    async def close(self) -> None:
        """Nothing to release: the database belongs to the runtime."""

    async def search(self, query: SearchQuery) -> SearchPage:
        """One page of matches with the facets of all of them."""
        async with self.db.read() as conn:
            try:
                return await self._search(conn, query)
            except OperationalError as error:
                # The query is rendered so that FTS5 always parses it; should that
                # ever fail, the person gets no hits rather than an error page.
                if "fts5" not in str(error).lower():
                    raise
                log.warning("full-text query refused: %s", error)
                return SearchPage(items=[], total=0)

    async def _search(self, conn: AsyncConnection, query: SearchQuery) -> SearchPage:
        match = _text_match(conn.dialect.name, query.parsed)
        conditions = _conditions(query, match)
        base = select().select_from(match.source).where(*conditions)
        hits = (
            select(search_docs)
            .select_from(match.source)
            .where(*conditions)
            .order_by(*_order(query, match))
            .limit(query.limit)
            .offset(query.offset)
        )
        rows = (await conn.execute(hits)).mappings().all()
        total = (await conn.execute(base.add_columns(func.count()))).scalar_one()
        return SearchPage(
            items=[hit(document_of(row)) for row in rows],
            total=int(total),
            categories=await _counts(conn, _DOCS.category, base),
            statuses=await _counts(conn, _DOCS.status, base),
            price_bands=await _counts(conn, _band_of_price(), base),
            formats=await _counts(conn, _DOCS.format, base),
        )
