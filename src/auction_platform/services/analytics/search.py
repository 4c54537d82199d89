"""Search over the lots: one interface, three backends chosen by the settings.

- PostgreSQL full-text search and SQLite FTS5 (``search_sql``) query the search
  documents where they live, in the analytics database: always current.
- Elasticsearch (``search_es``), when ``ELASTICSEARCH_URL`` is set, is fed from
  the same documents by a background indexer (bulk, external versions) and
  answers from its own index; while it is unreachable, searches fall back to the
  database's full-text search.

Every backend answers the same ``SearchQuery`` with the same ``SearchPage``, and
passes the same contract tests (``tests/contract/test_search_contract.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from auction_platform.contracts.auctions import AuctionFormat
from auction_platform.contracts.categories import Category
from auction_platform.core.db import Database
from auction_platform.services.analytics.domain import (
    FORMAT_ORDER,
    PRICE_BANDS,
    band_key,
    sale_format,
)
from auction_platform.services.analytics.search_query import TextQuery, parse

SearchStatus = Literal["scheduled", "open", "closed"]
SearchSort = Literal["relevance", "newest", "ending_soonest", "price_low", "price_high"]
STATUS_ORDER: tuple[SearchStatus, ...] = ("open", "scheduled", "closed")
DESCRIPTION_PREVIEW = 300
# Elasticsearch's default result window; deeper pages are refused on every backend.
MAX_WINDOW = 10_000


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to look for: text, filters, order and page."""

    text: str = ""
    category: str | None = None
    # The category and its descendants (set from the tree before the backend runs).
    categories: frozenset[str] | None = None
    status: SearchStatus | None = None
    format: AuctionFormat | None = None
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    sort: SearchSort = "relevance"
    limit: int = 20
    offset: int = 0

    @property
    def parsed(self) -> TextQuery:
        """The text, parsed (see ``search_query``)."""
        return parse(self.text)


@dataclass(slots=True)
class SearchPage:
    """One page of hits, the number of all hits, and the facets of all hits."""

    items: list[dict[str, Any]]
    total: int
    categories: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    price_bands: dict[str, int] = field(default_factory=dict)
    formats: dict[str, int] = field(default_factory=dict)
    names: Mapping[str, Category] = field(default_factory=dict)  # the tree, by slug

    def _category(self, slug: str, count: int) -> dict[str, Any]:
        known = self.names.get(slug)
        return {
            "value": slug,
            "name": known.name if known else slug,
            "parent": known.parent if known else None,
            "count": count,
        }

    def facets(self) -> dict[str, list[dict[str, Any]]]:
        """Facet counts as the API shows them (only values with hits)."""
        bands = [
            {"value": band_key(low, high), "min_cents": low, "max_cents": high, "count": count}
            for low, high in PRICE_BANDS
            if (count := self.price_bands.get(band_key(low, high), 0))
        ]
        return {
            "category": [
                self._category(slug, count)
                for slug, count in sorted(self.categories.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "status": [
                {"value": status, "count": self.statuses[status]}
                for status in STATUS_ORDER
                if self.statuses.get(status)
            ],
            "price": bands,
            "format": [
                {"value": fmt, "count": self.formats[fmt]}
                for fmt in FORMAT_ORDER
                if self.formats.get(fmt)
            ],
        }


def hit(doc: dict[str, Any]) -> dict[str, Any]:
    """A search document as a hit in the API."""
    description = str(doc.get("description") or "")
    if len(description) > DESCRIPTION_PREVIEW:
        description = description[: DESCRIPTION_PREVIEW - 1].rstrip() + "…"
    return {
        "id": doc["auction_id"],
        "title": doc["title"],
        "description": description,
        "category": doc["category"],
        "status": doc["status"],
        "currency": doc["currency"],
        "format": sale_format(doc),
        "dutch": doc.get("dutch"),
        "current_price_cents": int(doc["price_cents"]),
        "bid_count": int(doc["bid_count"]),
        "starts_at": _iso(doc.get("starts_at")),
        "ends_at": _iso(doc.get("ends_at")),
    }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class SearchBackend(Protocol):
    """A search backend: every one answers the same queries the same way."""

    name: str

    async def start(self) -> None:
        """Prepare the backend (create an index); called once before traffic."""

    async def search(self, query: SearchQuery) -> SearchPage:
        """One page of lots matching ``query``, with the facets of all matches."""

    async def catch_up(self) -> None:
        """Return once every committed document change is searchable."""

    async def close(self) -> None:
        """Release connections."""


def build_search(db: Database, *, elasticsearch_url: str, index_prefix: str) -> SearchBackend:
    """The backend the settings choose (the database's own full-text search by default)."""
    from auction_platform.services.analytics.search_sql import SqlSearch

    database = SqlSearch(db)
    if not elasticsearch_url:
        return database
    from auction_platform.services.analytics.search_es import ElasticSearch

    return ElasticSearch(elasticsearch_url, index_prefix=index_prefix, db=db, fallback=database)
