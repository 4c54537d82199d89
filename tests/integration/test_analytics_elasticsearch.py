"""The Elasticsearch backend's plumbing, against a stand-in server (no real cluster here).

The stand-in speaks just enough of the REST API (index exists/create, bulk with
external versions, refresh, search returning every document) to check what the
backend sends and how it keeps the database and the index in step. Search
*behaviour* on a real cluster is the contract suite's job
(``tests/contract/test_search_contract.py`` with ``TEST_ELASTICSEARCH_URL``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import select

from auction_platform.contracts.events import Envelope
from auction_platform.core.db import Database
from auction_platform.core.migrate import migrate
from auction_platform.core.uow import Transaction
from auction_platform.services.analytics import indexing
from auction_platform.services.analytics.search import SearchQuery
from auction_platform.services.analytics.search_es import ElasticSearch
from auction_platform.services.analytics.search_es_query import INDEX_MAPPINGS
from auction_platform.services.analytics.search_sql import SqlSearch
from auction_platform.services.analytics.store import search_docs
from support.http_server import free_port, serving
from support.platforms import client, embedded_settings, running
from support.waiting import eventually

HEADERS = {"X-Elastic-Product": "Elasticsearch", "Content-Type": "application/json"}


@dataclass
class FakeCluster:
    """What the stand-in was told."""

    indices: dict[str, dict[str, Any]] = field(default_factory=dict)
    docs: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    searches: list[dict[str, Any]] = field(default_factory=list)


def fake_elasticsearch(cluster: FakeCluster) -> FastAPI:
    app = FastAPI()

    def answer(body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body), status_code=status, headers=HEADERS)

    @app.get("/")
    async def info() -> Response:
        return answer({"cluster_name": "fake", "version": {"number": "9.0.0"}})

    # Before the index routes: PUT /_bulk would otherwise read as creating an index.
    @app.put("/_bulk")
    @app.post("/_bulk")
    async def bulk(request: Request) -> Response:
        lines = [json.loads(line) for line in (await request.body()).splitlines() if line]
        items = []
        for action, source in zip(lines[::2], lines[1::2], strict=True):
            meta = action["index"]
            doc_id, version = meta["_id"], int(meta["version"])
            assert meta["version_type"] == "external"
            held = cluster.docs.get(doc_id)
            if held is not None and held[0] >= version:
                items.append({"index": {"_id": doc_id, "status": 409, "error": {"type": "c"}}})
                continue
            cluster.docs[doc_id] = (version, source)
            items.append({"index": {"_id": doc_id, "status": 201, "_version": version}})
        return answer({"took": 1, "errors": False, "items": items})

    @app.head("/{index}")
    async def exists(index: str) -> Response:
        return Response(status_code=200 if index in cluster.indices else 404, headers=HEADERS)

    @app.put("/{index}")
    async def create(index: str, request: Request) -> Response:
        cluster.indices[index] = json.loads(await request.body())
        return answer({"acknowledged": True, "index": index})

    @app.put("/{index}/_mapping")
    async def put_mapping(index: str, request: Request) -> Response:
        added = json.loads(await request.body())["properties"]
        cluster.indices[index]["mappings"]["properties"].update(added)
        return answer({"acknowledged": True})

    @app.post("/{index}/_refresh")
    async def refresh(index: str) -> Response:
        return answer({"_shards": {"total": 1, "successful": 1, "failed": 0}})

    @app.post("/{index}/_search")
    async def search(index: str, request: Request) -> Response:
        cluster.searches.append(json.loads(await request.body()))
        hits = [{"_id": key, "_source": source} for key, (_, source) in cluster.docs.items()]
        return answer(
            {
                "hits": {"total": {"value": len(hits)}, "hits": hits},
                "aggregations": {
                    "categories": {"buckets": [{"key": "cameras", "doc_count": len(hits)}]},
                    "statuses": {"buckets": []},
                    "prices": {"buckets": {}},
                },
            }
        )

    return app


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_url)
    await migrate(database, "analytics")
    yield database
    await database.dispose()


async def list_lot(db: Database, auction_id: str, title: str, event: str, **terms: Any) -> None:
    data = {
        **terms,
        "auction_id": auction_id,
        "seller_id": "sam",
        "title": title,
        "description": "Works.",
        "category": "cameras",
        "currency": "EUR",
        "start_cents": 1000,
        "starts_at": "2030-01-01T00:00:00+00:00",
        "ends_at": "2030-01-02T00:00:00+00:00",
    }
    envelope = Envelope(type=event, producer="auction", data=data, occurred_at=datetime.now(UTC))
    async with db.transaction() as conn:
        await indexing.update_search(Transaction(conn, producer="analytics"), envelope)


async def pending(db: Database) -> int:
    async with db.read() as conn:
        rows = await conn.execute(
            select(search_docs.c.id).where(search_docs.c.version > search_docs.c.indexed_version)
        )
        return len(rows.all())


async def test_changes_are_shipped_in_bulk_with_external_versions(db: Database) -> None:
    cluster = FakeCluster()
    async with serving(fake_elasticsearch(cluster)) as url:
        backend = ElasticSearch(url, index_prefix="t", db=db, fallback=SqlSearch(db))
        try:
            await backend.start()
            assert "folded_title" in cluster.indices["t-auctions"]["mappings"]["properties"]
            await list_lot(db, "a1", "Leica M3", "AuctionPublished")
            await list_lot(db, "a2", "Nikon F", "AuctionPublished")
            assert await pending(db) == 2
            await backend.catch_up()
            assert await pending(db) == 0
            await list_lot(db, "a1", "Leica M3 body", "AuctionEdited")
            await backend.catch_up()
            version, source = cluster.docs["a1"]
            assert (version, source["title"], source["folded_title"]) == (
                2,
                "Leica M3 body",
                "leica m3 body",
            )
            page = await backend.search(SearchQuery(text="Leica", category="cameras"))
            assert {item["id"] for item in page.items} == {"a1", "a2"}
            assert page.facets()["category"] == [
                {"value": "cameras", "name": "cameras", "parent": None, "count": 2}
            ]
            sent = cluster.searches[-1]
            assert {"term": {"category": "cameras"}} in sent["query"]["bool"]["filter"]
        finally:
            await backend.close()


async def test_an_index_made_before_the_format_takes_it_and_documents_carry_it(
    db: Database,
) -> None:
    cluster = FakeCluster()
    older = dict(INDEX_MAPPINGS["properties"])
    del older["format"], older["dutch"]
    cluster.indices["t-auctions"] = {"mappings": {"dynamic": "strict", "properties": older}}
    async with serving(fake_elasticsearch(cluster)) as url:
        backend = ElasticSearch(url, index_prefix="t", db=db, fallback=SqlSearch(db))
        try:
            await backend.start()
            mapped = cluster.indices["t-auctions"]["mappings"]["properties"]
            assert mapped["format"] == {"type": "keyword"}
            clock = {"floor_cents": 500, "step_cents": 100, "tick_seconds": 60}
            await list_lot(db, "a1", "Tulips", "AuctionPublished", format="dutch", dutch=clock)
            await list_lot(db, "a2", "Leica M3", "AuctionPublished")
            await backend.catch_up()
            shipped = {key: (doc["format"], doc["dutch"]) for key, (_, doc) in cluster.docs.items()}
            assert shipped == {"a1": ("dutch", clock), "a2": ("english", None)}
            page = await backend.search(SearchQuery(format="dutch"))
            sent = cluster.searches[-1]
            assert {"term": {"format": "dutch"}} in sent["query"]["bool"]["filter"]
            assert sent["aggs"]["formats"] == {"terms": {"field": "format", "size": 4}}
            formats = {item["id"]: item["format"] for item in page.items}
            assert formats == {"a1": "dutch", "a2": "english"}  # the stand-in filters nothing
        finally:
            await backend.close()


async def test_a_version_the_index_already_holds_counts_as_shipped(db: Database) -> None:
    cluster = FakeCluster()
    async with serving(fake_elasticsearch(cluster)) as url:
        backend = ElasticSearch(url, index_prefix="t", db=db, fallback=SqlSearch(db))
        try:
            await list_lot(db, "a1", "Leica M3", "AuctionPublished")
            cluster.docs["a1"] = (5, {"title": "newer"})  # another replica got there first
            assert await backend.ship() == 1
            assert await pending(db) == 0
            assert cluster.docs["a1"] == (5, {"title": "newer"})
        finally:
            await backend.close()


async def test_search_falls_back_to_the_database_while_elasticsearch_is_down(
    db: Database,
) -> None:
    backend = ElasticSearch(
        f"http://127.0.0.1:{free_port()}",
        index_prefix="t",
        db=db,
        fallback=SqlSearch(db),
        request_timeout=1.0,
    )
    try:
        await backend.start()  # logs, does not raise
        await list_lot(db, "a1", "Leica M3", "AuctionPublished")
        page = await backend.search(SearchQuery(text="leica"))
        assert [item["id"] for item in page.items] == ["a1"]
        assert await pending(db) == 1  # kept for when the cluster is back
    finally:
        await backend.close()


async def test_the_service_indexes_in_the_background_and_checks_the_cluster(
    tmp_path: Path,
) -> None:
    cluster = FakeCluster()
    async with serving(fake_elasticsearch(cluster)) as url:
        settings = embedded_settings(tmp_path, elasticsearch_url=url, outbox_poll_interval=0.1)
        async with (
            running(settings, ["analytics"]) as platform,
            client(platform.apps["analytics"]) as http,
        ):
            assert platform.broker is not None
            assert "auction-auctions" in cluster.indices
            data = {
                "auction_id": "a1",
                "seller_id": "sam",
                "title": "Leica M3",
                "description": "Works.",
                "category": "cameras",
                "currency": "EUR",
                "start_cents": 1000,
                "starts_at": "2030-01-01T00:00:00+00:00",
                "ends_at": "2030-01-02T00:00:00+00:00",
            }
            await platform.broker.publish(
                [Envelope(type="AuctionPublished", producer="auction", data=data)]
            )

            async def shipped() -> bool:
                return "a1" in cluster.docs

            await eventually(shipped)
            found = (await http.get("/api/v1/search/auctions", params={"q": "leica"})).json()
            assert [item["id"] for item in found["items"]] == ["a1"]
            detail = (await http.get("/health/detail")).json()
            [check] = [c for c in detail["checks"] if c["name"] == "elasticsearch"]
            assert check["status"] == "Healthy"
            assert check["data"]["critical"] is False
