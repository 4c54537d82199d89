"""The listing form's terms: what the site sends the API for each way of timing a lot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from auction_platform.services.web.listing_form import (
    changed_terms,
    duration_choices,
    listing_terms,
    lot_fields,
    relist_fields,
)

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
FIELDS = {
    "title": "Brass ship's clock",
    "category": "clocks",
    "currency": "USD",
    "start_price": "25",
    "start": "now",
    "tz_offset": "0",
    "duration": "3600",
    "soft_close": "on",
}


def lot(**values: Any) -> dict[str, Any]:
    """A lot as the API shows it to its seller."""
    start = NOW + timedelta(days=1)
    shown = {
        "status": "scheduled",
        "title": "Brass ship's clock",
        "description": "",
        "category": "clocks",
        "images": [],
        "currency": "USD",
        "start_cents": 2_500,
        "reserve_cents": None,
        "buy_now_cents": None,
        "starts_at": start.isoformat(),
        "scheduled_ends_at": (start + timedelta(hours=1)).isoformat(),
        "duration_seconds": 3_600,
        "soft_close": {"window_seconds": 120, "extend_seconds": 120, "max_extensions": 10},
    }
    return {**shown, **values}


def test_start_now_sends_no_start_and_the_duration() -> None:
    terms = listing_terms(FIELDS, now=NOW)
    assert "starts_at" not in terms and "ends_at" not in terms
    assert terms["duration_seconds"] == 3_600


def test_a_start_time_sends_the_start_and_the_end() -> None:
    terms = listing_terms({**FIELDS, "start": "at", "starts_at": "2030-03-02T09:30"}, now=NOW)
    assert (terms["starts_at"], terms["ends_at"]) == (
        "2030-03-02T09:30:00+00:00",
        "2030-03-02T10:30:00+00:00",
    )
    assert "duration_seconds" not in terms


def test_a_lot_with_a_start_asked_to_start_now_starts_when_published() -> None:
    changes = changed_terms(listing_terms(FIELDS, now=NOW), lot())
    assert changes == {"starts_at": None, "duration_seconds": 3_600}


def test_a_draft_that_starts_when_published_is_filled_in_and_kept_as_it_is() -> None:
    draft = lot(status="draft", starts_at=None, scheduled_ends_at=None, duration_seconds=7_200)
    fields = lot_fields(draft, now=NOW)
    assert (fields["start"], fields["starts_at"], fields["duration"]) == ("now", "", "7200")
    terms = listing_terms({**FIELDS, **fields, "start_price": "25"}, now=NOW, current=draft)
    assert changed_terms(terms, draft) == {}


def test_an_open_lot_keeps_its_start_and_changes_only_its_length() -> None:
    started = NOW - timedelta(minutes=10)
    open_lot = lot(
        status="open",
        starts_at=started.isoformat(),
        scheduled_ends_at=(started + timedelta(hours=1)).isoformat(),
    )
    fields = lot_fields(open_lot, now=NOW)
    assert fields["start"] == "now"
    same = listing_terms({**FIELDS, **fields, "start_price": "25"}, now=NOW, current=open_lot)
    assert changed_terms(same, open_lot) == {}
    longer = listing_terms({**FIELDS, **fields, "duration": "86400"}, now=NOW, current=open_lot)
    assert changed_terms(longer, open_lot) == {"duration_seconds": 86_400}


def test_a_lot_listed_again_starts_now_and_runs_as_long_as_before() -> None:
    started = NOW - timedelta(days=2)
    ended = lot(
        status="closed",
        starts_at=started.isoformat(),
        scheduled_ends_at=(started + timedelta(days=1)).isoformat(),
        duration_seconds=86_400,
        reserve_cents=6_000,
    )
    fields = relist_fields(ended, now=NOW)
    assert (fields["start"], fields["starts_at"], fields["duration"]) == ("now", "", "86400")
    assert (fields["title"], fields["reserve_price"]) == ("Brass ship's clock", "60.00")
    terms = listing_terms({**FIELDS, **fields}, now=NOW)
    # Nothing changed: the ended lot's terms, to start when published with its length.
    assert changed_terms(terms, ended) == {"starts_at": None, "duration_seconds": 86_400}


def test_a_kept_duration_is_named_as_the_page_sees_it() -> None:
    choices = dict(duration_choices({"duration": "20"}, shortest=1, kept="as before"))
    assert choices["20"] == "20s (as before)"
    assert choices["1"] == "1s (the shortest allowed)"
