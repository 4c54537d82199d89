"""Search: the same behaviour on SQLite FTS5, PostgreSQL full-text search and Elasticsearch.

Lots are indexed as the service indexes them, from events (``indexing``), and
searched through the backend's ``SearchBackend`` interface. Elasticsearch runs
when ``TEST_ELASTICSEARCH_URL`` (or ``ELASTICSEARCH_URL``) names a server; without
one its cases are skipped: the only skip of this suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auction_platform.contracts.events import Envelope
from auction_platform.core.db import Database
from auction_platform.core.migrate import migrate
from auction_platform.core.uow import Transaction
from auction_platform.services.analytics import indexing
from auction_platform.services.analytics.search import SearchBackend, SearchPage, SearchQuery
from auction_platform.services.analytics.search_sql import SqlSearch
from support.servers import unique_name

ELASTICSEARCH_URL = os.environ.get("TEST_ELASTICSEARCH_URL") or os.environ.get(
    "ELASTICSEARCH_URL", ""
)
START = datetime(2030, 1, 1, 12, tzinfo=UTC)


class Index:
    """A search backend and the events that feed it."""

    def __init__(self, db: Database, backend: SearchBackend) -> None:
        self.db = db
        self.backend = backend
        self.listed = 0

    async def apply(self, event_type: str, producer: str = "bidding", **data: Any) -> None:
        """Deliver one event to the search consumer, as the service does."""
        moment = START + timedelta(seconds=self.listed)
        envelope = Envelope(type=event_type, producer=producer, data=data, occurred_at=moment)
        async with self.db.transaction() as conn:
            await indexing.update_search(Transaction(conn, producer="analytics"), envelope)

    async def list(
        self,
        title: str,
        description: str = "",
        *,
        category: str = "cameras",
        start_cents: int = 10_000,
        auction_id: str | None = None,
        event_type: str = "AuctionPublished",
        ends_in: timedelta = timedelta(days=2),
        terms: dict[str, Any] | None = None,
    ) -> str:
        """List a lot (``AuctionPublished``); its id."""
        self.listed += 1
        auction_id = auction_id or uuid.uuid4().hex
        await self.apply(
            event_type,
            producer="auction",
            auction_id=auction_id,
            seller_id="seller-1",
            title=title,
            description=description,
            category=category,
            images=[],
            currency="EUR",
            start_cents=start_cents,
            reserve_cents=None,
            buy_now_cents=None,
            starts_at=START.isoformat(),
            ends_at=(START + ends_in).isoformat(),
            soft_close=None,
            increments=[],
            **(terms or {}),  # how it is sold: none (older events) is English
        )
        return auction_id

    async def open(self, auction_id: str) -> None:
        await self.apply("AuctionOpened", producer="auction", auction_id=auction_id)

    async def bid(self, auction_id: str, *, seq: int, price_cents: int) -> None:
        await self.apply(
            "BidPlaced",
            auction_id=auction_id,
            seq=seq,
            bidder_id="bidder-1",
            leader_id="bidder-1",
            price_cents=price_cents,
            currency="EUR",
            bid_count=seq,
            ends_at=(START + timedelta(days=2)).isoformat(),
            placed_at=START.isoformat(),
        )

    async def close(self, auction_id: str, *, price_cents: int, sold: bool = True) -> None:
        await self.apply(
            "AuctionClosed",
            auction_id=auction_id,
            price_cents=price_cents,
            sold=sold,
            bid_count=1,
            closed_at=(START + timedelta(days=2)).isoformat(),
        )

    async def cancel(self, auction_id: str) -> None:
        await self.apply("AuctionCancelled", producer="auction", auction_id=auction_id)

    async def search(self, text: str = "", **options: Any) -> SearchPage:
        """Search once every change is searchable."""
        await self.backend.catch_up()
        return await self.backend.search(SearchQuery(text=text, **options))

    async def ids(self, text: str = "", **options: Any) -> list[str]:
        return [item["id"] for item in (await self.search(text, **options)).items]


@pytest.fixture(params=["sqlite", "postgres", "elasticsearch"])
def backend_and_database(request: pytest.FixtureRequest) -> tuple[str, str]:
    """Each backend in turn, with the database its documents live in."""
    if request.param == "elasticsearch" and not ELASTICSEARCH_URL:
        pytest.skip("no Elasticsearch server configured")
    database = "postgres_url" if request.param == "postgres" else "sqlite_url"
    return request.param, str(request.getfixturevalue(database))


@pytest.fixture
async def index(backend_and_database: tuple[str, str]) -> AsyncIterator[Index]:
    """A backend over a freshly migrated analytics database."""
    kind, url = backend_and_database
    db = Database(url)
    await migrate(db, "analytics")
    backend: SearchBackend = SqlSearch(db)
    if kind == "elasticsearch":
        from auction_platform.services.analytics.search_es import ElasticSearch

        backend = ElasticSearch(
            ELASTICSEARCH_URL, index_prefix=unique_name("test"), db=db, fallback=backend
        )
    await backend.start()
    try:
        yield Index(db, backend)
    finally:
        if kind == "elasticsearch":
            from auction_platform.services.analytics.search_es import ElasticSearch

            assert isinstance(backend, ElasticSearch)
            await backend.client.indices.delete(index=backend.index, ignore_unavailable=True)
        await backend.close()
        await db.dispose()


async def test_a_listed_lot_is_found_by_a_word_of_its_title_or_description(index: Index) -> None:
    leica = await index.list("A 1960s Leica M3", "Works; the light meter is included.")
    await index.list("Victorian tea set", "Bone china, no chips.", category="kitchen")
    assert await index.ids("leica") == [leica]
    assert await index.ids("meter") == [leica]
    assert await index.ids("walkman") == []


async def test_a_hit_carries_what_a_result_list_shows(index: Index) -> None:
    leica = await index.list("A 1960s Leica M3", "Works.", start_cents=12_500)
    [item] = (await index.search("leica")).items
    assert item == {
        "id": leica,
        "title": "A 1960s Leica M3",
        "description": "Works.",
        "category": "cameras",
        "status": "scheduled",
        "currency": "EUR",
        "format": "english",
        "dutch": None,
        "current_price_cents": 12_500,
        "bid_count": 0,
        "starts_at": START.isoformat(),
        "ends_at": (START + timedelta(days=2)).isoformat(),
    }


async def test_words_are_stemmed_and_case_and_accents_do_not_matter(index: Index) -> None:
    camera = await index.list("Rangefinder camera")
    mixer = await index.list("Müller stand mixer", "Café quality.", category="kitchen")
    assert await index.ids("CAMERAS") == [camera]
    assert await index.ids("muller") == [mixer]
    assert await index.ids("MÜLLER") == [mixer]
    assert await index.ids("cafe") == [mixer]


async def test_every_word_must_appear_but_stop_words_are_not_required(index: Index) -> None:
    m3 = await index.list("Leica M3 body")
    await index.list("Leica M6 body")
    assert await index.ids("leica m3") == [m3]
    assert await index.ids("the leica m3") == [m3]


async def test_a_quoted_phrase_must_appear_as_written(index: Index) -> None:
    meter = await index.list("Leica M3", "Light meter included.")
    await index.list("Leica M6", "Meter not included; light seals replaced.")
    assert await index.ids('"light meter"') == [meter]


async def test_a_minus_excludes_and_or_offers_alternatives(index: Index) -> None:
    m3 = await index.list("Leica M3 body")
    m6 = await index.list("Leica M6 body")
    nikon = await index.list("Nikon F body")
    assert await index.ids("leica -m6") == [m3]
    assert sorted(await index.ids("m6 or nikon")) == sorted([m6, nikon])


async def test_a_title_match_ranks_above_a_description_match(index: Index) -> None:
    mention = await index.list("Camera strap", "Fits a Rolleiflex and most others.")
    rollei = await index.list("Rolleiflex 2.8F", "A twin-lens reflex camera.")
    assert await index.ids("rolleiflex") == [rollei, mention]


async def test_filters_narrow_by_category_status_and_price(index: Index) -> None:
    cheap = await index.list("Leica strap", start_cents=2_000, category="accessories")
    body = await index.list("Leica body", start_cents=60_000)
    lens = await index.list("Leica lens", start_cents=30_000)
    await index.open(lens)
    assert await index.ids("leica", category="accessories") == [cheap]
    assert await index.ids("leica", status="open") == [lens]
    assert sorted(await index.ids("leica", min_price_cents=30_000)) == sorted([body, lens])
    assert await index.ids("leica", max_price_cents=29_999) == [cheap]
    both = await index.ids("leica", min_price_cents=2_000, max_price_cents=30_000)
    assert sorted(both) == sorted([cheap, lens])


async def test_facets_count_every_match_by_category_status_and_price_band(index: Index) -> None:
    await index.list("Leica strap", start_cents=2_000, category="accessories")
    await index.list("Leica body", start_cents=60_000)
    lens = await index.list("Leica lens", start_cents=30_000)
    await index.list("Tea set", start_cents=4_000, category="kitchen")
    await index.open(lens)
    page = await index.search("leica", limit=1)
    assert page.total == 3
    assert len(page.items) == 1
    assert page.facets() == {
        # A backend counts each category alone: the tree is applied above it (handlers).
        "category": [
            {"value": "cameras", "name": "cameras", "parent": None, "count": 2},
            {"value": "accessories", "name": "accessories", "parent": None, "count": 1},
        ],
        "status": [{"value": "open", "count": 1}, {"value": "scheduled", "count": 2}],
        "price": [
            {"value": "1000-5000", "min_cents": 1_000, "max_cents": 5_000, "count": 1},
            {"value": "10000-50000", "min_cents": 10_000, "max_cents": 50_000, "count": 1},
            {"value": "50000-100000", "min_cents": 50_000, "max_cents": 100_000, "count": 1},
        ],
        "format": [{"value": "english", "count": 3}],
    }
    narrowed = await index.search("leica", category="cameras")
    assert narrowed.facets()["category"] == [
        {"value": "cameras", "name": "cameras", "parent": None, "count": 2}
    ]


CLOCK = {"floor_cents": 2_000, "step_cents": 500, "tick_seconds": 60}
SEALED = {"format": "sealed_second_price", "dutch": None}
DUTCH = {"format": "dutch", "dutch": CLOCK}


async def test_a_hit_names_its_format_and_a_dutch_lot_its_clock(index: Index) -> None:
    tulips = await index.list("Tulip bulbs", terms=DUTCH)
    sealed = await index.list("Tulip vase", terms=SEALED)
    english = await index.list("Tulip print", terms={"format": "english"})
    shown = {item["id"]: (item["format"], item["dutch"]) for item in (await index.search()).items}
    assert shown == {
        tulips: ("dutch", CLOCK),
        sealed: ("sealed_second_price", None),
        english: ("english", None),
    }


async def test_the_format_filter_narrows_and_its_facet_counts_every_match(index: Index) -> None:
    tulips = await index.list("Tulip bulbs", terms=DUTCH)
    vase = await index.list("Tulip vase", terms=SEALED)
    older = await index.list("Tulip print")  # listed before formats: English
    await index.list("Tulip book", terms={"format": "english"})
    await index.list("Rose bush", terms=DUTCH)
    assert await index.ids("tulip", format="dutch") == [tulips]
    assert await index.ids("tulip", format="sealed_second_price") == [vase]
    assert older in await index.ids("tulip", format="english")
    assert await index.ids("tulip", format="sealed_first_price") == []
    page = await index.search("tulip", limit=1)
    assert page.facets()["format"] == [
        {"value": "english", "count": 2},
        {"value": "sealed_second_price", "count": 1},
        {"value": "dutch", "count": 1},
    ]
    narrowed = await index.search("tulip", format="dutch")
    assert narrowed.facets()["format"] == [{"value": "dutch", "count": 1}]
    assert narrowed.facets()["status"] == [{"value": "scheduled", "count": 1}]


async def test_an_edit_before_the_first_bid_changes_the_format(index: Index) -> None:
    lot = await index.list("Tulip bulbs")
    await index.list("Tulip bulbs", auction_id=lot, event_type="AuctionEdited", terms=DUTCH)
    [item] = (await index.search("tulip", format="dutch")).items
    assert (item["id"], item["dutch"]) == (lot, CLOCK)
    assert await index.ids("tulip", format="english") == []


async def test_an_empty_query_lists_every_lot_newest_first(index: Index) -> None:
    first = await index.list("Leica M3")
    second = await index.list("Tea set", category="kitchen")
    assert await index.ids("") == [second, first]
    assert await index.ids("   ") == [second, first]


async def test_pages_do_not_overlap_and_the_total_counts_every_match(index: Index) -> None:
    listed = [await index.list(f"Leica lens number {n}") for n in range(5)]
    pages = [await index.search("leica", limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [page.total for page in pages] == [5, 5, 5]
    seen = [item["id"] for page in pages for item in page.items]
    assert sorted(seen) == sorted(listed)


async def test_lots_sort_by_price_and_by_ending_soonest(index: Index) -> None:
    dear = await index.list("Leica body", start_cents=90_000, ends_in=timedelta(days=1))
    cheap = await index.list("Leica cap", start_cents=1_000, ends_in=timedelta(days=3))
    middle = await index.list("Leica lens", start_cents=40_000, ends_in=timedelta(days=2))
    assert await index.ids("leica", sort="price_low") == [cheap, middle, dear]
    assert await index.ids("leica", sort="price_high") == [dear, middle, cheap]
    assert await index.ids("leica", sort="ending_soonest") == [dear, middle, cheap]
    await index.open(cheap)
    assert await index.ids("leica", sort="ending_soonest") == [cheap, dear, middle]


async def test_opening_and_bids_update_status_price_and_facets(index: Index) -> None:
    lot = await index.list("Leica M3", start_cents=10_000)
    await index.open(lot)
    await index.bid(lot, seq=1, price_cents=10_000)
    await index.bid(lot, seq=2, price_cents=60_000)
    page = await index.search("leica")
    [item] = page.items
    assert (item["status"], item["current_price_cents"], item["bid_count"]) == ("open", 60_000, 2)
    assert [band["value"] for band in page.facets()["price"]] == ["50000-100000"]
    assert await index.ids("leica", min_price_cents=50_000) == [lot]


async def test_a_late_older_bid_does_not_roll_the_price_back(index: Index) -> None:
    lot = await index.list("Leica M3")
    await index.open(lot)
    await index.bid(lot, seq=2, price_cents=20_000)
    await index.bid(lot, seq=1, price_cents=15_000)
    [item] = (await index.search("leica")).items
    assert (item["current_price_cents"], item["bid_count"]) == (20_000, 2)


async def test_closing_records_the_final_price_and_nothing_reopens_it(index: Index) -> None:
    lot = await index.list("Leica M3")
    await index.open(lot)
    await index.bid(lot, seq=1, price_cents=15_000)
    await index.close(lot, price_cents=15_000)
    await index.bid(lot, seq=2, price_cents=99_000)
    await index.open(lot)
    [item] = (await index.search("leica", status="closed")).items
    assert (item["status"], item["current_price_cents"]) == ("closed", 15_000)
    assert await index.ids("leica", status="open") == []


async def test_a_cancelled_lot_is_never_found_again(index: Index) -> None:
    lot = await index.list("Leica M3", "A camera.")
    kept = await index.list("Leica M6", "A camera.")
    await index.cancel(lot)
    await index.list("Leica M3 again", auction_id=lot, event_type="AuctionEdited")
    await index.bid(lot, seq=1, price_cents=20_000)
    await index.open(lot)
    page = await index.search("camera")
    assert [item["id"] for item in page.items] == [kept]
    assert page.total == 1
    assert page.facets()["status"] == [{"value": "scheduled", "count": 1}]


async def test_an_edit_before_opening_replaces_the_indexed_text(index: Index) -> None:
    lot = await index.list("Leica M3", "Works.", start_cents=10_000)
    await index.list(
        "Nikon F",
        "Works well.",
        auction_id=lot,
        event_type="AuctionEdited",
        category="film",
        start_cents=20_000,
    )
    assert await index.ids("leica") == []
    [item] = (await index.search("nikon")).items
    assert (item["id"], item["category"], item["current_price_cents"]) == (lot, "film", 20_000)


async def test_an_edit_of_an_open_lot_without_bids_replaces_the_indexed_text(
    index: Index,
) -> None:
    lot = await index.list("Leica M3")
    await index.open(lot)
    await index.list("Nikon F", auction_id=lot, event_type="AuctionEdited")
    assert await index.ids("leica") == []
    assert await index.ids("nikon") == [lot]


async def test_an_edit_delivered_after_the_first_bid_keeps_the_bids_price(index: Index) -> None:
    # The book takes edits only before the first bid: an edit delivered after a bid
    # was made before it, on another queue. Its words apply; the bid's price stays.
    lot = await index.list("Leica M3", start_cents=10_000)
    await index.open(lot)
    await index.bid(lot, seq=1, price_cents=15_000)
    await index.list("Nikon F", auction_id=lot, event_type="AuctionEdited", start_cents=5_000)
    assert await index.ids("leica") == []
    [item] = (await index.search("nikon")).items
    assert (item["id"], item["current_price_cents"]) == (lot, 15_000)


async def test_a_listing_delivered_twice_is_one_document(index: Index) -> None:
    lot = await index.list("Leica M3")
    await index.list("Leica M3", auction_id=lot)
    page = await index.search("leica")
    assert page.total == 1


async def test_words_in_any_script_are_found(index: Index) -> None:
    kimono = await index.list("Silk kimono 着物", "Ποιότητα μουσείου.", category="textiles")
    assert await index.ids("着物") == [kimono]
    assert await index.ids("ποιότητα") == [kimono]


ODD_QUERIES = [
    '"',
    '""',
    '"unclosed phrase',
    "*",
    "leica*",
    "NEAR",
    "NEAR(leica m3)",
    "leica NEAR m3",
    "AND",
    "OR",
    "NOT",
    "leica AND OR NOT",
    "-",
    "--leica",
    "- -",
    "-leica",
    "title:leica",
    "^leica",
    "(leica",
    "leica)",
    "'; DROP TABLE analytics_search_docs; --",
    "\\",
    "leica\x00m3",
    "{}[]<>!@#$%^&*()",
    "📷 camera",
    "Zürich straße",
    "the",
    "or or or",
    "a " * 100,
    "x" * 200,
]


@pytest.mark.parametrize("text", ODD_QUERIES)
async def test_odd_queries_never_fail(index: Index, text: str) -> None:
    await index.list("Leica M3", "A camera from Zürich; the light meter works.")
    page = await index.search(text)
    assert page.total == len(page.items)
    assert page.total <= 1
