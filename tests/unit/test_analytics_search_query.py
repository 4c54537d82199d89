"""Search box text: parsed once, rendered safely for FTS5, PostgreSQL and Elasticsearch."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auction_platform.services.analytics.search import SearchQuery
from auction_platform.services.analytics.search_es_query import (
    INDEX_MAPPINGS,
    es_document,
    page_from,
    search_body,
)
from auction_platform.services.analytics.search_query import (
    MAX_TERMS,
    Group,
    Term,
    TextQuery,
    fold,
    parse,
    to_fts5,
    to_websearch,
)


def words(*terms: str) -> tuple[Term, ...]:
    return tuple(Term(tuple(term.split())) for term in terms)


def test_words_must_all_appear() -> None:
    assert parse("Leica M3") == TextQuery((Group(words("leica", "m3")),))


def test_a_quoted_phrase_is_one_term() -> None:
    assert parse('"light meter" leica') == TextQuery((Group(words("light meter", "leica")),))


def test_an_unclosed_quote_runs_to_the_end() -> None:
    assert parse('leica "light meter') == TextQuery((Group(words("leica", "light meter")),))


def test_a_minus_excludes_a_word_or_a_phrase() -> None:
    expected = TextQuery((Group(words("leica"), words("m6", "for parts")),))
    assert parse('leica -m6 - "for parts"') == expected


def test_or_separates_alternatives() -> None:
    assert parse("leica OR nikon f") == TextQuery(
        (Group(words("leica")), Group(words("nikon", "f")))
    )


def test_a_group_of_exclusions_alone_is_dropped() -> None:
    assert parse("-leica") == TextQuery(())
    assert parse("-leica or nikon") == TextQuery((Group(words("nikon")),))


def test_punctuation_and_operators_of_other_syntaxes_are_not_syntax() -> None:
    assert parse("leica* title:m3 ^x (a) NEAR") == TextQuery(
        (Group(words("leica", "title m3", "x", "near")),)
    )
    assert parse("* : ^ ( ) ; \\ '") == TextQuery(())


def test_lone_stop_words_are_dropped_but_phrases_keep_them() -> None:
    assert parse("the leica") == TextQuery((Group(words("leica")),))
    assert parse("the") == TextQuery(())
    assert parse('"bag of chips"') == TextQuery((Group(words("bag of chips")),))


def test_folding_removes_case_and_accents_in_every_script() -> None:
    assert fold("Müller Café Ångström") == "muller cafe angstrom"
    assert fold("Straße") == "strasse"
    assert fold("Ποιότητα") == "ποιοτητα"
    assert fold("着物") == "着物"


def test_words_are_letters_and_digits_in_any_script() -> None:
    assert parse("M3_body 📷 着物 1960s") == TextQuery((Group(words("m3 body", "着物", "1960s")),))


def test_a_query_keeps_at_most_a_bounded_number_of_terms() -> None:
    parsed = parse(" ".join(f"w{n}" for n in range(100)))
    assert len(parsed.groups[0].include) == MAX_TERMS


def test_fts5_gets_every_word_as_a_quoted_string() -> None:
    assert to_fts5(parse('leica AND "light meter" -m6 or NEAR(x)')) == (
        '("leica" AND "light meter" NOT "m6") OR ("near x")'
    )
    assert to_fts5(parse("")) is None


def test_postgresql_gets_a_normalised_websearch_string() -> None:
    assert to_websearch(parse('Leica "light meter" -M6 or nikon')) == (
        'leica "light meter" -m6 or nikon'
    )
    assert to_websearch(parse('"')) is None


@pytest.fixture(scope="module")
def fts5() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    tokenizer = "porter unicode61 remove_diacritics 2"
    conn.execute(f"CREATE VIRTUAL TABLE docs USING fts5(title, tokenize='{tokenizer}')")
    conn.execute("INSERT INTO docs VALUES ('leica m3 light meter')")
    yield conn
    conn.close()


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=80)
    | st.lists(st.sampled_from(['"', "-", "*", "or", "NEAR", "(", "x"])).map(" ".join)
)
def test_fts5_parses_whatever_was_typed(fts5: sqlite3.Connection, text: str) -> None:
    expression = to_fts5(parse(text))
    if expression is not None:
        fts5.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (expression,)).fetchone()


def test_elasticsearch_gets_filters_facets_sort_and_page() -> None:
    body = search_body(
        SearchQuery(
            text="leica -m6",
            category="cameras",
            status="open",
            format="dutch",
            min_price_cents=100,
            max_price_cents=900,
            sort="relevance",
            limit=5,
            offset=10,
        )
    )
    condition = body["query"]["bool"]
    assert {"term": {"category": "cameras"}} in condition["filter"]
    assert {"term": {"status": "open"}} in condition["filter"]
    assert {"term": {"format": "dutch"}} in condition["filter"]
    assert {"range": {"price_cents": {"gte": 100, "lte": 900}}} in condition["filter"]
    [group] = condition["must"][0]["bool"]["should"]
    assert group["bool"]["must"][0]["multi_match"]["query"] == "leica"
    assert group["bool"]["must_not"][0]["multi_match"]["query"] == "m6"
    assert body["sort"][0] == "_score"
    assert (body["from_"], body["size"], body["track_total_hits"]) == (10, 5, True)
    assert set(body["aggs"]) == {"categories", "statuses", "prices", "formats"}


def test_elasticsearch_without_text_matches_everything_newest_first() -> None:
    body = search_body(SearchQuery(text="  "))
    assert "must" not in body["query"]["bool"]
    assert body["sort"] == [{"listed_at": "desc"}, {"auction_id": "asc"}]


def test_an_elasticsearch_answer_becomes_a_page_with_facets() -> None:
    answer = {
        "hits": {"total": {"value": 7}, "hits": [{"_source": {"auction_id": "a1"}}]},
        "aggregations": {
            "categories": {"buckets": [{"key": "cameras", "doc_count": 7}]},
            "statuses": {"buckets": [{"key": "open", "doc_count": 7}]},
            "formats": {
                "buckets": [{"key": "english", "doc_count": 5}, {"key": "dutch", "doc_count": 2}]
            },
            "prices": {
                "buckets": {
                    "0-1000": {"doc_count": 0},
                    "1000-5000": {"doc_count": 7},
                }
            },
        },
    }
    page = page_from(answer, lambda source: {"id": source["auction_id"]})
    assert (page.items, page.total) == ([{"id": "a1"}], 7)
    assert page.facets() == {
        "category": [{"value": "cameras", "name": "cameras", "parent": None, "count": 7}],
        "status": [{"value": "open", "count": 7}],
        "price": [{"value": "1000-5000", "min_cents": 1_000, "max_cents": 5_000, "count": 7}],
        "format": [{"value": "english", "count": 5}, {"value": "dutch", "count": 2}],
    }


def test_an_elasticsearch_document_carries_the_format_and_a_dutch_clock() -> None:
    clock = {"floor_cents": 500, "step_cents": 100, "tick_seconds": 60}
    doc = {
        "auction_id": "a1",
        "title": "Tulips",
        "description": "",
        "folded_title": "tulips",
        "folded_description": "",
        "category": "garden",
        "status": "open",
        "currency": "EUR",
        "format": "dutch",
        "dutch": clock,
        "price_cents": 2_000,
        "bid_count": 0,
        "starts_at": None,
        "ends_at": None,
        "listed_at": None,
    }
    indexed = es_document(doc)
    assert (indexed["format"], indexed["dutch"]) == ("dutch", clock)
    # The mapping is strict: every field a document carries must be mapped.
    assert set(indexed) <= set(INDEX_MAPPINGS["properties"])
    assert INDEX_MAPPINGS["properties"]["format"] == {"type": "keyword"}
