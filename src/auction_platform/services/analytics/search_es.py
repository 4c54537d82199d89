"""Search on Elasticsearch (the official async client), fed from the search documents.

The documents in the analytics database stay the source of truth; this backend
keeps an index of them:

- At start-up the index is created with its mapping unless it exists: the folded
  title and description (``search_query.fold``) analysed with PostgreSQL's English
  stop words and an English stemmer, keyword fields for the filters and facets.
- A background indexer ships the documents whose ``version`` is ahead of
  ``indexed_version`` in bulk, each with its version as an *external* version:
  shipping twice, from two replicas, or out of order leaves the newest copy.
  Elasticsearch being down delays the index, never loses a change.
- A search Elasticsearch cannot answer is answered by the database's own
  full-text search (``fallback``), so search degrades instead of failing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, TransportError
from elasticsearch.helpers import async_streaming_bulk

from auction_platform.core.db import Database
from auction_platform.services.analytics import search_store as ss
from auction_platform.services.analytics.search import SearchBackend, SearchPage, SearchQuery, hit
from auction_platform.services.analytics.search_es_query import (
    INDEX_MAPPINGS,
    INDEX_SETTINGS,
    es_document,
    page_from,
    search_body,
)

log = logging.getLogger("auction_platform.analytics.elasticsearch")

ES_ERRORS = (ApiError, TransportError)


class ElasticSearch:
    """Search answered by an Elasticsearch index of the search documents."""

    name = "elasticsearch"

    def __init__(
        self,
        url: str,
        *,
        index_prefix: str,
        db: Database,
        fallback: SearchBackend,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        request_timeout: float = 10.0,
    ) -> None:
        self.client = AsyncElasticsearch(url, request_timeout=request_timeout)
        self.index = f"{index_prefix}-auctions"
        self.db = db
        self.fallback = fallback
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._index_ready = False

    async def start(self) -> None:
        """Create the index if it is missing; the indexer retries if Elasticsearch is down."""
        try:
            await self.ensure_index()
        except ES_ERRORS as error:
            log.warning("Elasticsearch index not ready at start-up: %s", error)

    async def ensure_index(self) -> None:
        """Create the index with its mapping unless it exists; an older one takes new fields."""
        if self._index_ready:
            return
        if not await self.client.indices.exists(index=self.index):
            try:
                await self.client.indices.create(
                    index=self.index, settings=INDEX_SETTINGS, mappings=INDEX_MAPPINGS
                )
            except ApiError as error:
                if "resource_already_exists" not in str(error):  # another replica made it
                    raise
        else:
            # The mapping is strict: an index made before a field existed (the format,
            # 0008) refuses documents carrying it until the field is added. Adding
            # fields is allowed on a live index; the unchanged ones are a no-op.
            await self.client.indices.put_mapping(
                index=self.index, properties=INDEX_MAPPINGS["properties"]
            )
        self._index_ready = True

    async def ping(self) -> dict[str, Any]:
        """The cluster's name and version (the health check)."""
        info = (await self.client.info()).body
        return {"cluster": info.get("cluster_name"), "version": info["version"]["number"]}

    async def ship(self) -> int:
        """Ship one batch of changed documents; how many were shipped."""
        async with self.db.read() as conn:
            docs = await ss.unindexed(conn, limit=self.batch_size)
        if not docs:
            return 0
        await self.ensure_index()
        versions = {doc["auction_id"]: (int(doc["id"]), int(doc["version"])) for doc in docs}
        actions = [
            {
                "_op_type": "index",
                "_index": self.index,
                "_id": doc["auction_id"],
                "version": int(doc["version"]),
                "version_type": "external",
                "_source": es_document(doc),
            }
            for doc in docs
        ]
        shipped: list[tuple[int, int]] = []
        async for ok, item in async_streaming_bulk(
            self.client, actions, raise_on_error=False, raise_on_exception=False
        ):
            result = item.get("index", {})
            # 409: the index already holds this version or a newer one.
            if ok or result.get("status") == 409:
                shipped.append(versions[str(result["_id"])])
            else:
                log.error("Elasticsearch refused %s: %s", result.get("_id"), result.get("error"))
        if shipped:
            async with self.db.transaction() as conn:
                await ss.mark_indexed(conn, shipped)
        return len(shipped)

    async def catch_up(self) -> None:
        """Ship every pending change, then refresh so searches see it."""
        while await self.ship() == self.batch_size:
            pass
        await self.ensure_index()
        await self.client.indices.refresh(index=self.index)

    async def run(self) -> None:
        """The indexer: ship changes as they come, forever; back off while ES is down."""
        backoff = self.poll_interval
        while True:
            try:
                shipped = await self.ship()
                backoff = self.poll_interval
            except ES_ERRORS as error:
                log.warning("Elasticsearch indexing paused: %s", error)
                self._index_ready = False
                shipped, backoff = 0, min(backoff * 2, 30.0)
            except Exception:  # the database, say: keep the client, try again later
                log.exception("Elasticsearch indexing failed")
                shipped, backoff = 0, min(backoff * 2, 30.0)
            if shipped < self.batch_size:
                await asyncio.sleep(backoff)

    async def search(self, query: SearchQuery) -> SearchPage:
        """One page from the index (from the database while the index cannot answer)."""
        try:
            response = await self.client.search(index=self.index, **search_body(query))
        except ES_ERRORS as error:
            log.warning("Elasticsearch search failed, answering from the database: %s", error)
            return await self.fallback.search(query)
        return page_from(response.body, hit)

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.close()
