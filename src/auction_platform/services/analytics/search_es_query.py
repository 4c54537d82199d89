"""Elasticsearch's side of search: the index mapping, the documents, the request body.

Kept apart from the client so that what is sent can be read, and tested, without
a cluster. The text query has the meaning of the other backends (``search_query``):
each group is a ``bool`` of phrase matches that must and must not appear, and the
groups are alternatives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auction_platform.services.analytics.domain import (
    FORMAT_ORDER,
    PRICE_BANDS,
    SEARCHABLE_STATUSES,
    band_key,
)
from auction_platform.services.analytics.search import SearchPage, SearchQuery
from auction_platform.services.analytics.search_query import STOP_WORDS, Term, TextQuery

# The text arrives folded (``search_query.fold``), as it does in the databases.
_TEXT = {"type": "text", "analyzer": "folded_english"}
INDEX_SETTINGS: dict[str, Any] = {
    "analysis": {
        "filter": {
            # The stop words of PostgreSQL (and of the parser), not Lucene's shorter list.
            "english_stop": {"type": "stop", "stopwords": sorted(STOP_WORDS)},
            "english_stemmer": {"type": "stemmer", "language": "english"},
        },
        "analyzer": {
            "folded_english": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "english_stop", "english_stemmer"],
            }
        },
    }
}
INDEX_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "auction_id": {"type": "keyword"},
        # Shown, not searched: the search reads the folded copies.
        "title": {"type": "text", "index": False},
        "description": {"type": "text", "index": False},
        "folded_title": _TEXT,
        "folded_description": _TEXT,
        "category": {"type": "keyword"},
        "status": {"type": "keyword"},
        "status_rank": {"type": "byte"},
        "currency": {"type": "keyword"},
        "format": {"type": "keyword"},
        # Shown, never searched: a Dutch lot's clock.
        "dutch": {"type": "object", "enabled": False},
        "price_cents": {"type": "long"},
        "bid_count": {"type": "integer"},
        "starts_at": {"type": "date"},
        "ends_at": {"type": "date"},
        "listed_at": {"type": "date"},
    },
}
# "Ending soonest" lists open lots, then those to come, then the ended (as the catalogue).
_ENDING_RANK = {"open": 0, "scheduled": 1, "closed": 2}
CATEGORY_FACET_SIZE = 200


def es_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A search document as it is indexed."""

    def iso(name: str) -> str | None:
        value = doc.get(name)
        return value.isoformat() if value is not None else None

    return {
        "auction_id": doc["auction_id"],
        "title": doc["title"],
        "description": doc["description"],
        "folded_title": doc["folded_title"],
        "folded_description": doc["folded_description"],
        "category": doc["category"],
        "status": doc["status"],
        "status_rank": _ENDING_RANK.get(doc["status"], len(_ENDING_RANK)),
        "currency": doc["currency"],
        "format": doc["format"],
        "dutch": doc.get("dutch"),
        "price_cents": int(doc["price_cents"]),
        "bid_count": int(doc["bid_count"]),
        "starts_at": iso("starts_at"),
        "ends_at": iso("ends_at"),
        "listed_at": iso("listed_at"),
    }


def _phrase(term: Term) -> dict[str, Any]:
    return {
        "multi_match": {
            "query": " ".join(term.words),
            "type": "phrase",
            "fields": ["folded_title^4", "folded_description"],
        }
    }


def text_clause(text: TextQuery) -> dict[str, Any] | None:
    """The text condition, or None for "everything"."""
    if text.empty:
        return None
    groups = [
        {
            "bool": {
                "must": [_phrase(term) for term in group.include],
                "must_not": [_phrase(term) for term in group.exclude],
            }
        }
        for group in text.groups
    ]
    return {"bool": {"should": groups, "minimum_should_match": 1}}


def _filters(query: SearchQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [{"terms": {"status": list(SEARCHABLE_STATUSES)}}]
    if query.status is not None:
        filters.append({"term": {"status": query.status}})
    if query.format is not None:
        filters.append({"term": {"format": query.format}})
    if query.categories is not None:
        filters.append({"terms": {"category": sorted(query.categories)}})
    elif query.category is not None:
        filters.append({"term": {"category": query.category}})
    price: dict[str, int] = {}
    if query.min_price_cents is not None:
        price["gte"] = query.min_price_cents
    if query.max_price_cents is not None:
        price["lte"] = query.max_price_cents
    if price:
        filters.append({"range": {"price_cents": price}})
    return filters


def _sort(query: SearchQuery, ranked: bool) -> list[Any]:
    newest: list[Any] = [{"listed_at": "desc"}, {"auction_id": "asc"}]
    if query.sort == "relevance":
        return ["_score", *newest] if ranked else newest
    if query.sort == "ending_soonest":
        return [
            {"status_rank": "asc"},
            {"ends_at": {"order": "asc", "missing": "_last"}},
            {"auction_id": "asc"},
        ]
    if query.sort in ("price_low", "price_high"):
        order = "asc" if query.sort == "price_low" else "desc"
        return [{"price_cents": order}, {"auction_id": "asc"}]
    return newest


def _price_ranges() -> list[dict[str, Any]]:
    ranges = []
    for low, high in PRICE_BANDS:
        band: dict[str, Any] = {"key": band_key(low, high), "from": low}
        if high is not None:
            band["to"] = high
        ranges.append(band)
    return ranges


def search_body(query: SearchQuery) -> dict[str, Any]:
    """The keyword arguments of ``AsyncElasticsearch.search`` for ``query``."""
    text = text_clause(query.parsed)
    condition: dict[str, Any] = {"filter": _filters(query)}
    if text is not None:
        condition["must"] = [text]
    return {
        "query": {"bool": condition},
        "sort": _sort(query, ranked=text is not None),
        "from_": query.offset,
        "size": query.limit,
        "track_total_hits": True,
        "aggs": {
            "categories": {"terms": {"field": "category", "size": CATEGORY_FACET_SIZE}},
            "statuses": {"terms": {"field": "status", "size": len(SEARCHABLE_STATUSES)}},
            "formats": {"terms": {"field": "format", "size": len(FORMAT_ORDER)}},
            "prices": {"range": {"field": "price_cents", "keyed": True, "ranges": _price_ranges()}},
        },
    }


Hit = Callable[[dict[str, Any]], dict[str, Any]]


def page_from(body: dict[str, Any], to_hit: Hit) -> SearchPage:
    """A search response as a ``SearchPage``."""
    hits = body["hits"]
    aggs = body.get("aggregations", {})

    def buckets(name: str) -> dict[str, int]:
        return {str(b["key"]): int(b["doc_count"]) for b in aggs.get(name, {}).get("buckets", [])}

    prices = aggs.get("prices", {}).get("buckets", {})
    return SearchPage(
        items=[to_hit(item["_source"]) for item in hits["hits"]],
        total=int(hits["total"]["value"]),
        categories=buckets("categories"),
        statuses=buckets("statuses"),
        price_bands={key: int(b["doc_count"]) for key, b in prices.items() if b["doc_count"]},
        formats=buckets("formats"),
    )
